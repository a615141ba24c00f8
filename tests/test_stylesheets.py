"""Every stylesheet in static/ parses cleanly, so a lost brace cannot silently drop rules.

A browser forgives what a merge breaks: an ``@media`` block left open swallows every rule after
it (issue 14: above 640 px the rest of style.css was lost and nothing failed). tinycss2 follows
the CSS syntax spec, so the checks here are what a browser does, made loud.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tinycss2

STATIC = Path(__file__).resolve().parents[1] / "static"
STYLESHEETS = sorted(STATIC.glob("**/*.css"))
# At-rules whose block holds rules; the portal nests none inside another (an ``@media`` inside an
# ``@media`` is how an unclosed block shows, so it is refused).
GROUPING_AT_RULES = {"media", "supports"}
# At-rules whose block holds declarations.
DECLARATION_AT_RULES = {"page", "font-face"}
CLOSERS = {"{": "}", "(": ")", "[": "]"}


def _where(node) -> str:
    return f"line {node.source_line}, column {node.source_column}"


def _unclosed(source: str) -> list[str]:
    """Blocks the parser had to close at the end of the file.

    tinycss2, like a browser, closes them silently; its serialisation writes the closing
    character it supplied, so it holds more of them than the source does."""
    serialised = tinycss2.serialize(tinycss2.parse_component_value_list(source))
    return [f"{missing} unclosed '{opener}' block(s)" for opener, closer in CLOSERS.items()
            if (missing := serialised.count(closer) - source.count(closer)) > 0]


def _declaration_problems(content, context: str) -> list[str]:
    problems = []
    for node in tinycss2.parse_blocks_contents(content, skip_whitespace=True, skip_comments=True):
        if node.type == "error":
            problems.append(f"{context}: {node.message} at {_where(node)}")
        elif node.type != "declaration":
            # A rule inside a rule: a '}' is missing before it (the portal uses no CSS nesting).
            problems.append(f"{context}: a rule inside a rule at {_where(node)} (missing '}}'?)")
        elif not tinycss2.serialize(node.value).strip():
            problems.append(f"{context}: empty value of {node.name} at {_where(node)}")
    return problems


def _rule_problems(nodes, inside: str | None = None) -> list[str]:
    problems = []
    for node in nodes:
        if node.type == "error":
            problems.append(f"{node.message} at {_where(node)}")
        elif node.type == "qualified-rule":
            selector = tinycss2.serialize(node.prelude).strip()
            if not selector:
                problems.append(f"a rule without a selector at {_where(node)}")
            stray = [getattr(t, "value", "}") for t in node.prelude
                     if t.type == "error" or (t.type == "literal" and t.value == ";")]
            if stray:
                # A '}' too many (or a ';' after a rule) became part of the next selector,
                # which no element matches: the whole rule is lost.
                problems.append(f"stray {' '.join(stray)!r} before {selector!r} at {_where(node)}")
            problems += _declaration_problems(node.content, f"{selector!r} ({_where(node)})")
        elif node.type == "at-rule":
            name = node.lower_at_keyword
            if name in GROUPING_AT_RULES:
                if inside is not None:
                    problems.append(f"@{name} at {_where(node)} inside @{inside}: "
                                    "is the block before it closed?")
                if node.content is None:
                    problems.append(f"@{name} without a block at {_where(node)}")
                    continue
                contents = tinycss2.parse_blocks_contents(
                    node.content, skip_whitespace=True, skip_comments=True)
                for inner in contents:
                    if inner.type == "declaration":
                        problems.append(f"a declaration '{inner.name}' directly in @{name} at "
                                        f"{_where(inner)}: a rule's braces are missing")
                problems += _rule_problems(
                    [n for n in contents if n.type != "declaration"], inside=name)
            elif name in DECLARATION_AT_RULES:
                problems += _declaration_problems(node.content, f"@{name} ({_where(node)})")
            elif name not in {"import", "charset"} or inside is not None:
                problems.append(f"unexpected @{name} at {_where(node)}")
    return problems


def stylesheet_problems(source: str) -> list[str]:
    """Every syntax fault of a stylesheet that a browser would silently recover from."""
    rules = tinycss2.parse_stylesheet(source, skip_whitespace=True, skip_comments=True)
    return _unclosed(source) + _rule_problems(rules)


def test_there_are_stylesheets():
    assert {p.name for p in STYLESHEETS} >= {"style.css", "staff.css", "credit-print.css"}


@pytest.mark.parametrize("path", STYLESHEETS, ids=lambda p: p.name)
def test_stylesheet_parses_cleanly(path):
    assert stylesheet_problems(path.read_text(encoding="utf-8")) == []


# What the merges of issue 14 did, and other slips a browser hides: each is found.
BROKEN = {
    # The @media of line 272 left open: the rules after it, and the next @media, fell inside it.
    "unclosed media": "@media (max-width: 40rem) {\n  .a { color: red; }\n\n.b { color: blue; }\n"
                      "@media (max-width: 600px) { .c { color: green; } }\n",
    "unclosed rule": ".a { color: red;\n.b { color: blue; }\n",
    "stray brace": ".a { color: red; } }\n.b { color: blue; }\n",
    "declaration in media": "@media (max-width: 40rem) { color: red; .a { color: blue; } }\n",
    "unclosed at end": ".a { color: red; }\n.b { color: blue;\n",
    "bad string": '.a { content: "open\n; color: red; }\n',
    "empty value": ".a { color: ; }\n",
    "unclosed parenthesis": ".a { width: calc(100% - 1rem; }\n",
}


@pytest.mark.parametrize("source", BROKEN.values(), ids=BROKEN.keys())
def test_each_slip_is_found(source):
    assert stylesheet_problems(source)


def test_a_sound_stylesheet_passes():
    source = (':root { --x: 1px; }\n.a:hover, .b > .c::before { content: "}"; margin: 0 auto; }\n'
              "@media (max-width: 40rem) { .a { display: none; } }\n"
              "@page { size: A4; margin: 1cm; }\n@supports (display: grid) { .d { display: grid; } }\n")
    assert stylesheet_problems(source) == []
