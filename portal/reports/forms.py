"""Forms of the report pages: server-side checks with messages in the reader's language; CSRF on."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal import images
from portal.domain.catalog import COUNTIES
from portal.domain.credit_code import CreditCodeInvalid
from portal.domain.credit_code import parse as parse_credit_code
from portal.forms import PublicForm
from portal.i18n import REPORTER_WORDS, county_label
from portal.models import REPORT_KINDS
from portal.receipts import MAX_INPUT_CHARS
from portal.services.reporting import reports as service
from portal.services.reporting.reward_claims import PAYMENT_DETAILS_MAX
from portal.translation import gettext as _
from portal.translation import lazy_gettext as _l
from portal.translation import ngettext

# One sentence each on what counts (安全生产领域举报奖励办法 and DOMAIN.md §3).
KIND_HINTS = {
    "hazard": _l("可能导致群死群伤或重大损失、必须立即整治的危险状况，例如矿山超层越界开采、"
                 "危险化学品违规储存、在建工程脚手架或支护严重缺陷。"),
    "violation": _l("生产经营单位违反安全生产法律法规的行为，包括无证或证照过期仍在生产、"
                    "被责令停产后擅自生产、关闭安全设施、特种作业人员无证上岗等。"),
    "concealed_accident": _l("发生生产安全事故后不报告、少报伤亡人数或者编造事故经过、"
                             "伪造现场的行为。"),
}


REPORT_KIND_LABELS = REPORTER_WORDS["kind"]


def required(message: Any) -> DataRequired:
    """A required field, with its message (a lazy string: said in the reader's language)."""
    return DataRequired(message=message)


def at_most(limit: int) -> Length:
    """A length limit in characters (Python's ``len``: a Lao or Burmese combining mark counts as
    one, like a Chinese character), said in the reader's language."""
    return Length(max=limit, message=_l("最多 %(max)s 字。", max=limit))


# Said when the process is decoding as many photos as it may: the text the person typed is on
# the page again, but a file input cannot be filled in by the server.
DECODER_BUSY = _l("服务器正忙，请稍后再试：这次选择的照片没有保存，请稍等片刻后重新选择照片再提交。"
                  "您填写的文字已保留在本页。")


class PhotoUploads:
    """A form with a ``photos`` field: its uploads opened and cleaned by ``portal.images``.

    ``busy`` is set when no decode slot was free (``images.DecoderBusy``): nothing was
    decoded, and the view answers 503 without storing anything."""

    photos: MultipleFileField
    max_new_photos: int = service.MAX_PHOTOS
    # Said instead of the per-reply limit once the report has no room left.
    no_room_message: Any = _l("已有 %(n)s 张照片，不能再添加。", n=service.MAX_PHOTOS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clean_images: list[images.CleanImage] = []
        self.busy = False
        # The view holds a decode slot already (``images.decode_slot``) for these photos.
        self.slot_held = False

    def chosen_files(self) -> list[FileStorage]:
        """The files chosen in the photos field (a field left empty sends one without a name)."""
        return [f for f in (self.photos.data or []) if isinstance(f, FileStorage) and f.filename]

    def photos_chosen(self) -> bool:
        return bool(self.chosen_files())

    def validate_photos(self, field: MultipleFileField) -> None:
        files = self.chosen_files()
        if len(files) > self.max_new_photos:
            raise ValidationError(
                ngettext("最多还能上传 %(left)s 张照片，您选择了 %(chosen)s 张。",
                         "最多还能上传 %(left)s 张照片，您选择了 %(chosen)s 张。",
                         self.max_new_photos, left=self.max_new_photos, chosen=len(files))
                if self.max_new_photos else str(self.no_room_message)
            )
        problems = []
        if not files:
            return
        try:
            # One decode slot for all the photos of the request: between two photos another
            # upload would take it, and this one would end busy with its decodes thrown away
            # (under a flood, most decodes were; bench/abuse.py).
            with nullcontext() if self.slot_held else images.decode_slot():
                for number, upload in enumerate(files, start=1):
                    try:
                        # Read at most one byte past the limit: enough to know it is too large.
                        data = upload.stream.read(images.MAX_UPLOAD_BYTES + 1)
                        self.clean_images.append(images.clean(data, slot_held=True))
                    except images.ImageRejected as exc:
                        problems.append(_("第 %(number)s 张照片（%(name)s）：%(problem)s",
                                          number=number, name=upload.filename[:60],
                                          problem=exc))
        except images.DecoderBusy:
            self.busy = True
            self.clean_images = []
            raise ValidationError(str(DECODER_BUSY)) from None
        if problems:
            self.clean_images = []
            raise ValidationError(_("%(problems)s 这次选择的照片都未保存，请重新选择。",
                                    problems=_("；").join(problems)))


class ReportForm(PhotoUploads, PublicForm):
    kind = RadioField(
        _l("举报类别"),
        choices=[SelectChoice(value, REPORT_KIND_LABELS.get(value, label))
                 for value, label in REPORT_KINDS.items()],
        validators=[InputRequired(message=_l("请选择举报类别。"))],
    )
    enterprise_name = StringField(
        _l("被举报单位名称"),
        validators=[required(_l("请填写被举报单位名称。")), at_most(service.NAME_MAX)],
        description=_l("企业或单位的名称，不清楚全称可写常用名称或招牌上的字。"),
    )
    uscc = StringField(
        _l("统一社会信用代码（选填）"),
        validators=[Optional(), at_most(40)],
        description=_l("18 位，见营业执照；不知道可以不填。"),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    county = SelectField(
        _l("所在县（市、区）"),
        choices=[SelectChoice("", _l("请选择")),
                 *(SelectChoice(c, county_label(c), render_kw={"lang": "zh-CN"})
                   for c in COUNTIES)],
        validators=[InputRequired(message=_l("请选择县（市、区）。"))],
        validate_choice=True,
    )
    place = StringField(
        _l("具体地点"),
        validators=[required(_l("请填写具体地点。")), at_most(service.PLACE_MAX)],
        description=_l("乡镇、村寨、道路或厂区内的位置，便于核查人员找到。"),
    )
    description = TextAreaField(
        _l("看到了什么"),
        validators=[required(_l("请填写看到的情况。")), at_most(service.DESCRIPTION_MAX)],
        description=_l("写清楚存在什么问题、在哪里、涉及多少人或设备（最多 %(max)s 字）。"
                       "请不要写与问题无关的个人信息。", max=service.DESCRIPTION_MAX),
    )
    seen_since = StringField(
        _l("从什么时候开始"),
        validators=[required(_l("请填写开始的时间。")), at_most(service.SEEN_SINCE_MAX)],
        description=_l("例如：2026年10月起；上周三夜里；一直存在。"),
    )
    photos = MultipleFileField(
        _l("照片（选填）"),
        description=_l("最多 %(n)s 张，每张不超过 %(mb)s MB；JPEG、PNG、WebP 或 iPhone 的 HEIC。"
                       "照片会重新生成，拍摄地点、时间和手机型号等信息都会被去掉。",
                       n=service.MAX_PHOTOS, mb=images.MAX_UPLOAD_BYTES // (1024 * 1024)),
        render_kw={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic"},
    )
    callback = BooleanField(_l("请回电：我愿意留下联系方式，便于核查人员联系我"))
    contact = StringField(
        _l("联系方式"),
        validators=[at_most(service.CONTACT_MAX)],
        description=_l("只在勾选“请回电”时需要；加密保存，只有承办人员可见，您可以随时删除。"),
        render_kw={"autocomplete": "off"},
    )
    # Honeypot: a bot that fills every field fills it; people never meet it.  It is hidden by the
    # HTML itself (the ``hidden`` attribute, so a lost stylesheet cannot show it), from screen
    # readers (aria-hidden) and from the keyboard (tabindex -1), and its name and label contain
    # nothing that browsers or password managers autofill (``website``/网址 could be filled from
    # a contact card's homepage).  See ``reports.views.new`` for what a filled one does.
    extra_comment = StringField(_l("此栏请留空"), render_kw={"autocomplete": "off", "tabindex": "-1"})

    def validate_uscc(self, field: StringField) -> None:
        if field.data:
            try:
                field.data = parse_credit_code(field.data).value
            except CreditCodeInvalid as exc:
                raise ValidationError(str(exc)) from exc

    def validate_contact(self, field: StringField) -> None:
        if self.callback.data and not field.data:
            raise ValidationError(_("勾选了“请回电”，请填写联系方式；不希望被联系请取消勾选。"))

    def values(self) -> dict[str, Any]:
        """What the reporter typed, for the draft (contact only with 请回电)."""
        values = {name: self[name].data or "" for name in service.FIELDS}
        values["callback"] = bool(self.callback.data)
        if not values["callback"]:
            values["contact"] = ""
        return values


class CodeForm(PublicForm):
    code = StringField(
        _l("回执码"),
        validators=[required(_l("请填写回执码。")), at_most(MAX_INPUT_CHARS)],
        description=_l("提交举报时得到的 28 位回执码（字母和数字，不区分大小写，可带或不带短横线）。"),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )


class CaseForm(PublicForm):
    """A form on the case page: the receipt code travels in the POST body, never elsewhere."""

    code = HiddenField()


class ReplyForm(PhotoUploads, CaseForm):
    body = TextAreaField(
        _l("补充说明或回复承办人员"),
        validators=[required(_l("请填写要补充的内容。")), at_most(service.MESSAGE_MAX)],
    )
    photos = MultipleFileField(
        _l("添加照片（选填）"),
        description=_l("每次最多 %(n)s 张，每张不超过 %(mb)s MB；每份举报连同补充最多 %(total)s 张。",
                       n=service.MAX_PHOTOS, mb=images.MAX_UPLOAD_BYTES // (1024 * 1024),
                       total=service.MAX_PHOTOS_PER_REPORT),
        render_kw={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic"},
    )


class ReopenForm(CaseForm):
    reason = TextAreaField(
        _l("仍未整改的情况"),
        validators=[required(_l("请填写仍未整改的情况。")), at_most(service.MESSAGE_MAX)],
        description=_l("例如：设备仍在使用、停工后又恢复生产、隐患只是被遮挡。"),
    )


class TransferClaimForm(CaseForm):
    payment_details = TextAreaField(
        _l("收款信息"),
        validators=[required(_l("请填写收款信息。")), at_most(PAYMENT_DETAILS_MAX)],
        description=_l("开户银行、户名和账号。加密保存，只用于发放奖励，您可以随时删除。"),
    )


class SlipClaimForm(CaseForm):
    pass


class SlipCopyForm(CaseForm):
    """Download or print the slip just shown: it comes back from the page, checked against
    the stored hash before it is written out again."""

    slip = HiddenField(validators=[DataRequired(), Length(max=MAX_INPUT_CHARS)])


class EraseForm(CaseForm):
    confirm = BooleanField(
        _l("我确认删除联系方式和收款信息（尚未发放的奖励需要重新申领）"),
        validators=[DataRequired(message=_l("请勾选确认。"))],
    )
