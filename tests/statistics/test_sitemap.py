"""/robots.txt and /sitemap.xml: every published permalink and the list pages, never a draft,
a staff page or a report page; a sitemap index beyond the protocol's limit."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from portal.extensions import db
from portal.services.publication import sitemap
from tests import factories

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def locs(client, url: str, tag: str = "url") -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())
    return [e.text for e in root.findall(f"s:{tag}/s:loc", NS)]


def make_items():
    items = [factories.power(), factories.decision(), factories.accident(),
             factories.blacklist_entry(), factories.decision(withdrawn_reason="已撤销")]
    drafts = [factories.decision(published=False), factories.power(published=False)]
    db.session.commit()
    return items, drafts


def test_robots_keeps_crawlers_out_of_staff_and_report_pages(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /staff/" in lines and "Disallow: /report" in lines
    assert "Sitemap: http://localhost/sitemap.xml" in lines


def test_the_sitemap_lists_published_items_and_list_pages(client, app_ctx):
    items, drafts = make_items()
    urls = locs(client, "/sitemap.xml")
    for item in items:
        assert f"http://localhost{item.url_path}" in urls
    for draft in drafts:
        assert f"http://localhost{draft.url_path}" not in urls
    for page in ("/", "/powers", "/decisions", "/accidents", "/blacklist", "/stats", "/compliance"):
        assert f"http://localhost{page}" in urls
    assert not [u for u in urls if "/staff" in u or "/report" in u]
    assert len(urls) == len(set(urls))
    for url in urls:  # every listed address answers
        assert client.get(url.removeprefix("http://localhost")).status_code == 200, url
    root = ET.fromstring(client.get("/sitemap.xml").get_data())
    lastmods = [e.text for e in root.findall("s:url/s:lastmod", NS)]
    assert len(lastmods) == len(items) and all(len(d) == 10 for d in lastmods)


def test_a_large_sitemap_becomes_an_index_of_parts(client, app_ctx, monkeypatch):
    items, _drafts = make_items()
    single = locs(client, "/sitemap.xml")
    monkeypatch.setattr(sitemap, "MAX_URLS", 4)
    parts = locs(client, "/sitemap.xml", "sitemap")
    assert parts == [f"http://localhost/sitemap-{n}.xml" for n in range(1, len(parts) + 1)]
    assert len(parts) == -(-len(single) // 4)
    seen = []
    for part in parts:
        urls = locs(client, part.removeprefix("http://localhost"))
        assert 1 <= len(urls) <= 4
        seen += urls
    assert seen == single  # every URL once, in the same order
    assert client.get(f"/sitemap-{len(parts) + 1}.xml").status_code == 404
    assert client.get("/sitemap-0.xml").status_code == 404


def test_numbered_parts_do_not_exist_for_a_small_sitemap(client, app_ctx):
    assert client.get("/sitemap-1.xml").status_code == 404
