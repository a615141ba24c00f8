"""``/stats``, ``/compliance``, ``/sitemap.xml`` and ``/robots.txt``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from xml.sax.saxutils import escape

from flask import (
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from portal import i18n
from portal.domain.catalog import (
    ACCIDENT_ASSESSMENT_YEARS,
    POWER_CHANGE_PUBLISH_WORKING_DAYS,
    REPORT_VERIFICATION_DAYS,
    WITHDRAWAL_PUBLISH_WORKING_DAYS,
    decision_deadline_groups,
    decision_deadline_text,
)
from portal.page_cache import public_page
from portal.services.enterprises import objections, repair
from portal.services.oversight import compliance as compliance_service
from portal.services.oversight import statistics as stats_service
from portal.services.publication import sitemap as sitemap_service
from portal.statistics import bp
from portal.statistics.forms import YearForm

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _year() -> tuple[YearForm, int | None, list[str]]:
    form = YearForm(stats_service.available_years(), request.args)
    year, messages = form.checked_year()
    return form, year, messages


# Statistics drawn as a county map instead of a bar chart, and the kind of item their counties
# link to; the map shades the table's first column (a count).
COUNTY_MAPS = {"accidents-by-county": "accidents", "supervision-by-county": "supervision"}


def _county_maps(sections, year: int | None) -> dict[str, tuple[str, list[tuple[str, int, str]]]]:
    """For each statistic in ``COUNTY_MAPS``: its kind and the county map's rows, each county's
    count with a link to the public list filtered to that county (and year)."""
    maps = {}
    for _key, _title, tables in sections:
        for t in tables:
            if kind := COUNTY_MAPS.get(t.key):
                maps[t.key] = (kind, [
                    (label, int(values[0] or 0),
                     url_for("disclosures.listing", kind=kind, county=label, year=year))
                    for label, values in t.rows
                ])
    return maps


def stat_label(label: object) -> object:
    """A row's label on the page: ours (lazy) in the reader's language; a published word in
    its translation (a decision type, an accident level) or, like a county (with its
    romanisation) or a sector, in Chinese, marked."""
    if not isinstance(label, str) or i18n.current_language() == i18n.DEFAULT:
        return label
    latin = i18n.COUNTY_LATIN.get(label)
    if latin:
        return i18n.official(label) + f" ({latin})"
    from portal.published_words import term

    return term(label)


@bp.get("/stats")
@public_page(also_keyed_by=stats_service.tables_version)
def stats():
    form, year, messages = _year()
    sections = stats_service.all_tables(year)
    return render_template(
        "statistics/stats.html",
        form=form,
        year=year,
        year_name=stats_service.year_label(year) if year else None,
        stat_label=stat_label,
        messages=messages,
        sections=sections,
        county_maps=_county_maps(sections, year),
        # Figures in the page's digits (Burmese in Burmese), decided once for the page's cells.
        plain=stats_service.shown_number if i18n.current_language() == "my"
        else stats_service.plain_number,
    )


def _table_or_404(key: str):
    _form, year, _messages = _year()
    try:
        return stats_service.table(key, year), year
    except KeyError:
        abort(404)


@bp.get("/stats/<key>.svg")
def chart(key: str):
    from portal.statistics.charts import SIZES, chart_svg

    size = request.args.get("size", "wide")
    if size not in SIZES:
        abort(404)
    table, _year_ = _table_or_404(key)
    response = Response(chart_svg(table, size), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    # A cell starting like a formula is neutralised for spreadsheets.
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


@bp.get("/stats/<key>.csv")
def table_csv(key: str):
    table, year = _table_or_404(key)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only with the BOM
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([table.label_header, *(
        f"{c.label}（{c.unit}）" if c.unit else c.label for c in table.columns)])
    for label, values in table.rows:
        writer.writerow([_csv_cell(label), *(_csv_cell(v) for v in values)])
    name = f"{key}-{year}.csv" if year else f"{key}.csv"
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _decision_deadlines() -> str:
    """The decisions' publication deadlines as one sentence in the reader's language."""
    if i18n.current_language() == i18n.DEFAULT:
        return decision_deadline_text()
    from portal.services.oversight.statistics import label_text
    from portal.translation import gettext as _
    from portal.translation import ngettext

    def names(kinds: tuple[str, ...]) -> str:
        said = [label_text(kind) or kind for kind in kinds]
        return _("、").join(s.lower() if i18n.current_language() == "en" else s for s in said)

    return _("；").join(ngettext("%(kinds)s决定 %(days)s 个工作日内公开",
                                 "%(kinds)s决定 %(days)s 个工作日内公开", days,
                                 kinds=names(kinds), days=days)
                       for days, kinds in decision_deadline_groups())


@bp.get("/compliance")
@public_page(also_keyed_by=compliance_service.page_version)
def compliance():
    return render_template(
        "statistics/compliance.html",
        result=compliance_service.compliance(),
        decision_deadlines=_decision_deadlines(),
        withdrawal_days=WITHDRAWAL_PUBLISH_WORKING_DAYS,
        power_days=POWER_CHANGE_PUBLISH_WORKING_DAYS,
        assessment_years=ACCIDENT_ASSESSMENT_YEARS,
        verification_days=REPORT_VERIFICATION_DAYS,
        repair_rows=repair.timeliness(),
        repair_days=repair.decision_working_days(),
        objection_rows=objections.timeliness(),
        objection_days=objections.answer_working_days(),
    )


# --- robots and sitemap -------------------------------------------------------------------------

# Never crawled: the back office and the anonymous report pages.
ROBOTS_DISALLOW = ("/staff/", "/report", "/en/report", "/lo/report", "/my/report")


@bp.get("/robots.txt")
def robots():
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW), "",
             f"Sitemap: {url_for('statistics.sitemap', _external=True)}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


def _served_pages() -> tuple[str, ...]:
    """The sitemap's pages that this app serves (others are added by later parts)."""
    adapter = current_app.url_map.bind("localhost")
    served = []
    for path in sitemap_service.PAGES:
        try:
            adapter.match(path, method="GET")
        except RequestRedirect:
            pass  # e.g. a trailing slash added: still served
        except (NotFound, MethodNotAllowed):
            continue
        served.append(path)
    return tuple(served)


def _urlset(entries: Iterator[sitemap_service.Entry]) -> Iterator[str]:
    root = request.url_root.rstrip("/")
    translated = i18n.translated_path_matcher()
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
           'xmlns:xhtml="http://www.w3.org/1999/xhtml">\n')
    for entry in entries:
        lastmod = f"<lastmod>{entry.lastmod.isoformat()}</lastmod>" if entry.lastmod else ""
        # A page served in every language lists its versions (hreflang), the root as default.
        alternates = "".join(
            f'<xhtml:link rel="alternate" hreflang="{hreflang}" '
            f'href="{escape(root + i18n.language_url(code, entry.path))}"/>'
            for code, (_name, _lang, hreflang) in i18n.LANGUAGES.items()
        ) + (f'<xhtml:link rel="alternate" hreflang="x-default" '
             f'href="{escape(root + entry.path)}"/>') if translated(entry.path) else ""
        yield f"<url><loc>{escape(root + entry.path)}</loc>{lastmod}{alternates}</url>\n"
    yield "</urlset>\n"


@bp.get("/sitemap.xml")
def sitemap():
    pages = _served_pages()
    parts = sitemap_service.files(sitemap_service.count(pages))
    if parts == 1:
        body = _urlset(sitemap_service.part(pages, 1))
    else:
        body = iter([
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n',
            *(f"<sitemap><loc>{escape(url_for('statistics.sitemap_part', number=n, _external=True))}"
              "</loc></sitemap>\n" for n in range(1, parts + 1)),
            "</sitemapindex>\n",
        ])
    return Response(stream_with_context(body), mimetype="application/xml")


@bp.get("/sitemap-<int:number>.xml")
def sitemap_part(number: int):
    pages = _served_pages()
    parts = sitemap_service.files(sitemap_service.count(pages))
    if parts == 1 or not 1 <= number <= parts:
        abort(404)
    return Response(stream_with_context(_urlset(sitemap_service.part(pages, number))),
                    mimetype="application/xml")
