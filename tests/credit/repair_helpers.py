"""Helpers for the 信用修复 tests: PDFs made here, a listed enterprise, the applicant's journey."""

from __future__ import annotations

import io
import re
import zlib
from datetime import date

from flask.testing import FlaskClient

from tests import factories

APPLICANT = {
    "applicant_name": "岩温罕",
    "applicant_role": "法定代表人",
    "contact": "13988776655",
    "penalty_done": "罚款四十万元已于二〇二六年一月缴清，停产整顿已执行完毕（紫藤标记甲）。",
    "rectification": "更换全部通风设备，安全管理人员重新培训取证，经县应急局验收合格（紫藤标记乙）。",
}


def pdf_bytes(extra_catalog: bytes = b"", extra_objects: bytes = b"", pages: int = 1) -> bytes:
    """A small valid PDF; ``extra_catalog`` is added to the catalog dictionary."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + extra_catalog + b" >>",
        b"<< /Type /Pages /Kids [" + b" ".join(f"{3 + i} 0 R".encode() for i in range(pages))
        + b"] /Count " + str(pages).encode() + b" >>",
    ]
    for _ in range(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    out.write(extra_objects)
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
              .encode())
    return out.getvalue()


def pdf_with_compressed_javascript() -> bytes:
    """A PDF 1.5 whose JavaScript action is only inside a compressed object stream, found through
    a cross-reference stream: no forbidden name appears in the file's raw bytes."""
    hidden = b"<< /S /JavaScript /JS (app.alert(1)) >>"
    header = b"5 0 "
    stream = zlib.compress(header + hidden)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Extra 5 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Type /ObjStm /N 1 /First " + str(len(header)).encode() + b" /Filter /FlateDecode"
        b" /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.5\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref_offset = out.tell()
    rows = [bytes([0]) + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big")]
    rows += [bytes([1]) + o.to_bytes(4, "big") + (0).to_bytes(2, "big") for o in offsets]
    rows.append(bytes([2]) + (4).to_bytes(4, "big") + (0).to_bytes(2, "big"))  # obj 5 in 4
    rows.append(bytes([1]) + xref_offset.to_bytes(4, "big") + (0).to_bytes(2, "big"))
    data = zlib.compress(b"".join(rows))
    out.write(b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode"
              b" /Length " + str(len(data)).encode() + b" >>\nstream\n" + data
              + b"\nendstream\nendobj\n")
    out.write(f"startxref\n{xref_offset}\n%%EOF\n".encode())
    return out.getvalue()


def listed(listed_on: date = date(2025, 1, 10), **fields):
    """A published entry listed on ``listed_on`` (committed)."""
    from portal.extensions import db

    entry = factories.blacklist_entry(listed_on=listed_on, **fields)
    db.session.commit()
    return entry


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def fill_form(client: FlaskClient, uscc: str, commitment: bytes | None = None,
              evidence: list[bytes] = (), **fields):
    token = csrf_from(client.get("/credit/repair").get_data(as_text=True))
    data = {"csrf_token": token, "uscc": uscc, **APPLICANT, **fields}
    if commitment is not None:
        data["commitment"] = [(io.BytesIO(commitment), "承诺书.pdf")]
    if evidence:
        data["evidence"] = [(io.BytesIO(e), f"e{i}.pdf") for i, e in enumerate(evidence)]
    return client.post("/credit/repair", data=data, content_type="multipart/form-data")


def apply(client: FlaskClient, uscc: str) -> tuple[str, str]:
    """The whole journey: form, check, send; returns (number, access code)."""
    response = fill_form(client, uscc, commitment=pdf_bytes())
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get("/credit/repair/check").get_data(as_text=True)
    sent = client.post("/credit/repair/send", data={"csrf_token": csrf_from(page)})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200, html
    number = re.search(r"XF\d{4}-\d{6}", html).group(0)
    code = "".join(re.findall(r'class="code-group">([0-9A-Z]{4})', html))
    assert len(code) == 28
    return number, code
