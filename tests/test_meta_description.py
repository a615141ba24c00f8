"""Every public page describes itself in a ``<meta name="description">`` of its own.

A search engine shows it under the page's title; without it, it shows whatever text it picks
(Lighthouse SEO, issue 14 §7).  Each page family says what it holds, so no two pages share one.
"""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest

from portal.extensions import db
from tests import factories

META = re.compile(r'<meta name="description" content="([^"]*)">')


@pytest.fixture
def public_paths(app) -> list[str]:
    with app.app_context():
        ent = factories.enterprise(name="景洪市描述测试化工有限公司")
        factories.blacklist_entry(enterprise=ent, listed_on=date(2025, 4, 1))
        decision = factories.decision(enterprise=ent)
        power, accident = factories.power(), factories.accident()
        entry = factories.blacklist_entry()
        db.session.commit()
        return [
            "/", "/powers", "/decisions", "/accidents", "/blacklist",
            power.url_path, decision.url_path, accident.url_path, entry.url_path,
            "/search", "/data", "/stats", "/compliance",
            "/credit", f"/credit?code={ent.uscc}", "/credit/verify", "/credit/certificate",
            "/report", "/report/followup", "/no-such-page",
        ]


def _description(html: str) -> str:
    found = META.findall(html)
    assert len(found) == 1, f"{len(found)} meta descriptions"
    return unescape(found[0])


def test_every_public_page_has_a_description_of_its_own(client, public_paths):
    seen: dict[str, str] = {}
    for path in public_paths:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        description = _description(response.get_data(as_text=True))
        # Long enough to say something, short enough to be shown whole (about 80 characters).
        assert 10 <= len(description) <= 160, (path, description)
        assert "\n" not in description and "  " not in description, (path, description)
        assert description not in seen, f"{path} says what {seen.get(description)} says"
        seen[description] = path


def test_a_detail_page_is_described_by_its_item(client, app):
    with app.app_context():
        decision = factories.decision(party_name="勐腊县描述测试矿业有限公司")
        db.session.commit()
        path, title = decision.url_path, decision.title
    description = _description(client.get(path).get_data(as_text=True))
    assert title in description
