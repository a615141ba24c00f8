"""Hostile input at scale: hypothesis sends arbitrary query strings, form fields and files to
every public route of the URL map (staff pages have their own test).  Never a 5xx.

The routes come from the URL map, so a page added later is covered without being listed here;
the field names come from the page's own forms, plus the list filters' names.
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import AnyConverter, IntegerConverter

from portal.extensions import db
from tests import factories

QUERY_NAMES = ["q", "kind", "county", "sector", "year", "page", "per_page", "sort", "level",
               "status", "department", "power_type", "decision_type", "code", "name", "format"]
SKIP_PREFIXES = ("/staff", "/static")
EXAMPLES = 40

texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "0", "-1", "1e400", "NaN", "99999999999999999999", "2026-02-30",
                     "\x00", "<script>", "'\"", "％", "91350100M000100Y43", "矿山 \"非煤", "x" * 5000]),
)
params = st.dictionaries(st.sampled_from(QUERY_NAMES) | st.text(max_size=8), texts, max_size=6)


def public_rules(app):
    return [r for r in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
            if not r.rule.startswith(SKIP_PREFIXES)]


def concrete_paths(rule, item_id: int) -> list[str]:
    choices: dict[str, list] = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            choices[name] = sorted(converter.items)
        elif isinstance(converter, IntegerConverter):
            choices[name] = [item_id, 0, 10**12]
        else:
            choices[name] = ["x", "..%2f", "％"]
    adapter_values = [{}]
    for name, values in choices.items():
        adapter_values = [v | {name: value} for v in adapter_values for value in values]
    return [rule.build(values, append_unknown=False)[1] for values in adapter_values]


@pytest.fixture
def seeded(app):
    with app.app_context():
        items = [factories.decision(), factories.power(), factories.accident(),
                 factories.blacklist_entry()]
        db.session.commit()
        return items[0].id


def _no_server_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=params)
def test_every_public_get_route_survives_any_query(app, seeded, query):
    client = app.test_client()
    for rule in public_rules(app):
        if "GET" not in rule.methods:
            continue
        for path in concrete_paths(rule, seeded):
            _no_server_error(client.get(path, query_string=query), f"GET {path} {query!r}")


def _form(client, path: str) -> tuple[str | None, list[str], list[str]]:
    html = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    fields = list(dict.fromkeys(re.findall(r'name="([A-Za-z_][\w-]*)"', html)))
    files = re.findall(r'type="file"[^>]*name="([\w-]+)"|name="([\w-]+)"[^>]*type="file"', html)
    file_fields = [a or b for a, b in files]
    return (token.group(1) if token else None), fields, file_fields


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.lists(texts, min_size=12, max_size=12), blob=st.binary(max_size=2048))
def test_every_public_form_survives_any_values(app, seeded, values, blob):
    client = app.test_client()
    for rule in public_rules(app):
        if "POST" not in rule.methods:
            continue
        for path in concrete_paths(rule, seeded):
            token, fields, file_fields = _form(client, path)
            data: dict = {name: values[i % len(values)] for i, name in enumerate(fields)
                          if name not in ("csrf_token", *file_fields)}
            if token:
                data["csrf_token"] = token
            for name in file_fields:
                data[name] = (io.BytesIO(blob), values[0][:40] or "x.jpg")
            response = client.post(path, data=data, content_type="multipart/form-data")
            _no_server_error(response, f"POST {path}")
