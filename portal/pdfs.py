"""The one wrapper around pypdf: an uploaded PDF is checked, and refused if it can act.

A PDF is accepted only if

- its bytes start with ``%PDF-1.x`` / ``%PDF-2.0`` (the type is decided by the bytes, never by
  the name or the browser's content type) and end with ``%%EOF`` (a whole file);
- it is at most ``MAX_PDF_BYTES`` and pypdf reads its structure: every page, at most
  ``MAX_PAGES`` of them;
- it is not encrypted (what cannot be read cannot be checked); and
- no part of it names an action or an embedded file: ``/JavaScript``, ``/JS``, ``/AA``
  (additional actions), ``/Launch``, ``/EmbeddedFile(s)``, ``/RichMedia``, ``/XFA``,
  ``/SubmitForm``, ``/ImportData``, ``/GoToR``, ``/GoToE`` — looked for in the raw bytes (with
  ``#xx`` escapes in names decoded, so ``/J#61vaScript`` is ``/JavaScript``) and in every object
  pypdf resolves, which covers dictionaries inside compressed object streams; and
- its ``/OpenAction``, if any, is a destination (which page to open, at which zoom: an array,
  as fpdf2, word processors and this portal's own certificates write it), never an action
  dictionary.  Refusing every ``/OpenAction`` would refuse most generated PDFs for nothing.

A refused file is refused whole, not "neutralised": staff open exactly what was sent.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Any

from portal.translation import lazy_gettext as _l

MAX_PDF_BYTES = 10 * 1024 * 1024
MAX_PAGES = 200
# Names that make a PDF do something when opened or clicked, or carry another file.
FORBIDDEN_NAMES = frozenset({
    "/JavaScript", "/JS", "/AA", "/Launch", "/EmbeddedFile", "/EmbeddedFiles",
    "/RichMedia", "/XFA", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE",
})
_HEADER = re.compile(rb"\A%PDF-(1\.[0-7]|2\.0)")
_NAME = re.compile(rb"/[^\s/\[\]<>(){}%]+")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# pypdf walks nested objects: bounded, so a crafted file cannot make it walk for ever.
MAX_OBJECTS = 200_000


ACTIVE = _l("PDF 文件含有脚本、自动操作或嵌入文件，不能接受。请打印后扫描，或另存为普通 PDF 再上传。")


class PdfRejected(ValueError):
    """Not a PDF we accept; ``str()`` is a message for the person."""


@dataclass(frozen=True)
class CheckedPdf:
    data: bytes
    pages: int


def _decode_name(raw: bytes) -> str:
    return _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")


def _raw_names(data: bytes) -> set[str]:
    return {_decode_name(m.group(0)) for m in _NAME.finditer(data)}


def _walk_names(reader: Any) -> set[str]:
    """Every dictionary key and name value reachable from the trailer, through indirect
    references (object streams included, as pypdf resolves them)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    seen: set[tuple[int, int]] = set()
    names: set[str] = set()
    stack: list[Any] = [reader.trailer]
    visited = 0
    while stack:
        visited += 1
        if visited > MAX_OBJECTS:
            raise PdfRejected(_l("PDF 文件结构过于复杂，无法检查。"))
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            for name, value in obj.items():
                names.add(str(name))
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
        elif isinstance(obj, NameObject):
            names.add(str(obj))
    return names


def check(data: bytes) -> CheckedPdf:
    """``data`` if it is a PDF we accept (see the module doc); ``PdfRejected`` otherwise."""
    if not data:
        raise PdfRejected(_l("文件是空的。"))
    if len(data) > MAX_PDF_BYTES:
        raise PdfRejected(_l("PDF 文件超过 %(mb)s MB。", mb=MAX_PDF_BYTES // (1024 * 1024)))
    if not _HEADER.match(data):
        raise PdfRejected(_l("不是 PDF 文件。"))
    if b"%%EOF" not in data[-1024:]:
        raise PdfRejected(_l("PDF 文件不完整（可能上传中断）。"))
    if FORBIDDEN_NAMES & _raw_names(data):
        raise PdfRejected(ACTIVE)
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    from pypdf.generic import DictionaryObject

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfRejected(_l("PDF 文件已加密或设有密码，无法检查。请去掉密码后再上传。"))
        pages = len(reader.pages)
        if pages == 0:
            raise PdfRejected(_l("PDF 文件没有页面。"))
        if pages > MAX_PAGES:
            raise PdfRejected(_l("PDF 文件超过 %(pages)s 页。", pages=MAX_PAGES))
        for page in reader.pages:
            page.get_contents()
        names = _walk_names(reader)
        open_action = reader.trailer["/Root"].get_object().get("/OpenAction")
        if open_action is not None and isinstance(open_action.get_object(), DictionaryObject):
            raise PdfRejected(ACTIVE)
    except PdfRejected:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OSError, AssertionError):
        raise PdfRejected(_l("PDF 文件已损坏，无法读取。")) from None
    if FORBIDDEN_NAMES & names:
        raise PdfRejected(ACTIVE)
    return CheckedPdf(data, pages)
