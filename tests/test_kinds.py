"""A kind is declared once (portal/kinds.py): every place that lists the published kinds reads
the registry, and no module keeps its own literal list of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal import audit, cli, fieldspec, kinds
from portal.models import DISCLOSURE_MODELS

ROOT = Path(__file__).resolve().parent.parent
KEYS = kinds.KEYS


def test_registry_keys_are_unique_and_url_safe():
    assert len(set(KEYS)) == len(KEYS)
    assert all(re.fullmatch(r"[a-z]+", key) for key in KEYS)


def test_every_kind_has_its_model_spec_and_partials():
    assert tuple(DISCLOSURE_MODELS) == KEYS
    assert tuple(fieldspec.SPECS) == KEYS == fieldspec.KINDS
    for kind in kinds.KINDS:
        model = kind.model
        assert model.KIND == kind.key and model.LABEL == kind.label
        assert hasattr(model, kind.date_field)
        for name in (*kind.staff_search, *kind.derived_columns):
            assert hasattr(model, name), (kind.key, name)
        if kind.number_field:
            assert hasattr(model, kind.number_field)
        assert (ROOT / "templates" / kind.detail_template).is_file()
        assert (ROOT / "templates" / kind.table_template).is_file()
        assert fieldspec.SPECS[kind.key].label == kind.label


def test_search_adapter_audit_cli_and_staff_read_the_registry():
    import search_index
    from portal.services.publication import importer
    from portal.staff.forms import ITEM_FORMS

    assert search_index.KINDS == KEYS
    assert set(ITEM_FORMS) == set(KEYS)
    for kind in kinds.KINDS:
        assert audit.OBJECT_KINDS[kind.key] == kind.label
    importable = tuple(k.key for k in kinds.KINDS if k.importable)
    assert cli.KINDS == importable
    assert tuple(importer.SPECS) == importable


def test_statistics_sections_are_the_kinds_that_declare_one():
    from portal.services.oversight import statistics

    with_stats = {k.key for k in kinds.KINDS if k.stats_title}
    assert set(statistics.KIND_TABLES) == with_stats
    assert {key for key, _, _ in statistics.SECTIONS} == with_stats | {"reports"}


@pytest.mark.parametrize("key", KEYS)
def test_every_per_kind_url_exists(app, key):
    adapter = app.url_map.bind("localhost")
    expected = {
        f"/{key}": "disclosures.listing",
        f"/{key}/1": "disclosures.detail",
        f"/api/v1/{key}": "disclosures.api_list",
        f"/api/v1/{key}/1": "disclosures.api_item",
        f"/{key}.csv": "disclosures.csv_download",
        f"/feeds/{key}.atom": "disclosures.kind_feed",
        f"/staff/{key}/": "staff.item_list",
    }
    for path, endpoint in expected.items():
        assert adapter.match(path)[0] == endpoint, path


def test_pages_name_every_kind(client):
    home = client.get("/").get_data(as_text=True)
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    data = client.get("/data").get_data(as_text=True)
    openapi = client.get("/api/v1/openapi.json").get_json()
    for kind in kinds.KINDS:
        assert f'href="/{kind.key}"' in home  # the navigation and the latest items
        assert f"/{kind.key}</loc>" in sitemap
        assert f"/{kind.key}.csv" in data
        assert f"/api/v1/{kind.key}" in openapi["paths"]


# Modules allowed to name every kind in one place: the registry itself, the field specs (one
# entry per kind, the declaration of its fields), the importer's per-kind parsers, the demo data
# generator (it writes each kind's rows), and migrations (history, never edited).
ALLOWED = {
    "portal/kinds.py",
    "portal/fieldspec.py",
    "portal/services/publication/importer.py",
    "portal/services/demo/published.py",
}
WINDOW = 400


def _sources():
    for base in ("portal", "search_index", "templates"):
        for path in sorted((ROOT / base).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix not in {".py", ".html", ".txt", ".xml"} or rel in ALLOWED:
                continue
            if "/migrations/" in rel:
                continue
            yield rel, path.read_text(encoding="utf-8")


def test_no_module_keeps_its_own_list_of_the_kinds():
    """Every published kind's key, quoted, within a few lines of each other is a literal list
    (a tuple, a dict, a nav bar) that a new kind would have to be added to by hand."""
    alternatives = "|".join(map(re.escape, KEYS))
    quoted = re.compile(rf"""["']({alternatives})["']""")
    offenders = []
    for rel, text in _sources():
        found = [(m.start(), m.group(1)) for m in quoted.finditer(text)]
        for i, (start, _) in enumerate(found):
            window = {key for pos, key in found[i:] if pos - start <= WINDOW}
            if window == set(KEYS):
                offenders.append(f"{rel}:{text.count(chr(10), 0, start) + 1}")
                break
    assert not offenders, f"a literal list of the kinds (read portal.kinds instead): {offenders}"
