"""Charts of the statistics as SVG, drawn on the server by matplotlib (Agg, no pyplot state).

``svg.fonttype: none`` keeps the labels as text, so the browser draws the Chinese (or the Lao,
Burmese, English of a chart under a language prefix: ``/lo/stats/<key>.svg``) with the reader's
own fonts (no glyph outlines, no web fonts); the SVG carries no script and no link to
another origin, and the same data always gives the same bytes (fixed hash salt, no date), so a
rendered chart is cached by its data.
"""

from __future__ import annotations

import io
import re
import warnings
from collections import OrderedDict
from decimal import Decimal
from threading import Lock

import matplotlib

matplotlib.use("Agg")

from matplotlib import rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from portal.i18n import DEFAULT, current_language, native_digits  # noqa: E402
from portal.services.oversight.statistics import StatTable, label_text  # noqa: E402

# System CJK fonts first: the browser picks the first it has (no font is shipped or fetched).
FONT_FAMILIES = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
                 "WenQuanYi Micro Hei", "Noto Sans Lao", "Noto Sans Myanmar", "Myanmar Text",
                 "Leelawadee UI", "DejaVu Sans"]
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "portal-stats",
    "font.family": "sans-serif",
    "font.sans-serif": FONT_FAMILIES,
    "font.size": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8c959f",
    "axes.titlesize": 12,
}
# The site's colours (static/style.css): brand red, link blue, gold, green.
COLOURS = ["#a4161a", "#094b8c", "#d9a520", "#116329"]
# Two sizes: one for wide screens, one drawn for a phone's width (≈ 360 px) so that its text
# stays legible instead of being scaled down.
WIDTH_IN = {"wide": 7.2, "narrow": 3.75}
MAX_TICKS = {"wide": 12, "narrow": 6}
SIZES = tuple(WIDTH_IN)
CACHE_SIZE = 128

_cache: OrderedDict[tuple[object, ...], str] = OrderedDict()
_lock = Lock()
# matplotlib's rcParams and the warnings filters are process-wide: one chart at a time.
_render_lock = Lock()


def chart_svg(table: StatTable, size: str = "wide") -> str:
    """The table's chart as a standalone SVG document, ``size`` "wide" or "narrow" (cached by
    the table's data)."""
    if size not in WIDTH_IN:
        raise ValueError(f"unknown chart size {size!r}")
    language = current_language()
    key = (language, size, table.key, str(table.title), table.chart, table.plotted,
           tuple((str(label), values) for label, values in table.rows))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with _render_lock:
        svg = _render(table, size)
    with _lock:
        _cache[key] = svg
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return svg


def _number(value: object) -> float:
    if value is None:
        return 0.0
    if isinstance(value, Decimal):
        return float(value)
    return float(value)  # type: ignore[arg-type]


def _axis_formatter(money: bool) -> FuncFormatter:
    def fmt(value: float, _pos: int) -> str:
        if money and abs(value) >= 10_000 and current_language() == DEFAULT:
            return f"{value / 10_000:,.0f}万"
        return native_digits(f"{value:,.0f}")

    return FuncFormatter(fmt)


def _render(table: StatTable, size: str) -> str:
    # The words are lazy (portal.services.oversight.statistics): said here in the chart's
    # language; a row named by data without a translation (a sector) keeps its Chinese name.
    labels = [label_text(label) or str(label) for label, _ in table.rows]
    ticks = [native_digits(t) for t in table.tick_labels] or labels
    series = [(table.columns[i], [_number(values[i]) for _, values in table.rows])
              for i in table.plotted]
    money = any(column.money for column, _ in series)
    unit = str(series[0][0].unit) if series else ""
    with rc_context(RC), warnings.catch_warnings():
        # With svg.fonttype "none" the glyphs are the browser's: a font missing on the server
        # only changes the layout estimate, so matplotlib's missing-glyph warnings are noise.
        warnings.simplefilter("ignore", UserWarning)
        narrow = size == "narrow"
        if table.chart == "barh":
            height = max(2.4, (0.5 if narrow else 0.42) * len(labels) + 1.0)
        else:
            height = 3.2 if narrow else 3.4
        fig = Figure(figsize=(WIDTH_IN[size], height))
        ax = fig.add_subplot()
        if table.chart == "barh":
            positions = list(range(len(labels)))[::-1]
            bar = 0.8 / len(series)
            for n, (column, values) in enumerate(series):
                ax.barh([p + 0.4 - bar * (n + 0.5) for p in positions], values, height=bar,
                        color=COLOURS[n % len(COLOURS)], label=str(column.label))
            ax.set_yticks(positions, ticks)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if narrow else "auto",
                                                   integer=not money))
            ax.xaxis.set_major_formatter(_axis_formatter(money))
            ax.set_xlabel(unit)
            ax.grid(axis="x", color="#d0d7de", linewidth=0.6)
        else:
            positions = list(range(len(labels)))
            if table.chart == "line":
                for n, (column, values) in enumerate(series):
                    ax.plot(positions, values, color=COLOURS[n % len(COLOURS)], marker="o",
                            markersize=3, linewidth=2, label=str(column.label))
                ax.set_ylim(bottom=0)
            else:
                bar = 0.8 / len(series)
                for n, (column, values) in enumerate(series):
                    ax.bar([p - 0.4 + bar * (n + 0.5) for p in positions], values, width=bar,
                           color=COLOURS[n % len(COLOURS)], label=str(column.label))
            step = max(1, -(-len(ticks) // MAX_TICKS[size]))  # a dozen labels at most
            ax.set_xticks(positions[::step], ticks[::step], rotation=45, ha="right")
            ax.yaxis.set_major_locator(MaxNLocator(integer=not money))
            ax.yaxis.set_major_formatter(_axis_formatter(money))
            ax.set_ylabel(unit, rotation=0, labelpad=14, va="center")
            ax.grid(axis="y", color="#d0d7de", linewidth=0.6)
        ax.set_axisbelow(True)
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=10)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None},
                    bbox_inches="tight", pad_inches=0.08)
    return _tidy(out.getvalue())


_PROLOGUE = re.compile(r"^<\?xml[^>]*>\s*<!DOCTYPE[^>]*>\s*", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _tidy(svg: str) -> str:
    """Drop the DOCTYPE (it names another origin's DTD) and the RDF metadata."""
    svg = _PROLOGUE.sub("", svg)
    svg = _METADATA.sub("", svg)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + svg
