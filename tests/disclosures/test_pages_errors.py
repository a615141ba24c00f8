"""Errors on the public pages: friendly 404s, a 500 page that reveals nothing, no reflected input."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests import factories
from tests.disclosures.pages_html import assert_accessible_page

SCRIPT = "<script>alert('xss')</script>"


@pytest.mark.parametrize(
    "path",
    ["/no-such-page", "/powers/abc", "/decisions/-1", "/accidents/1.5", "/blacklist/1/x",
     "/decision", "/powers/99999999999999999999999999"],
)
def test_unknown_urls_get_the_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert_accessible_page(html)
    assert "页面不存在" in html and '<a href="/">返回首页</a>' in html


def test_the_500_page_reveals_nothing(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page, not a traceback

    @app.get("/test-boom")
    def boom():
        raise RuntimeError("secret detail: password=hunter2 at /srv/portal/db.py")

    response = app.test_client().get("/test-boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert_accessible_page(html)
    assert "服务器错误" in html and "服务暂时出现问题" in html
    for leak in ("hunter2", "RuntimeError", "Traceback", "db.py", "secret"):
        assert leak not in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("kind", ["powers", "decisions", "accidents", "blacklist"])
@pytest.mark.parametrize(
    "param", ["county", "sector", "year", "department", "power_type", "decision_type", "level",
              "status", "page", "q", "unknown"],
)
def test_script_in_any_parameter_is_never_reflected(app_ctx, client, kind, param):
    factories.decision()
    db.session.commit()
    response = client.get(f"/{kind}", query_string={param: SCRIPT})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script" not in html
    assert "alert(" not in html  # not even escaped: bad values are not echoed


@pytest.mark.parametrize("kind", [None, "powers", "decisions", "accidents", "blacklist"])
def test_script_in_query_of_other_pages_is_not_reflected(app_ctx, client, kind):
    # Real pages (a missing item's 404 would not show whether its page reflects the query).
    items = {"powers": factories.power(), "decisions": factories.decision(),
             "accidents": factories.accident(), "blacklist": factories.blacklist_entry()}
    db.session.commit()
    path = f"/{kind}/{items[kind].id}" if kind else "/"
    response = client.get(path, query_string={"q": SCRIPT, "page": SCRIPT})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script" not in html and "alert(" not in html


def test_a_very_long_parameter_is_harmless(client):
    response = client.get("/decisions", query_string={"county": "景" * 5000, "page": "9" * 5000})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "页码无效" in html and "筛选条件「县（市、区）」的值无效，已忽略。" in html


def test_post_to_a_list_is_not_allowed(client):
    response = client.post("/decisions")
    assert response.status_code == 405  # the method is refused before any CSRF check
    assert response.headers["Allow"] and "POST" not in response.headers["Allow"]
