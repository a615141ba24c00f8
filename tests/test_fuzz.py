"""Hostile input at scale on EVERY route of the URL map, public and staff: never a 5xx.

The routes come from ``app.url_map``, so a route added later is covered without being listed
here.  The staff routes are requested by an account holding every role.  Each route gets:

- GET with random and hostile query strings (hypothesis);
- every other method with random and hostile form fields and files: the field names and
  choices are harvested from the forms the site itself renders (a POST-only route's form is on
  another page: the staff case page, the follow-up page shown for a real receipt code), plus
  names of its own;
- ids at and past the integer limits in every id of the path: out of range is a 404 on every
  route and method (PostgreSQL's ``integer`` overflowed into a 500 before ``<id:…>``).

Run on SQLite and on PostgreSQL (``PORTAL_TEST_DATABASE_URL``): PostgreSQL refuses what SQLite
lets through (an int4 overflow, a NUL byte in text).  Examples are bounded (``FUZZ_EXAMPLES``)
so the module stays fast on a small CI machine; raise it locally for a longer hunt.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from portal.config import Settings
from portal.extensions import db
from portal.models import ReportPhoto, Reward
from portal.routing import MAX_ID, IdConverter
from portal.staff.models import ROLES
from tests import factories
from tests.reports.conftest import csrf_from, submit_report
from tests.staff.conftest import login, make_staff

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
QUERY_NAMES = ["q", "kind", "county", "sector", "year", "page", "per_page", "sort", "level",
               "status", "department", "power_type", "decision_type", "code", "name", "format",
               "number", "size", "state", "actor", "action", "object_kind", "object_id",
               "date_from", "date_to", "late", "withdrawal", "assessment", "next"]
# Ids at and past the limits: PostgreSQL's integer (2³¹−1) and bigint (2⁶³−1), and beyond.
LIMIT_IDS = [0, -1, MAX_ID, MAX_ID + 1, 2**63, 10**30]
HOSTILE = ["", "0", "-1", "1e400", "NaN", "-Infinity", "2147483648", "9223372036854775808",
           "1" + "0" * 30, "2026-02-30", "9999-12-31", "\x00", "a\x00b", "x\x1fy", "\ufffe",
           " ", "\u3000", "<script>", "'\"", "％＿\\%_", "91350100M000100Y43", "矿山 \"非煤",
           "x" * 5000]
# One of each kind, for the one-parameter-at-a-time sweep.
SWEEP = ["\x00", "x\x1fy", "\ufffe", " ", "\u3000", "２０２６", "-1", "2147483648", "1" + "0" * 30,
         "x" * 5000, "<script>'\""]
texts = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE))
names = st.sampled_from(QUERY_NAMES) | st.text(max_size=8)
query_strings = st.dictionaries(names, texts, max_size=6)
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                         suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow,
                                                HealthCheck.data_too_large])


@pytest.fixture
def app_settings() -> dict:
    # The follow-up's padded answer time and the rate limits are not under test here: without
    # them each hostile request reaches the view and the module stays fast.
    # (The report pages' limits count per day only: a day's window is as good as no limit here.)
    limits = {f.name: "1000000 per day" for f in dataclasses.fields(Settings)
              if f.name.startswith("ratelimit_") and f.name != "ratelimit_storage_uri"}
    return {"REPORT_FOLLOWUP_MIN_SECONDS": 0, **limits}


@pytest.fixture
def world(app: Flask) -> dict:
    """One published item of each kind, a report with a photo and a reward, a second account,
    and a real report made through the citizen's pages (its receipt code opens the follow-up)."""
    with app.app_context():
        items = {"powers": factories.power(), "decisions": factories.decision(),
                 "accidents": factories.accident(), "blacklist": factories.blacklist_entry()}
        report = factories.report()
        report.photos.append(ReportPhoto(media_type="image/png", width=1, height=1,
                                         data=b"not really a png"))
        report.reward = Reward(amount_yuan=3000, basis="测试", proposed_on=report.received_on)
        # Reports in later states show the forms of the later steps (verify, extend, link a
        # decision, propose a reward), harvested for the same routes.
        accepted = factories.accepted_report(enterprise_name="已受理举报对象")
        db.session.commit()
        pages = [f"/staff/reports/{accepted.id}"]
        target = make_staff("editor", username="fuzz.target")
        ids = {"item_id": {kind: item.id for kind, item in items.items()},
               "report_id": report.id, "photo_id": report.photos[0].id,
               "reward_id": report.reward.id, "user_id": target.id}
    _number, code = submit_report(app.test_client())
    return {"ids": ids, "code": code, "pages": pages}


def every_rule(app: Flask) -> list[Rule]:
    return [r for r in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
            if r.endpoint != "static"]


def methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _real_id(world: dict, name: str, values: dict) -> int:
    known = world["ids"].get(name, 1)
    if isinstance(known, dict):  # an item id: the item of the path's kind
        return known.get(values.get("kind"), next(iter(known.values())))
    return known


def concrete_paths(rule: Rule, world: dict, limit_ids: bool = False) -> list[str]:
    """The rule's paths for every value of its ``any(…)`` arguments and real ids; with
    ``limit_ids``, the paths with each id in turn replaced by every value of ``LIMIT_IDS``."""
    bases: list[dict] = [{}]
    # A rule's arguments include the names its ``defaults`` fill (the 督办 photo's ``part``),
    # which are not in its path and have no converter.
    in_path = [name for name in rule.arguments if name in rule._converters]
    for name in in_path:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            bases = [b | {name: value} for b in bases for value in sorted(converter.items)]
        elif not isinstance(converter, IntegerConverter):
            bases = [b | {name: value} for b in bases for value in ["x", "..%2f", "％"]]
    int_names = [n for n in in_path if isinstance(rule._converters[n], IntegerConverter)]
    variants = []
    for base in bases:
        real = base | {n: _real_id(world, n, base) for n in int_names}
        if not limit_ids:
            variants.append(real)
        else:
            variants += [real | {n: value} for n in int_names for value in LIMIT_IDS]
    return [_build(rule, values) for values in variants]


def _build(rule: Rule, values: dict) -> str:
    # Rule.build runs the converters' to_url, which refuses nothing: an out-of-range id is
    # written as it is, exactly as a hostile client would.
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


# --- the site's own forms -------------------------------------------------------------------------


class _Forms(HTMLParser):
    """Every form of a page, as (method, action) and each field's name with the values the
    page offers (select options, radio and checkbox values, hidden values); and each link's
    query parameters, as the fields of a GET "form" of the link's path."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: list[tuple[tuple[str, str], dict[str, list[str]]]] = []
        self._fields: dict[str, list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urlsplit(a.get("action") or self.page_path).path or self.page_path
            self._fields = {}
            self.forms.append(((a.get("method", "get").lower(), action), self._fields))
        elif tag in ("a", "link") and "?" in a.get("href", ""):
            link = urlsplit(a["href"])
            if not link.netloc:
                self.forms.append((("get", link.path or self.page_path),
                                   {k: [v] for k, v in parse_qsl(link.query)}))
        elif self._fields is None:
            return
        elif tag in ("input", "textarea", "select", "button") and a.get("name"):
            values = self._fields.setdefault(a["name"], [])
            if tag == "input" and a.get("type") == "file":
                values.append("\0file")
            elif a.get("value"):
                values.append(a["value"])
            self._select = a["name"] if tag == "select" else None
        elif tag == "option" and self._select and a.get("value"):
            self._fields[self._select].append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


Harvest = dict[tuple[str, str], dict[str, list[str]]]


def harvest(client: FlaskClient, paths: list[str], world: dict) -> Harvest:
    """Field names and offered values per (method, action), from every page the client can
    GET and the follow-up page opened with the real receipt code."""
    found: Harvest = {}

    routes = client.application.url_map.bind("localhost")

    def read(path: str, html: str) -> None:
        parser = _Forms(path)
        parser.feed(html)
        for (method, action), fields in parser.forms:
            try:
                endpoint, _args = routes.match(action, method=method.upper())
            except HTTPException:
                continue
            # By path (the sweep requests it) and by route (any path of it: a form shown only
            # for a report in some state still reaches the route's fuzzed path).
            for key in ((method, action), (method, "endpoint:" + endpoint)):
                merged = found.setdefault(key, {})
                for name, values in fields.items():
                    merged.setdefault(name, [])
                    merged[name] += [v for v in values if v not in merged[name]][:20]

    # Pages with a query, so that their links carry the parameters they pass on.
    for path in [*paths, *world["pages"], "/search?q=矿山", "/stats?year=2026",
                 "/decisions?year=2026"]:
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html":
            read(urlsplit(path).path, response.get_data(as_text=True))
    token = csrf_from(client.get("/report/followup").get_data(as_text=True))
    opened = client.post("/report/followup", data={"csrf_token": token, "code": world["code"]})
    read("/report/followup", opened.get_data(as_text=True))
    return found


# --- clients --------------------------------------------------------------------------------------


def staff_client(app: Flask) -> FlaskClient:
    """A new client signed in as a new account with every role."""
    client = app.test_client()
    login(client, roles=tuple(ROLES))
    return client


def session_token(client: FlaskClient) -> str:
    """The CSRF token of the client's session (any page with a form shows it)."""
    return csrf_from(client.get("/report").get_data(as_text=True))


def _no_server_error(response, what: str) -> None:
    response.get_data()  # a streamed body (CSV, sitemap) fails while it is read
    assert response.status_code < 500, f"{what}: {response.status_code}"


def _ordered(rules: list[Rule]) -> Iterator[Rule]:
    # Signing out ends the session the other staff routes are requested with: last.
    yield from sorted(rules, key=lambda r: r.endpoint == "staff.logout")


# --- the tests ------------------------------------------------------------------------------------


def test_every_id_in_a_path_is_a_bounded_id(app):
    """Each ``…_id`` argument of every route goes through ``<id:…>``, bounded to the database's
    integer range, so an out-of-range number never reaches a query (a route merged later
    with ``<int:…_id>`` fails here, on SQLite too)."""
    unbounded = [f"{rule.rule} ({name})" for rule in every_rule(app)
                 for name, converter in rule._converters.items()
                 if name.endswith("_id") and not isinstance(converter, IdConverter)]
    assert not unbounded, "use <id:…> for a database id: " + ", ".join(unbounded)


def test_ids_at_and_past_the_integer_limits_are_404_on_every_route(app, world):
    client = staff_client(app)
    token = session_token(client)
    failures, checked = [], 0
    for rule in _ordered(every_rule(app)):
        for path in concrete_paths(rule, world, limit_ids=True):
            for method in methods(rule):
                response = client.open(path, method=method, data={"csrf_token": token})
                response.get_data()
                checked += 1
                status = response.status_code
                in_range = all(1 <= int(n) <= MAX_ID for n in re.findall(r"(?<![\d-])-?\d+", path))
                if status >= 500 or (not in_range and status != 404):
                    failures.append(f"{method} {path}: {status}")
    assert checked > 300
    assert not failures, "\n".join(failures)


@pytest.fixture
def forms(app, world) -> Harvest:
    client = staff_client(app)
    paths = [p for rule in every_rule(app) if "GET" in rule.methods
             for p in concrete_paths(rule, world)]
    return harvest(client, paths, world)


def form_of(forms: Harvest, method: str, path: str, rule: Rule) -> dict[str, list[str]]:
    method = method.lower()
    return forms.get((method, path)) or forms.get((method, "endpoint:" + rule.endpoint), {})


def fields_of(forms: Harvest, method: str, path: str, rule: Rule, data, code: str) -> dict:
    """A body or query for ``method path``: each of its known fields, either a value the site
    offers or a hostile one, plus a few fields of any name."""
    body: dict = data.draw(st.dictionaries(names, texts, max_size=3), label="extra")
    for name, offered in form_of(forms, method, path, rule).items():
        if name.endswith("csrf_token"):
            continue  # the caller's session token is added by the caller
        if "\0file" in offered:
            blob = data.draw(st.binary(max_size=1024), label=name)
            body[name] = (io.BytesIO(blob), data.draw(texts, label="filename") or "x")
        elif data.draw(st.booleans(), label=f"send {name}"):
            # The receipt code field also gets the real code, to reach what it opens.
            choices = [*offered, code] if name.endswith("code") else offered
            body[name] = data.draw(st.sampled_from(choices) | texts if choices else texts,
                                   label=name)
    return body


@FUZZ_SETTINGS
@given(data=st.data())
def test_every_get_route_survives_any_query(app, world, forms, data):
    """Each example requests every GET route once: one of its paths (kinds and real ids),
    with its own parameters (from the site's forms and links) and others, hostile or not."""
    anonymous, staff = app.test_client(), staff_client(app)
    for rule in _ordered(every_rule(app)):
        if "GET" not in rule.methods:
            continue
        client = staff if rule.rule.startswith("/staff") else anonymous
        path = data.draw(st.sampled_from(concrete_paths(rule, world)), label="path")
        query = fields_of(forms, "GET", path, rule, data, world["code"])
        _no_server_error(client.get(path, query_string=query), f"GET {path} {query!r}")


def test_every_parameter_of_every_page_survives_each_hostile_value(app, world, forms):
    """One parameter at a time (so no other bad value stops the page first), every parameter
    the site's own forms and links send to a GET route, set to each kind of hostile value."""
    anonymous, staff = app.test_client(), staff_client(app)
    checked = 0
    for (method, path), fields in sorted(forms.items()):
        if method != "get" or path.startswith("endpoint:"):
            continue
        client = staff if path.startswith("/staff") else anonymous
        for name in fields:
            for value in SWEEP:
                query = {n: v[0] for n, v in fields.items() if v and n != name} | {name: value}
                _no_server_error(client.get(path, query_string=query),
                                 f"GET {path} {name}={value!r}")
                checked += 1
    assert checked > 500


@FUZZ_SETTINGS
@given(data=st.data())
def test_every_form_route_survives_any_values(app, world, forms, data):
    """Each example sends every non-GET route once: the fields of its forms, each either a
    value the page offers or a hostile one, extra fields, files of random bytes."""
    anonymous, staff = app.test_client(), staff_client(app)
    tokens = {id(anonymous): session_token(anonymous), id(staff): session_token(staff)}
    for rule in _ordered(every_rule(app)):
        for method in methods(rule):
            if method == "GET":
                continue
            client = staff if rule.rule.startswith("/staff") else anonymous
            path = data.draw(st.sampled_from(concrete_paths(rule, world)), label="path")
            body = fields_of(forms, method, path, rule, data, world["code"])
            for name in [n for n in form_of(forms, method, path, rule) if
                         n.endswith("csrf_token")] or ["csrf_token"]:
                body[name] = tokens[id(client)]
            response = client.open(path, method=method, data=body,
                                   content_type="multipart/form-data")
            _no_server_error(response, f"{method} {path} {sorted(body)}")
