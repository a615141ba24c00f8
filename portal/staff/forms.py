"""Back-office forms: server-side validation with messages in Chinese (WTForms' own ones too:
``portal.forms.StaffForm``); CSRF on (Flask-WTF)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from portal import kinds
from portal.audit import ACTIONS, OBJECT_KINDS
from portal.credentials import PASSWORD_MAX_LENGTH, PasswordTooWeak, check_password_policy
from portal.domain import supervision as supervision_rules
from portal.domain.accidents import AccidentLevel
from portal.domain.blacklist import (
    ENTERPRISE,
    PERSON,
    SUBJECT_TYPES,
    IdNumberInvalid,
    mask_id_number,
)
from portal.domain.catalog import (
    ACCIDENT_ASSESSMENT_YEARS,
    BLACKLIST_GROUNDS,
    COUNTIES,
    DECISION_TYPES,
    FINE_ONLY_ON_PENALTY,
    POWER_TYPES,
    REPORT_EXTENSION_DAYS,
    SECTORS,
    decision_deadline_text,
    fine_allowed,
)
from portal.domain.credit_code import CreditCodeInvalid, parse
from portal.fieldspec import label as _label
from portal.forms import StaffForm
from portal.models import (
    CLOSED_AS,
    REPORT_KINDS,
    REPORT_STATES,
    REWARD_STATES,
    VERIFICATION_RESULTS,
    local_today,
)
from portal.staff import accounts
from portal.staff.models import ROLES

DEFAULT_DEPARTMENT = "西双版纳州应急管理局"
CENTS = Decimal("0.01")


def required(what: str) -> DataRequired:
    return DataRequired(message=f"请填写{what}。")


def choices(values: Any, blank: str | None = None) -> list[SelectChoice]:
    """Options from a tuple of values (label = value) or a dict of value → label."""
    pairs = values.items() if isinstance(values, dict) else ((v, v) for v in values)
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# ---------------------------------------------------------------- sign-in and accounts


class LoginForm(StaffForm):
    username = StringField("用户名", validators=[required("用户名"), Length(max=80)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField("密码", validators=[required("密码"), Length(max=PASSWORD_MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})
    code = StringField(
        "动态验证码",
        validators=[Optional(), Length(max=12)],
        description="身份验证器应用中显示的 6 位数字。首次登录尚未绑定时可留空。",
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    next = HiddenField()


class EnrolForm(StaffForm):
    code = StringField(
        "动态验证码",
        validators=[required("动态验证码"), Length(max=12)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )


def _policy(form: Any, field: Any) -> None:
    try:
        check_password_policy(field.data or "")
    except PasswordTooWeak as exc:
        raise ValidationError(str(exc)) from exc


class NewPasswordMixin:
    password = PasswordField("新密码", validators=[required("新密码"), _policy],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        "再次输入新密码",
        validators=[required("确认密码"), EqualTo("password", message="两次输入的密码不一致。")],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(NewPasswordMixin, StaffForm):
    current = PasswordField("当前密码", validators=[required("当前密码")],
                            render_kw={"autocomplete": "current-password"})


class PasswordResetForm(NewPasswordMixin, StaffForm):
    pass


ROLE_CHOICES = choices(ROLES)


def _optional_int(value: Any) -> int | None:
    """The department select's value: an id, or None for "not set" (blank)."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a choice: validate_choice reports it


DEPARTMENT_HINT = ("信用修复申请和异议只能由列入名单、发布该信息的部门的人员办理；"
                   "未设定部门的账户只能查看。")


class AccountForm(NewPasswordMixin, StaffForm):
    username = StringField(
        "用户名",
        validators=[required("用户名"), Length(min=3, max=40)],
        description="3–40 位小写字母、数字或 . _ -。",
    )
    display_name = StringField("姓名", validators=[Optional(), Length(max=80)])
    roles = MultiCheckboxField("角色", choices=ROLE_CHOICES,
                               validators=[DataRequired(message="请至少选择一个角色。")])
    department = SelectField("所属部门", coerce=_optional_int, validate_choice=True,
                             description=DEPARTMENT_HINT)
    password = PasswordField("初始密码", validators=[required("初始密码"), _policy],
                             render_kw={"autocomplete": "new-password"})

    def validate_username(self, field: StringField) -> None:
        # The service checks the rule again; checking it here too shows every problem of the
        # form at once instead of the username's only after the others are fixed.
        try:
            accounts.check_username(field.data)
        except accounts.UsernameInvalid as exc:
            raise ValidationError(str(exc)) from exc


class RolesForm(StaffForm):
    roles = MultiCheckboxField("角色", choices=ROLE_CHOICES)


class DepartmentForm(StaffForm):
    department = SelectField("所属部门", coerce=_optional_int, validate_choice=True,
                             description=DEPARTMENT_HINT)


def department_choices(departments: Any) -> list[tuple[int | None, str]]:
    """The department select's options: "not set" and the departments the portal knows."""
    return [(None, "（未设定）"), *((d.id, d.name) for d in departments)]


class CountiesForm(StaffForm):
    counties = MultiCheckboxField("负责的县（市、区）", choices=choices(COUNTIES),
                                  description="这些县（市、区）的新举报自动分配给此人（须有举报处理角色）。")


# ---------------------------------------------------------------- the four kinds


def _credit_code(optional: bool):
    def check(form: Any, field: Any) -> None:
        if optional and not (field.data or "").strip():
            field.data = ""
            return
        try:
            field.data = str(parse(field.data or ""))
        except CreditCodeInvalid as exc:
            raise ValidationError(str(exc)) from exc

    return check


EARLIEST_DATE = date(1950, 1, 1)
LATEST_DATE = date(2099, 12, 31)


def plausible_date(form: Any, field: Any) -> None:
    """Stop at dates no record can have (and that would overflow date arithmetic)."""
    if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise StopValidation("日期超出有效范围，请核对。")


def finite_amount(form: Any, field: Any) -> None:
    if field.data is not None and not field.data.is_finite():
        raise StopValidation("请填写有效的金额。")


def _not_future(form: Any, field: Any) -> None:
    if field.data and field.data > local_today():
        raise ValidationError("日期不能晚于今天。")


REASON_LENGTH_EARLY = Length(min=4, max=2000, message="请填写 4–2000 个字。")


class ItemForm(StaffForm):
    """Base of the four kinds: ``values()`` is what the publishing service takes."""

    department_name = StringField(
        "责任单位", default=DEFAULT_DEPARTMENT, validators=[required("责任单位"), Length(max=120)]
    )
    FIELDS: tuple[str, ...] = ()

    def values(self) -> dict[str, Any]:
        values = {name: self[name].data for name in self.FIELDS}
        for name, value in values.items():
            if isinstance(value, str):
                values[name] = value.strip()
            elif isinstance(value, Decimal):
                values[name] = value.quantize(CENTS)  # as stored: Numeric(16, 2)
        values["department_name"] = self.department_name.data.strip()
        return values

    def fill_from(self, item: Any) -> None:
        for name in self.FIELDS:
            self[name].data = getattr(item, name)
        self.department_name.data = item.department.name if item.department else ""


class PowerForm(ItemForm):
    code = StringField(_label("powers", "code"), validators=[required("编码"), Length(max=40)])
    name = StringField(_label("powers", "name"), validators=[required("职权名称"), Length(max=200)])
    power_type = SelectField(_label("powers", "power_type"), choices=choices(POWER_TYPES))
    legal_basis = TextAreaField(_label("powers", "legal_basis"), validators=[required("实施依据"), Length(max=20000)])
    responsibilities = TextAreaField(_label("powers", "responsibilities"), validators=[Length(max=20000)])
    accountability = TextAreaField(_label("powers", "accountability"), validators=[Length(max=20000)])
    workflow_text = TextAreaField(
        "流程", validators=[Length(max=5000)], description="每行一个步骤，按先后顺序。"
    )
    remarks = TextAreaField(_label("powers", "remarks"), validators=[Length(max=5000)])
    FIELDS = ("code", "name", "power_type", "legal_basis", "responsibilities",
              "accountability", "remarks")

    def values(self) -> dict[str, Any]:
        values = super().values()
        lines = (self.workflow_text.data or "").splitlines()
        values["workflow"] = [line.strip() for line in lines if line.strip()]
        return values

    def fill_from(self, item: Any) -> None:
        super().fill_from(item)
        self.workflow_text.data = "\n".join(item.workflow or [])


class DecisionForm(ItemForm):
    document_no = StringField(_label("decisions", "document_no"), validators=[required("文号"), Length(max=80)],
                              description="例如：西应急罚〔2026〕12号")
    decision_type = SelectField(_label("decisions", "decision_type"), choices=choices(DECISION_TYPES),
                                description=decision_deadline_text())
    party_name = StringField(_label("decisions", "party_name"), validators=[required("当事人名称"), Length(max=200)],
                             description="没有统一社会信用代码的当事人按自然人公开：只公开姓氏（如“张某”），地址只公开到县（市、区）。")
    uscc = StringField(_label("decisions", "uscc"), validators=[_credit_code(optional=True)],
                       description="当事人为单位时必填的 18 位代码；自然人留空。")
    party_address = StringField(_label("decisions", "party_address"), validators=[Length(max=300)])
    county = SelectField(_label("decisions", "county"), choices=choices(COUNTIES, "（请选择）"),
                         validators=[required("县（市、区）")])
    sector = SelectField(_label("decisions", "sector"), choices=choices(SECTORS, "（请选择）"),
                         validators=[required("行业领域")])
    facts = TextAreaField(_label("decisions", "facts"), validators=[required(_label("decisions", "facts")), Length(max=50000)])
    legal_basis = TextAreaField(_label("decisions", "legal_basis"),
                                validators=[required(_label("decisions", "legal_basis")), Length(max=20000)])
    penalty = TextAreaField(_label("decisions", "penalty"), validators=[required(_label("decisions", "penalty")), Length(max=20000)])
    fine_yuan = DecimalField(_label("decisions", "fine_yuan") + "（元）", places=2,
                             description="只有行政处罚决定可以处以罚款；其他类型留空。",
                             validators=[Optional(), finite_amount,
                                         NumberRange(min=0, message="金额不能为负数。")])
    compliance = TextAreaField(_label("decisions", "compliance"), validators=[Length(max=20000)])
    remedy = TextAreaField(_label("decisions", "remedy"), validators=[Length(max=20000)])
    decision_date = DateField(_label("decisions", "decision_date"), validators=[InputRequired(message="请填写决定日期。"), plausible_date,
                                                  _not_future])
    FIELDS = ("document_no", "decision_type", "party_name", "uscc", "party_address", "county",
              "sector", "facts", "legal_basis", "penalty", "fine_yuan", "compliance", "remedy",
              "decision_date")

    def validate_fine_yuan(self, field: Any) -> None:
        if field.data is not None and field.data > Decimal("100000000000"):
            raise ValidationError("金额过大，请核对。")
        if field.data is not None and not fine_allowed(self.decision_type.data):
            raise ValidationError(FINE_ONLY_ON_PENALTY)


class AccidentForm(ItemForm):
    title_text = StringField(_label("accidents", "title_text"), validators=[required("标题"), Length(max=200)])
    occurred_on = DateField(_label("accidents", "occurred_on"), validators=[InputRequired(message="请填写事故日期。"), plausible_date,
                                                _not_future])
    county = SelectField(_label("accidents", "county"), choices=choices(COUNTIES, "（请选择）"),
                         validators=[required("县（市、区）")])
    sector = SelectField(_label("accidents", "sector"), choices=choices(SECTORS, "（请选择）"),
                         validators=[required("行业领域")])
    enterprise_name = StringField(_label("accidents", "enterprise_name"), validators=[required("事故单位"), Length(max=200)])
    uscc = StringField(_label("accidents", "uscc"), validators=[_credit_code(optional=True)])
    deaths = IntegerField(_label("accidents", "deaths"), default=0, validators=[
        InputRequired(message="请填写死亡人数。"), NumberRange(min=0, max=100000, message="请填写 0 或正整数。")])
    serious_injuries = IntegerField(_label("accidents", "serious_injuries") + "（含急性工业中毒）", default=0, validators=[
        InputRequired(message="请填写重伤人数。"), NumberRange(min=0, max=100000, message="请填写 0 或正整数。")])
    direct_loss_yuan = DecimalField(_label("accidents", "direct_loss_yuan") + "（元）", places=2, default=Decimal(0), validators=[
        InputRequired(message="请填写直接经济损失。"), finite_amount,
        NumberRange(min=0, max=10**12, message="请填写 0 或正数。")])
    summary = TextAreaField(_label("accidents", "summary"), validators=[required("事故概要"), Length(max=5000)])
    report_source = TextAreaField(
        "报告全文（Markdown）",
        validators=[required("报告全文"), Length(max=500000)],
        description="依法全文公开。可用 Markdown：## 标题、列表、表格；HTML 会被清理。",
    )
    approved_on = DateField(_label("accidents", "approved_on"), validators=[Optional(), plausible_date, _not_future],
                            description="人民政府批复后方可公开；整改评估期限自批复日起 "
                                        f"{ACCIDENT_ASSESSMENT_YEARS} 年。")
    assessment_published_on = DateField(_label("accidents", "assessment_published_on"),
                                        validators=[Optional(), plausible_date, _not_future])
    FIELDS = ("title_text", "occurred_on", "county", "sector", "enterprise_name", "uscc",
              "deaths", "serious_injuries", "direct_loss_yuan", "summary", "report_source",
              "approved_on", "assessment_published_on")

    def fill_from(self, item: Any) -> None:
        super().fill_from(item)
        # Imported reports have only their HTML; Markdown leaves such HTML as it is.
        self.report_source.data = item.report_source or item.report_html

    def validate_approved_on(self, field: Any) -> None:
        if field.data and self.occurred_on.data and field.data < self.occurred_on.data:
            raise ValidationError("批复日期不能早于事故日期。")

    def validate_assessment_published_on(self, field: Any) -> None:
        if field.data and not self.approved_on.data:
            raise ValidationError("请先填写批复日期。")
        if field.data and self.approved_on.data and field.data < self.approved_on.data:
            raise ValidationError("整改评估不能早于批复日期。")


class BlacklistForm(ItemForm):
    subject_type = SelectField(_label("blacklist", "subject_type"),
                               choices=[SelectChoice(k, v) for k, v in SUBJECT_TYPES.items()],
                               default=ENTERPRISE, validators=[required("主体类型")],
                               description="有关人员：下面填写其所在单位的名称和代码，以及本人的姓名、职务和身份证号码。")
    uscc = StringField(_label("blacklist", "uscc"), validators=[_credit_code(optional=False)])
    enterprise_name = StringField(_label("blacklist", "enterprise_name"), validators=[required("单位名称"), Length(max=200)])
    person_name = StringField(_label("blacklist", "person_name"), validators=[Length(max=60)],
                              description="仅有关人员填写。")
    person_role = StringField(_label("blacklist", "person_role"), validators=[Length(max=60)],
                              description="仅有关人员填写，如：主要负责人、安全评价师。")
    person_id_masked = StringField("有关人员身份证号码", validators=[Length(max=40)],
                                   description="仅有关人员填写。保存时只留前 4 位，其余以 * 代替；不填写住址。",
                                   render_kw={"autocomplete": "off"})
    county = SelectField(_label("blacklist", "county"), choices=choices(COUNTIES, "（请选择）"),
                         validators=[required("县（市、区）")])
    sector = SelectField(_label("blacklist", "sector"), choices=choices(SECTORS, "（请选择）"),
                         validators=[required("行业领域")])
    grounds = SelectField(_label("blacklist", "grounds"), choices=choices(BLACKLIST_GROUNDS, "（请选择）"),
                          validators=[required("列入事由")])
    basis = StringField(_label("blacklist", "basis"), validators=[required("列入决定文书"), Length(max=500)],
                        description="作出列入决定的文书名称和文号。")
    listed_on = DateField(_label("blacklist", "listed_on"), validators=[InputRequired(message="请填写列入日期。"),
                                                plausible_date],
                          description="届满日期按规定的列入期限自动计算。")
    department_name = StringField(_label("blacklist", "department_name"), default=DEFAULT_DEPARTMENT,
                                  validators=[required("认定部门"), Length(max=120)])
    FIELDS = ("subject_type", "uscc", "enterprise_name", "person_name", "person_role",
              "person_id_masked", "county", "sector", "grounds", "basis", "listed_on")

    def validate_person_id_masked(self, field: Any) -> None:
        if self.subject_type.data == PERSON:
            try:
                mask_id_number(field.data or "")
            except IdNumberInvalid as exc:
                raise ValidationError(str(exc)) from None

    def validate_person_name(self, field: Any) -> None:
        if self.subject_type.data == PERSON and not (field.data or "").strip():
            raise ValidationError("请填写有关人员姓名。")

    def validate_person_role(self, field: Any) -> None:
        if self.subject_type.data == PERSON and not (field.data or "").strip():
            raise ValidationError("请填写有关人员职务。")


class SupervisionForm(ItemForm):
    """A 督办通知书: the draft of a 督办事项 (its stages are recorded afterwards, step by step)."""

    notice_no = StringField(_label("supervision", "notice_no"),
                            validators=[required("督办编号"), Length(max=80)],
                            description="督办通知书编号，如“西安委督〔2026〕3号”。")
    supervision_type = SelectField(_label("supervision", "supervision_type"),
                                   choices=choices(supervision_rules.TYPES, "（请选择）"),
                                   validators=[required("督办类型")])
    grade = SelectField(_label("supervision", "grade"),
                        choices=choices(supervision_rules.GRADES, "（请选择）"),
                        validators=[required("督办级别")],
                        description="重大事故隐患由州政府或州直部门挂牌；一般事故隐患由县（市）政府或其部门挂牌。")
    title_text = StringField(_label("supervision", "title_text"),
                             validators=[required("督办对象"), Length(max=200)],
                             description="例如：“某公司液氨储罐区重大事故隐患”。")
    enterprise_name = StringField(_label("supervision", "enterprise_name"),
                                  validators=[Length(max=200)])
    uscc = StringField(_label("supervision", "uscc"), validators=[_credit_code(optional=True)])
    accident_id = IntegerField(_label("supervision", "accident_id"),
                               validators=[Optional(), NumberRange(min=1, max=2**31 - 1,
                                                                   message="请填写事故调查报告的编号。")],
                               description="事故查处挂牌督办必填：所督办事故的调查报告编号（/accidents/编号）。")
    county = SelectField(_label("supervision", "county"), choices=choices(COUNTIES, "（请选择）"),
                         validators=[required("县（市、区）")])
    sector = SelectField(_label("supervision", "sector"), choices=choices(SECTORS, "（请选择）"),
                         validators=[required("行业领域")])
    responsible_unit = StringField(_label("supervision", "responsible_unit"),
                                   validators=[required("责任单位"), Length(max=200)])
    requirements_source = TextAreaField(
        _label("supervision", "requirements_html"),
        validators=[required("督办要求"), Length(max=50000)],
        description="须完成的整改或查处工作。可用 Markdown：列表、加粗；HTML 会被清理。",
    )
    lifting = TextAreaField(_label("supervision", "lifting"),
                            validators=[required("解除方式和程序"), Length(max=5000)],
                            description="例如：整改完成后由企业提出销号申请，挂牌单位10日内现场审查，合格的予以销号并公开。")
    listed_on = DateField(_label("supervision", "listed_on"),
                          validators=[InputRequired(message="请填写挂牌日期。"), plausible_date,
                                      _not_future],
                          description=f"挂牌决定作出后 {supervision_rules.PUBLISH_WORKING_DAYS} 个工作日内公开。")
    deadline = DateField(_label("supervision", "deadline"),
                         validators=[Optional(), plausible_date],
                         description=f"最长 {supervision_rules.MAX_RECTIFICATION_YEARS} 年；"
                                     f"事故查处督办留空即为挂牌后 {supervision_rules.ACCIDENT_SUPERVISION_DAYS} 日。")
    department_name = StringField(_label("supervision", "department"), default=DEFAULT_DEPARTMENT,
                                  validators=[required("挂牌单位"), Length(max=120)])
    FIELDS = ("notice_no", "supervision_type", "grade", "title_text", "enterprise_name", "uscc",
              "accident_id", "county", "sector", "responsible_unit", "requirements_source",
              "lifting", "listed_on", "deadline")

    def validate(self, extra_validators: Any = None) -> bool:
        # Rules across fields run here: an optional field's own validators stop when it is empty.
        valid = super().validate(extra_validators)
        hazard = self.supervision_type.data == supervision_rules.HAZARD
        accident = self.supervision_type.data == supervision_rules.ACCIDENT

        def fail(field: Any, message: str) -> None:
            nonlocal valid
            if not field.errors:
                field.errors = [*field.errors, message]
            valid = False

        if accident and not self.accident_id.data and not self.accident_id.errors:
            fail(self.accident_id, "事故查处挂牌督办请填写所督办事故的调查报告编号。")
        if hazard and not (self.enterprise_name.data or "").strip():
            fail(self.enterprise_name, "隐患挂牌督办请填写存在隐患的企业（单位）名称。")
        if self.deadline.data is None and hazard and not self.deadline.errors:
            fail(self.deadline, "请填写整改期限。")
        if self.deadline.data and self.listed_on.data and not self.deadline.errors:
            try:
                supervision_rules.check_deadline(self.listed_on.data, self.deadline.data)
            except supervision_rules.StepRefused as exc:
                fail(self.deadline, str(exc))
        return valid


def _step_note() -> TextAreaField:
    return TextAreaField("公开说明", validators=[Optional(), Length(max=2000)],
                         description="将在督办事项页面的办理进程中公开；不得写入举报人的信息或举报内容。")


class SupervisionStepForm(StaffForm):
    """One step of a 督办事项: its date and the note published with it."""

    on = DateField("日期", validators=[InputRequired(message="请填写日期。"), plausible_date])
    note = _step_note()


class SupervisionInspectionForm(SupervisionStepForm):
    on = DateField("现场审查（验收）日期", validators=[InputRequired(message="请填写日期。"), plausible_date])
    result = SelectField("审查结论", choices=choices({"passed": "合格", "failed": "不合格，退回整改"}, "（请选择）"),
                         validators=[required("审查结论")])
    note = _step_note()


class SupervisionExtensionForm(SupervisionStepForm):
    applied_on = DateField("延期申请日期", validators=[InputRequired(message="请填写延期申请日期。"),
                                                   plausible_date])
    on = DateField("批准延期日期", validators=[InputRequired(message="请填写日期。"), plausible_date])
    new_deadline = DateField("延长后的期限", validators=[InputRequired(message="请填写延长后的期限。"),
                                                   plausible_date])
    reason = TextAreaField("延期理由", validators=[required("延期理由"), REASON_LENGTH_EARLY])
    note = _step_note()


class SupervisionPhotoForm(StaffForm):
    """One rectification photo of a 督办事项: the file, before or after, the stage it belongs to,
    and its public caption (also the image's alt text).  The view fills ``stage``'s choices."""

    photo = FileField(
        "照片",
        description="一次一张，不超过 10 MB；JPEG、PNG、WebP 或 HEIC。照片会重新生成，"
                    "拍摄地点、时间和设备等信息都会被去掉。只上传整改现场的照片，不要上传举报人提供的照片。",
        render_kw={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic"},
    )
    phase = SelectField("整改前或整改后", choices=choices({"before": "整改前", "after": "整改后"},
                                                   "（请选择）"),
                        validators=[required("整改前或整改后")])
    stage = SelectField("所属办理环节", validators=[required("所属办理环节")],
                        description="照片的日期按该环节的日期公开。")
    caption = StringField(
        "照片说明",
        validators=[required("照片说明"), Length(max=100, message="照片说明最多 100 个字。")],
        description="公开显示在照片下方，也是图片的替代文字（读屏软件读出），"
                    "写清楚拍的是什么，例如：“储罐区防火堤已修复，整改后”。不要写人名、电话等个人信息。",
    )


# Each kind's form, named in its declaration (portal.kinds).
ITEM_FORMS: dict[str, type[ItemForm]] = {k.key: globals()[k.staff_form] for k in kinds.KINDS}


# ---------------------------------------------------------------- workflow steps


class WithdrawForm(StaffForm):
    reason = TextAreaField(
        "撤回理由",
        validators=[required("撤回理由"), Length(min=4, max=2000, message="撤回理由为 4–2000 个字。")],
        description="将与原页面一同公开，例如：“该决定已被复议机关撤销（某复决字〔2026〕1号）”。",
    )


class WithdrawalRequestForm(StaffForm):
    changed_on = DateField("决定变更、撤销或确认无效的日期",
                           validators=[InputRequired(message="请填写日期。"), plausible_date,
                                       _not_future])
    reason = TextAreaField("情况说明", validators=[required("情况说明"),
                                                Length(min=4, max=2000, message="请填写 4–2000 个字。")])


class RemovalForm(StaffForm):
    removed_on = DateField("移出日期", validators=[InputRequired(message="请填写移出日期。"),
                                                 plausible_date])
    reason = TextAreaField("信用修复理由", validators=[required("信用修复理由"),
                                                  Length(min=4, max=2000, message="请填写 4–2000 个字。")])


class ReinstateForm(StaffForm):
    reason = TextAreaField(
        "恢复列入理由",
        validators=[required("恢复列入理由"), Length(min=4, max=2000, message="请填写 4–2000 个字。")],
        description="例如：信用修复申请材料弄虚作假，撤销移出决定。",
    )


# ---------------------------------------------------------------- filters (GET, no CSRF)


class ListFilterForm(StaffForm):
    class Meta:
        csrf = False

    q = StringField("关键词", validators=[Optional(), Length(max=100)])
    state = SelectField(
        "状态",
        choices=choices({"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}, "全部"),
        validators=[Optional()],
    )


class AuditFilterForm(StaffForm):
    class Meta:
        csrf = False

    actor = StringField("操作人", validators=[Optional(), Length(max=80)])
    action = SelectField("操作", choices=choices(ACTIONS, "全部"), validators=[Optional()])
    object_kind = SelectField("对象类型", choices=choices(OBJECT_KINDS, "全部"),
                              validators=[Optional()])
    object_id = StringField("对象编号", validators=[Optional(), Length(max=40)])
    date_from = DateField("起始日期", validators=[Optional(), plausible_date])
    date_to = DateField("截止日期", validators=[Optional(), plausible_date])

    def validate_date_to(self, field: Any) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("截止日期不能早于起始日期。")


def page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 100000))
    except ValueError:
        return 1


# ---------------------------------------------------------------- reports and rewards
# Several of these forms share the report page, so their fields have names of their own (the
# ids on the page stay unique); each form posts to its own URL.

REASON_LENGTH = Length(min=4, max=2000, message="请填写 4–2000 个字。")


class ActionForm(StaffForm):
    """A step that needs nothing but a button (accept, propose a reward, approve): CSRF only."""


class DeclineForm(StaffForm):
    decline_reason = TextAreaField(
        "不予受理的理由", validators=[required("不予受理的理由"), REASON_LENGTH],
        description="举报人凭回执码查询时可以看到。",
    )


class MessageForm(StaffForm):
    message_body = TextAreaField(
        "消息", validators=[required("消息内容"), Length(max=5000, message="不能超过 5000 个字。")],
        description="举报人凭回执码查询时可以看到并回复。",
    )


class ExtendForm(StaffForm):
    extend_days = IntegerField(
        "延长天数", validators=[InputRequired(message="请填写延长天数。"),
                           NumberRange(min=1, max=REPORT_EXTENSION_DAYS,
                                       message=f"请填写 1–{REPORT_EXTENSION_DAYS}。")],
        description=f"核查期限只能延长一次，最多 {REPORT_EXTENSION_DAYS} 天。",
        render_kw={"inputmode": "numeric"},
    )
    extend_reason = TextAreaField("延期理由", validators=[required("延期理由"), REASON_LENGTH],
                                  description="仅工作人员可见；举报人只会看到奖励未获批准、将进行复核。")


LEVEL_CHOICES = choices({str(int(level)): level.label for level in reversed(AccidentLevel)},
                        "（请选择）")


class VerifyForm(StaffForm):
    result = SelectField("核查结果", choices=choices(VERIFICATION_RESULTS, "（请选择）"),
                         validators=[required("核查结果")])
    concealed_deaths = IntegerField(
        "核实的瞒报死亡人数", validators=[Optional(), NumberRange(min=0, max=10000,
                                                          message="请填写 0 或正整数。")],
        description="举报反映瞒报谎报事故的填写（隐患、违法举报同时查实瞒报死亡的也填写）："
                    "这一部分的奖励按瞒报死亡人数和最终认定的事故等级计算。",
        render_kw={"inputmode": "numeric"},
    )
    confirmed_level = SelectField("最终认定的事故等级", choices=LEVEL_CHOICES,
                                  validators=[Optional()],
                                  description="登记了瞒报死亡人数的必选。")

    def level(self) -> int | None:
        return int(self.confirmed_level.data) if self.confirmed_level.data else None


class LinkDecisionForm(StaffForm):
    document_no = StringField("处罚决定文号", validators=[required("处罚决定文号"), Length(max=80)],
                              description="例如：西应急罚〔2026〕12号。决定须已在“执法决定”中录入。")
    hazard_fine_yuan = DecimalField(
        "其中对举报的隐患或违法行为的罚款（元）", places=2,
        validators=[Optional(), finite_amount, NumberRange(min=0, message="金额不能为负数。")],
        description="可不填：隐患、违法举报按决定的全部罚款计算奖励。决定同时处罚瞒报事故的，"
                    "或瞒报事故举报同时查实了隐患、违法行为的，填写其中对隐患或违法行为的罚款。",
        render_kw={"inputmode": "decimal"},
    )


class DuplicateForm(StaffForm):
    original_number = StringField(
        "先前举报的编号", validators=[required("先前举报的编号"), Length(max=20)],
        description="例如 JB2026-000012。举报人会被告知已与先前举报合并办理，同一事项只奖励最先受理的举报。",
    )

    def validate_original_number(self, field: Any) -> None:
        if self.original_id() is None:
            raise ValidationError("请填写举报编号，如 JB2026-000012。")

    def original_id(self) -> int | None:
        match = re.fullmatch(r"\s*(?:JB\d{4}-)?0*(\d{1,9})\s*", (self.original_number.data or "").upper())
        return int(match.group(1)) if match else None


class CloseForm(StaffForm):
    closed_as = SelectField(
        "办结方式",
        choices=choices({k: v for k, v in CLOSED_AS.items() if k != "duplicate"}, "（请选择）"),
        validators=[required("办结方式")],
    )
    close_note = TextAreaField("办结说明", validators=[Optional(), Length(max=2000)],
                               description="可选，举报人可以看到。")


class ReopenForm(StaffForm):
    reopen_outcome = SelectField(
        "处理方式",
        choices=choices({"accept": "重新核查", "close": "维持办结"}, "（请选择）"),
        validators=[required("处理方式")],
    )
    reopen_note = TextAreaField("给举报人的说明", validators=[required("给举报人的说明"), REASON_LENGTH])


class RejectRewardForm(StaffForm):
    reject_reason = TextAreaField("驳回理由", validators=[required("驳回理由"), REASON_LENGTH],
                                  description="举报人可以看到。")


class ClaimSlipForm(StaffForm):
    slip = TextAreaField(
        "领奖凭证", validators=[required("领奖凭证"), Length(max=1000)],
        description="举报人出示的领奖凭证：5 组、每组 4 个字母或数字，大小写、空格和短横线均可。",
    )


class PaymentForm(StaffForm):
    paid_on = DateField("发放日期", validators=[InputRequired(message="请填写发放日期。"),
                                            plausible_date, _not_future])
    payment_reference = StringField(
        "转账流水号或领取凭证编号", validators=[required("转账流水号或领取凭证编号"), Length(max=200)],
    )


class ReportFilterForm(StaffForm):
    class Meta:
        csrf = False

    status = SelectField("状态", choices=choices({"open": "待办（未办结）", **REPORT_STATES}, "全部"),
                         validators=[Optional()])
    kind = SelectField("类别", choices=choices(REPORT_KINDS, "全部"), validators=[Optional()])
    assigned = SelectField("承办", choices=choices({"mine": "我承办的", "none": "未分配"}, "全部"),
                           validators=[Optional()])


class AssignForm(StaffForm):
    """Hand a report to another handler; the choices are set by the view."""

    handler_id = SelectField("改派给", coerce=int, choices=[],
                             validators=[DataRequired(message="请选择承办人。")])


class RewardFilterForm(StaffForm):
    class Meta:
        csrf = False

    status = SelectField("状态", choices=choices(REWARD_STATES, "全部"), validators=[Optional()])


def apply_errors(form: Any, errors: dict[str, str], names: dict[str, str] | None = None) -> None:
    """Put a service's errors (field name → message) on the form: on the field of that name
    (``names`` maps a service's key to another field name), or, for a key that is no field, in
    the form's own errors, which the error summary at the top shows."""
    for key, message in errors.items():
        field = form._fields.get((names or {}).get(key, key))
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]
