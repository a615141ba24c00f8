"""The credit certificate as a one-page A4 PDF, drawn by fpdf2 (no browser involved).

Chinese text needs a CJK font embedded (subset by fpdf2); Debian's fonts-noto-cjk provides one.
Where that font is missing the PDF is not offered and the printable HTML page remains.

The certificate is official Chinese text in every language.  Asked for from a page in another
language (``labels``), each labelled line gets a small line under it with the label in that
language: English in the CJK font (it has Latin), Lao and Burmese in Noto Sans Lao / Myanmar
(fonts-noto-core) shaped by HarfBuzz (uharfbuzz), which Burmese needs to be readable.  Without the
script's font the labels are left out and the Chinese certificate is unchanged.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import segno

from portal.i18n import chinese_date as format_date
from portal.i18n import chinese_datetime as format_datetime
from portal.models import CreditCertificate
from portal.services.enterprises.credit import COUNT_LABELS, STATUS_LABELS

CJK_FONT_PATH = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
# The collection's faces are JP, KR, SC, TC, HK: the third draws Simplified Chinese glyphs.
CJK_FONT_INDEX_SC = 2
# Fonts for the labels in Lao and Burmese (Debian's fonts-noto-core).
SCRIPT_FONTS = {
    "lo": Path("/usr/share/fonts/truetype/noto/NotoSansLao-Regular.ttf"),
    "my": Path("/usr/share/fonts/truetype/noto/NotoSansMyanmar-Regular.ttf"),
}
ISSUER = "西双版纳傣族自治州应急管理局"
TITLE = "企业安全生产信用记录查询证明"
QR_SIZE_MM = 38
MARGIN_MM = 18


def available() -> bool:
    return CJK_FONT_PATH.is_file()


def _date_text(value: str) -> str:
    return format_date(date.fromisoformat(value))


def render(certificate: CreditCertificate, *, url: str, expires_on: date,
           language: str = "zh", labels: dict[str, str] | None = None) -> bytes:
    """The certificate's PDF bytes: the same statements as the printable page; with ``labels``
    (key → the label in ``language``) each labelled line carries its translation under it."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos

    said = certificate.snapshot
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=MARGIN_MM)
    pdf.set_title(f"{TITLE} {certificate.number}")
    pdf.set_creator(ISSUER)
    pdf.add_font("cjk", "", str(CJK_FONT_PATH), collection_font_number=CJK_FONT_INDEX_SC)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 11, height: float = 6.5, **kwargs) -> None:
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT,
                       wrapmode=WrapMode.CHAR, **kwargs)

    label_font = _label_font(pdf, language) if labels else None

    def label(key: str) -> None:
        """The translated label of the line above, small and grey (nothing in Chinese)."""
        if label_font is None or not labels or not labels.get(key):
            return
        pdf.set_font(label_font, size=8.5)
        pdf.set_text_color(90, 90, 90)
        pdf.multi_cell(width, 4.8, labels[key], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)

    qr = io.BytesIO()
    segno.make(url, error="m").save(qr, kind="png", scale=8, border=2)
    qr.seek(0)
    pdf.image(qr, x=pdf.w - MARGIN_MM - QR_SIZE_MM, y=MARGIN_MM, w=QR_SIZE_MM, h=QR_SIZE_MM)

    line(ISSUER, size=11)
    line(TITLE, size=18, height=10)
    label("title")
    line(f"证明编号：{certificate.number}", size=13, height=8)
    label("number")
    line(f"出具时间：{format_datetime(certificate.issued_at)}（北京时间）")
    label("issued")
    pdf.set_y(max(pdf.get_y(), MARGIN_MM + QR_SIZE_MM + 4))
    pdf.set_draw_color(164, 22, 26)
    pdf.line(MARGIN_MM, pdf.get_y(), pdf.w - MARGIN_MM, pdf.get_y())
    pdf.ln(4)

    line(f"企业名称：{said['name'] or '（本平台无该企业的公开记录）'}")
    label("name")
    line(f"统一社会信用代码：{said['uscc']}")
    label("uscc")
    line(f"出具时的状态：{STATUS_LABELS[said['status']]}", size=13, height=8)
    label("status")
    if said["active_listings"]:
        for entry in said["active_listings"]:
            line(
                f"· 列入日期 {_date_text(entry['listed_on'])}，公示期满日期 "
                f"{_date_text(entry['ends_on'])}；列入事由：{entry['grounds']}；"
                f"认定部门：{entry['department']}"
            )
        line("公示期内依法依规受到的限制：" + "、".join(said["restrictions"]))
        label("restrictions")
    for entry in said.get("major_hazards", []):
        line(f"· 重大事故隐患挂牌督办中：{entry['notice_no']}，{entry['title']}；"
             f"{_date_text(entry['listed_on'])}挂牌，整改期限 {_date_text(entry['due_on'])}")
    pdf.ln(2)
    line("出具时本平台公开的其他记录：")
    for key, counted in COUNT_LABELS.items():
        line(f"· {counted}：{said['counts'].get(key, 0)} 条")
        label(f"count_{key}")
    if said.get("last_changed"):
        line(f"记录最后更新：{format_datetime(datetime.fromisoformat(said['last_changed']))}")
        label("last_changed")
    pdf.ln(3)
    line(
        "说明：本证明仅反映出具时刻本平台公开的本局安全生产行政执法决定、事故调查报告和严重失信"
        "主体名单信息，不代表企业在其他部门、其他地区或其他领域的信用状况。",
        size=10, height=5.5,
    )
    line(
        f"核验：扫描右上角二维码，或访问 {url.split('?')[0]} 输入证明编号。"
        f"本证明可在 {format_date(expires_on)}（含）之前在线核验。",
        size=10, height=5.5,
    )
    label("check")
    return bytes(pdf.output())


def _label_font(pdf, language: str) -> str | None:
    """The font family for labels in ``language`` (registered on ``pdf``), or None."""
    if language == "en":
        return "cjk"
    path = SCRIPT_FONTS.get(language)
    if path is None or not path.is_file():
        return None
    pdf.add_font(language, "", str(path))
    try:
        pdf.set_text_shaping(True)  # HarfBuzz: Burmese marks and Lao vowels in place
    except ImportError:
        return None
    return language
