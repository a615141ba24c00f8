"""The request's language and one-call gettext (issue 16; the speed part of issue 16 §4).

Flask-Babel's ``gettext`` looks up, on every call, the domain, the request's cached locale
(through ``current_app`` and the context), and the translations cache keyed by the locale's
string: about 10 µs a string, and a page has fifty to a hundred of them.  Here the language is
read from the request context itself (the ``portal.lang`` the URL prefix put in the environ,
``portal.i18n.LanguagePrefix``) and each language's catalog is loaded once per process: a call
is a context-variable read and a dict lookup.  The results are those of Flask-Babel's functions
(its catalogs are the same files, ``portal/translations``): Chinese, the source, has no catalog
and returns the string itself; ``%(name)s`` placeholders are filled only when values are given.

This module imports nothing of the portal, so any module may import it.
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from flask.globals import _cv_request
from flask.templating import Environment as FlaskEnvironment
from flask_babel import LazyString
from jinja2 import Template, nodes
from jinja2.visitor import NodeTransformer

DEFAULT = "zh"
ENVIRON_KEY = "portal.lang"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"

_CATALOGS: dict[str, Any] = {}


def current_language() -> str:
    """The language of this request: its URL prefix, Chinese at the root (and outside a
    request).  Read from the request context directly, not through the ``request`` proxy."""
    ctx = _cv_request.get(None)
    if ctx is None:
        return DEFAULT
    return ctx.request.environ.get(ENVIRON_KEY, DEFAULT)


def catalog(code: str) -> Any:
    """The compiled catalog of ``code``, loaded once per process."""
    found = _CATALOGS.get(code)
    if found is None:
        from babel.support import Translations

        found = Translations.load(str(TRANSLATIONS_DIR), [code], "messages")
        _CATALOGS[code] = found
    return found


def translate(code: str, string: str) -> str:
    """``string`` in language ``code`` (the string itself in Chinese or when not translated)."""
    return string if code == DEFAULT else catalog(code).gettext(string)


def gettext(string: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext``, in one lookup."""
    code = current_language()
    text = string if code == DEFAULT else catalog(code).gettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: Any, **variables: Any) -> str:
    """Flask-Babel's ``ngettext``, in one lookup: the form for ``n`` in the reader's language
    (English "1 case" / "2 cases"; Lao and Burmese have one form; Chinese, the source, says
    both alike), %-formatted with ``variables``, ``num`` being ``n`` unless given (pass the
    number as the page shows it, e.g. in Burmese digits)."""
    code = current_language()
    if code == DEFAULT:
        text = singular if n == 1 else plural
    else:
        text = catalog(code).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


def lazy_ngettext(singular: str, plural: str, n: Any, **variables: Any) -> LazyString:
    """``ngettext`` said when the string is used (``make extract-messages`` knows the name)."""
    return LazyString(ngettext, singular, plural, n, **variables)


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Flask-Babel's ``lazy_gettext`` (the same ``LazyString``), translated by ``gettext``."""
    return LazyString(gettext, string, **variables)


# --- templates: constant strings translated when the template is compiled ---------------------

_COMPILING: ContextVar[str | None] = ContextVar("portal_compiling_language", default=None)
_GETTEXT_NAMES = frozenset({"_", "gettext"})


class _Translate(NodeTransformer):
    """``_('…')`` and ``{% trans %}`` without an expression argument become the translated
    text at compile time, exactly as the i18n extension's newstyle ``gettext`` would return it
    when rendered: marked safe where autoescaping is on (``MarkSafeIfAutoescape``), %-formatted
    with the call's keyword values (``Mod``; ``Markup``'s ``%`` escapes them), or with an empty
    mapping when there are none (``%%`` becomes ``%``).  Anything else (a call with a variable
    string, ``ngettext``/``pgettext``, a string whose formatting fails) is left as the call."""

    def __init__(self, code: str) -> None:
        self.code = code

    def visit_Call(self, node: nodes.Call) -> nodes.Node:
        node = self.generic_visit(node)
        callee = node.node
        if not (isinstance(callee, nodes.Name) and callee.name in _GETTEXT_NAMES
                and len(node.args) == 1 and isinstance(node.args[0], nodes.Const)
                and isinstance(node.args[0].value, str)
                and node.dyn_args is None and node.dyn_kwargs is None):
            return node
        text = translate(self.code, node.args[0].value)
        lineno = node.lineno
        if not node.kwargs:
            try:
                text = text % {}
            except (KeyError, ValueError, TypeError):
                return node
            return nodes.MarkSafeIfAutoescape(nodes.Const(text, lineno=lineno), lineno=lineno)
        keys = [keyword.key for keyword in node.kwargs]
        if len(set(keys)) != len(keys):
            return node
        values = nodes.Dict([nodes.Pair(nodes.Const(keyword.key, lineno=lineno), keyword.value,
                                        lineno=lineno) for keyword in node.kwargs],
                            lineno=lineno)
        return nodes.Mod(nodes.MarkSafeIfAutoescape(nodes.Const(text, lineno=lineno),
                                                    lineno=lineno), values, lineno=lineno)


def _rebinds_gettext(tree: nodes.Template) -> bool:
    """Whether the template binds ``_`` or ``gettext`` itself (``{% set _ = … %}``, a loop
    variable, a macro argument, an import): then its calls are left alone."""
    for name in tree.find_all(nodes.Name):
        if name.name in _GETTEXT_NAMES and name.ctx != "load":
            return True
    for found in tree.find_all((nodes.Import, nodes.FromImport, nodes.Macro, nodes.CallBlock)):
        if isinstance(found, nodes.Import) and found.target in _GETTEXT_NAMES:
            return True
        if isinstance(found, nodes.FromImport) and any(
                (name[1] if isinstance(name, tuple) else name) in _GETTEXT_NAMES
                for name in found.names):
            return True
        if isinstance(found, nodes.Macro | nodes.CallBlock) and any(
                arg.name in _GETTEXT_NAMES for arg in found.args):
            return True
    return False


class TranslatingEnvironment(FlaskEnvironment):
    """Flask's Jinja environment, keeping one compiled copy of each template per language, in
    which the interface's constant strings are already translated (``_Translate``): a page's
    fifty to a hundred ``_()`` cost nothing when rendered.  The language is the request's
    (``current_language``), read when a template is looked up; outside a request, Chinese.
    ``from_string`` templates are compiled as before (their calls translate when rendered)."""

    def _load_template(self, name: str, globals: Any) -> Template:  # noqa: A002
        if self.loader is None:
            raise TypeError("no loader for this environment specified")
        code = current_language()
        cache_key = (weakref.ref(self.loader), name, code)
        if self.cache is not None:
            template = self.cache.get(cache_key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        token = _COMPILING.set(code)
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        finally:
            _COMPILING.reset(token)
        if self.cache is not None:
            self.cache[cache_key] = template
        return template

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        code = _COMPILING.get()
        if code is not None and not _rebinds_gettext(tree):
            tree = _Translate(code).visit(tree)
            tree.set_environment(self)
        return tree
