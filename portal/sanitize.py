"""The one wrapper around bleach: the only allow-list for stored HTML."""

from __future__ import annotations

import html as html_lib
import threading

import bleach
import markdown as markdown_lib
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i",
        "blockquote", "table", "thead", "tbody", "tr", "th", "td", "caption", "a",
        "span", "sup", "sub", "hr", "pre", "code",
    }
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "th": ["scope", "colspan", "rowspan"],
                      "td": ["colspan", "rowspan"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

# A Cleaner keeps its parser's state while it cleans, so two threads cleaning with one Cleaner
# corrupt each other's document (a 500 under load: "pop from empty list" in html5lib's tree
# builder): one Cleaner per thread.
_per_thread = threading.local()


def _cleaner() -> bleach.sanitizer.Cleaner:
    cleaner = getattr(_per_thread, "cleaner", None)
    if cleaner is None:
        cleaner = _per_thread.cleaner = bleach.sanitizer.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
        )
    return cleaner


def clean_html(html: str) -> str:
    """Return ``html`` with everything outside the allow-list removed."""
    return _cleaner().clean(html or "")


def markdown_to_html(text: str) -> str:
    """Render Markdown, then sanitise: raw HTML in the source gets no pass."""
    return clean_html(markdown_lib.markdown(text or "", extensions=["tables"], output_format="html"))


def safe(html: str) -> Markup:
    """Mark already-sanitised stored HTML as safe for a template, cleaning it once more."""
    return Markup(clean_html(html))  # noqa: S704 - cleaned by the allow-list just above


def plain_text(html: str) -> str:
    """The text of sanitised HTML, for search and snippets."""
    return html_lib.unescape(bleach.clean(html or "", tags=set(), strip=True))
