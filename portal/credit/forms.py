"""Forms of the credit pages: the GET check and verification forms, the POST certificate request."""

from __future__ import annotations

from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.forms import PublicForm
from portal.translation import lazy_gettext as _l

# Generous bounds: a code is 18 characters, but people paste it with spaces or a label around;
# a signed verification code (or its whole URL) is a few hundred.
CODE_MAX_CHARS = 60
NAME_MAX_INPUT_CHARS = 200
VERIFY_MAX_CHARS = 2000


class CreditCheckForm(PublicForm):
    """``/credit?code=`` or ``?name=`` (a GET form that changes nothing)."""

    class Meta:
        csrf = False

    code = StringField(
        _l("统一社会信用代码"),
        validators=[Optional(), Length(max=CODE_MAX_CHARS, message=_l("输入过长，统一社会信用代码为 18 位。"))],
        description=_l("18 位，字母大小写、全角半角、空格均可。"),
    )
    name = StringField(
        _l("企业名称"),
        validators=[Optional(), Length(max=NAME_MAX_INPUT_CHARS, message=_l("输入过长。"))],
        description=_l("输入名称中连续的几个字即可（至少 2 个字）。"),
    )
    page = StringField(_l("页码"), validators=[Optional(), Regexp(r"^\d{1,6}$")])

    @property
    def asked(self) -> str | None:
        """Which lookup was asked for: ``code`` (it wins when both are given), ``name`` or None."""
        if self.code.raw_data and (self.code.data or "").strip():
            return "code"
        if self.name.raw_data and (self.name.data or "").strip():
            return "name"
        return None

    def page_number(self) -> int:
        raw = self.page.data or ""
        return int(raw) if raw.isdigit() and int(raw) >= 1 else 1


class CertificateRequestForm(PublicForm):
    """The button on a result page that issues a certificate (POST, CSRF)."""

    code = HiddenField(
        _l("统一社会信用代码"),
        validators=[DataRequired(message=_l("缺少统一社会信用代码。")), Length(max=CODE_MAX_CHARS)],
    )


class VerifyForm(PublicForm):
    """``/credit/verify?code=``: a certificate number typed in, or the signed code of a QR code."""

    class Meta:
        csrf = False

    code = StringField(
        _l("证明编号"),
        validators=[Optional(), Length(max=VERIFY_MAX_CHARS, message=_l("输入过长，请只输入证明编号。"))],
        description=_l("证明右上角的编号，如 XSBN-7KQ2-XM9D；大小写、空格和连字符均可。"),
    )
