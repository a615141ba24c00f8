"""The language layer's speed measures (issue 16 §4) keep every page as it was.

Templates are compiled once per language with their constant strings already translated
(``portal.translation``); ``url_for``, the navigation and the footer are made once per language
and host; dates are formatted once per language and day; a cached page's offer of another
language is worked out once per ``Accept-Language``; Flask-Limiter's hooks do not run where it
did not.  Each test checks what is shown and that the work is not done again.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask, render_template, url_for
from jinja2 import ChoiceLoader, DictLoader, pass_context
from werkzeug.datastructures import LanguageAccept

from portal import i18n
from portal.translation import ENVIRON_KEY, catalog

# Test templates: constant strings (one with %%), a trans block with a value, a string with a
# value that Markup must escape, a variable string, a template that binds ``_`` itself, and
# a text template (no autoescaping).
TEMPLATES = {
    "t_consts.html": "<p>{{ _('搜索') }}|{{ _('100%% 完成') }}|{% trans n=name %}查看全部{{ n }}"
                     "{% endtrans %}|{{ _('查看全部%(kind)s', kind=name) }}|{{ _(word) }}</p>",
    "t_rebinds.html": "{% set _ = word %}{{ _ }}",
    "t_text.txt": "{{ _('查看全部%(kind)s', kind=name) }}|{{ _('搜索') }}",
}
VALUES = {"name": "<b>A&B</b>", "word": "搜索"}


@pytest.fixture
def test_templates(app: Flask) -> Flask:
    app.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), app.jinja_env.loader])
    return app


def in_language(app: Flask, code: str, path: str = "/credit", host: str = "localhost"):
    """A request context for ``path`` in language ``code``, as ``LanguagePrefix`` makes it."""
    if code == "zh":
        return app.test_request_context(path, base_url=f"http://{host}/")
    return app.test_request_context(path, base_url=f"http://{host}/{code}/",
                                    environ_overrides={ENVIRON_KEY: code})


def _at_runtime(app: Flask, name: str) -> str:
    """``name`` rendered the old way: compiled without translating (as ``name``, so escaped
    or not as it is), ``_`` called as it runs."""
    env = app.jinja_env
    code = env.compile(TEMPLATES[name], name, name)
    return env.template_class.from_code(env, code, env.make_globals(None)).render(**VALUES)


@pytest.mark.parametrize("code", ["zh", "lo", "en", "my"])
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_template_compiled_per_language_shows_what_gettext_gave(test_templates, code, name):
    app = test_templates
    with in_language(app, code):
        app.preprocess_request()
        assert render_template(name, **VALUES) == _at_runtime(app, name)


def test_constant_strings_are_translated_when_compiled(test_templates, monkeypatch):
    app = test_templates
    with in_language(app, "lo"):
        app.preprocess_request()
        expected = _at_runtime(app, "t_consts.html")
        assert catalog("lo").gettext("搜索") in expected
        calls = []
        gettext = app.jinja_env.globals["_"]

        @pass_context
        def counted(context, *args, **kwargs):
            calls.append(args)
            return context.call(gettext, *args, **kwargs)

        monkeypatch.setitem(app.jinja_env.globals, "_", counted)
        assert render_template("t_consts.html", **VALUES) == expected
    # Only the call with a variable string is left to run.
    assert calls == [("搜索",)]


def test_each_language_keeps_its_own_compiled_template(client):
    """A template compiled for one language is never served in another."""
    for prefix, code in [("/lo", "lo"), ("", "zh"), ("/en", "en"), ("/lo", "lo")]:
        body = client.get(prefix + "/credit").get_data(as_text=True)
        expected = "搜索" if code == "zh" else catalog(code).gettext("搜索")
        assert f"<button type=\"submit\">{expected}</button>" in body, code


def test_links_are_built_once_per_language_and_host(app, monkeypatch):
    built = []
    build = type(app)._build_url
    monkeypatch.setattr(type(app), "_build_url",
                        lambda self, e, v: built.append(e) or build(self, e, v))
    for code, host, expected in [("lo", "localhost", "/lo/credit"), ("zh", "localhost", "/credit"),
                                 ("lo", "other.example", "/lo/credit")]:
        base = f"http://{host}{expected.removesuffix('credit')}"
        for _ in range(3):
            with in_language(app, code, "/", host):
                assert url_for("credit.check") == expected
                assert url_for("credit.check", _external=True) == base + "credit"
                # Query values and anchors are built each time.
                assert url_for("credit.check", code="x", _anchor="a") == expected + "?code=x#a"
    assert built == ["credit.check", "credit.check", "credit.check"] * 3 + ["credit.check"] * 6


def test_the_footer_and_navigation_are_made_once_per_language(client, app, monkeypatch):
    loaded = []
    get_template = app.jinja_env.get_template
    monkeypatch.setattr(app.jinja_env, "get_template",
                        lambda name, *a, **k: loaded.append(name) or get_template(name, *a, **k))
    pages = {}
    for path in ["/credit", "/lo/credit", "/credit", "/lo/credit", "/report"]:
        pages[path] = client.get(path).get_data(as_text=True)
    assert loaded.count("_footer.html") == 2
    # Which link is current is the page's own.
    for path in ["/credit", "/report", "/lo/credit"]:
        current = re.findall(r'<a href="([^"]*)" aria-current="page"', pages[path])
        assert current == [path], path
    assert catalog("lo").gettext("核验信用证明") in pages["/lo/credit"]


def test_a_day_is_formatted_once_per_language(app, monkeypatch):
    i18n._formatted_date.cache_clear()
    calls = []
    real = i18n.babel_dates_format_date
    monkeypatch.setattr(i18n, "babel_dates_format_date",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    day = date(2026, 9, 28)
    for code in ["en", "en", "my", "my"]:
        with in_language(app, code):
            said = i18n.format_date(day)
    assert said == "၂၀၂၆ စက်တင်ဘာ ၂၈" and len(calls) == 2
    with in_language(app, "en"):
        assert i18n.format_date(day) == "September 28, 2026"


def test_the_offer_is_worked_out_once_per_header(client, monkeypatch):
    i18n._OFFERS.clear()
    parsed = []
    best_match = LanguageAccept.best_match
    monkeypatch.setattr(LanguageAccept, "best_match",
                        lambda self, *a, **k: parsed.append(1) or best_match(self, *a, **k))
    for _ in range(3):
        body = client.get("/", headers={"Accept-Language": "lo, zh;q=0.5"}).get_data(as_text=True)
        assert i18n.OFFERS["lo"] in body
        body = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        assert "language-offer" not in body
    assert len(parsed) == 2


def test_the_limiter_does_nothing_on_a_public_page(client, app, monkeypatch):
    from flask_limiter import Limiter

    from portal.extensions import limiter

    touched = []
    monkeypatch.setattr(Limiter, "context", property(lambda self: touched.append(1)))
    assert client.get("/").status_code == 200
    assert touched == []
    assert limiter.enabled


def test_a_constant_folded_when_compiled_is_in_the_page_language(client, app_ctx):
    """Jinja works out ``{{ 0|number }}`` when it compiles a template: compiled once for every
    language, the first language to ask decided the digits of all (a Burmese page showed 0)."""
    from tests import factories

    factories.decision()
    from portal.extensions import db

    db.session.commit()
    assert ">0</td>" in client.get("/compliance").get_data(as_text=True)
    burmese = client.get("/my/compliance").get_data(as_text=True)
    assert ">၀</td>" in burmese and ">0</td>" not in burmese
