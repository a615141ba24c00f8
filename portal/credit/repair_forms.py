"""Forms of the 信用修复 pages (applicant and staff): server-side checks.  The applicant's
labels and messages are lazy translations (the pages are served in every language); the staff's
stay Chinese."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import FileStorage
from wtforms import HiddenField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.forms import PublicForm, StaffForm
from portal.images import MAX_UPLOAD_BYTES
from portal.receipts import MAX_INPUT_CHARS
from portal.services.enterprises import repair as service
from portal.translation import lazy_gettext as _l


def _clean(value: Any) -> Any:
    # Staff forms keep what is typed but its surrounding spaces (a public form's base,
    # ``PublicForm``, strips every field itself).
    return value.strip() if isinstance(value, str) else value


def required(what: Any) -> DataRequired:
    return DataRequired(message=_l("请填写%(what)s。", what=what))


class DocumentUploads:
    """A form with document fields: each upload cleaned by ``service.clean_document``."""

    document_fields: tuple[tuple[str, str], ...] = ()  # (field name, document kind)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clean_documents: list[service.CleanDocument] = []
        self.busy = False

    def _files(self, name: str) -> list[FileStorage]:
        field = getattr(self, name)
        return [f for f in (field.data or []) if isinstance(f, FileStorage) and f.filename]

    def documents_chosen(self) -> bool:
        return any(self._files(name) for name, _ in self.document_fields)

    def _read_documents(self) -> bool:
        ok = True
        for name, kind in self.document_fields:
            field = getattr(self, name)
            problems = []
            for number, upload in enumerate(self._files(name), start=1):
                data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
                if len(data) > MAX_UPLOAD_BYTES:
                    problems.append(str(_l("第 %(number)s 个文件超过 %(mb)s MB", number=number,
                                            mb=MAX_UPLOAD_BYTES // (1024 * 1024))))
                    continue
                try:
                    self.clean_documents.append(service.clean_document(service.Upload(data, kind)))
                except service.DocumentRejected as exc:
                    problems.append(str(_l("第 %(number)s 个文件（%(name)s）：%(problem)s",
                                            number=number, name=upload.filename[:60],
                                            problem=exc)))
                except service.DocumentsBusy as exc:
                    self.busy = True
                    problems.append(str(exc))
            if problems:
                field.errors = [*field.errors, str(_l("%(problems)s 该文件未保存，请重新选择。",
                                                      problems=str(_l("；")).join(problems)))]
                ok = False
        return ok

    def validate(self, extra_validators: Any = None) -> bool:  # type: ignore[override]
        valid = super().validate(extra_validators)  # type: ignore[misc]
        return self._read_documents() and valid


class ApplicationForm(DocumentUploads, PublicForm):
    document_fields = (("commitment", "commitment"), ("evidence", "evidence"))

    uscc = StringField(
        _l("统一社会信用代码"),
        validators=[required(_l("统一社会信用代码")), Length(max=60)],
        description=_l("被列入名单的单位的 18 位代码，见营业执照。"),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    applicant_name = StringField(_l("申请人姓名"), validators=[required(_l("申请人姓名")),
                                 Length(max=service.NAME_MAX)],
                                 render_kw={"autocomplete": "name"})
    applicant_role = StringField(_l("申请人职务"), validators=[required(_l("申请人职务")),
                                 Length(max=service.ROLE_MAX)],
                                 description=_l("如：法定代表人、安全生产管理人员、受委托人。"))
    contact = StringField(_l("联系电话或电子邮箱"), validators=[required(_l("联系电话或电子邮箱")),
                          Length(max=service.CONTACT_MAX)],
                          description=_l("仅用于审核人员联系您，不会公开。"),
                          render_kw={"autocomplete": "tel"})
    penalty_done = TextAreaField(
        _l("行政处罚履行情况"),
        validators=[required(_l("行政处罚履行情况")), Length(max=service.TEXT_MAX)],
        description=_l("罚款已缴纳、责令措施已执行的情况，写明缴款或执行日期。"))
    rectification = TextAreaField(
        _l("整改情况"), validators=[required(_l("整改情况")), Length(max=service.TEXT_MAX)],
        description=_l("针对失信行为所做的整改：做了什么，何时完成，由谁验收。"))
    commitment = MultipleFileField(
        _l("信用承诺书"),
        description=_l("签字盖章的信用承诺书，PDF 或图片（JPEG、PNG），每个文件不超过 10 MB。"))
    evidence = MultipleFileField(
        _l("证明材料（可多个）"),
        description=_l("缴款凭证、整改验收材料等，PDF 或图片；一次提交合计不超过 10 MB，可分次添加。"))
    keep = HiddenField()


class CodeForm(PublicForm):
    code = StringField(_l("访问码"), validators=[required(_l("访问码")), Length(
                       max=MAX_INPUT_CHARS, message=_l("访问码过长。"))],
                       render_kw={"autocomplete": "off", "spellcheck": "false"})


class ReplyForm(DocumentUploads, PublicForm):
    document_fields = (("evidence", "evidence"),)

    code = HiddenField(validators=[DataRequired()])
    body = TextAreaField(_l("补充说明"), validators=[Optional(), Length(max=service.TEXT_MAX)])
    evidence = MultipleFileField(_l("补充材料（可多个）"),
                                 description=_l("PDF 或图片，一次提交合计不超过 10 MB。"))

    def validate_body(self, field: TextAreaField) -> None:
        if not field.data and not self.documents_chosen():
            raise ValidationError(str(_l("请填写补充说明或选择附件。")))


# ---------------------------------------------------------------- staff


class StepForm(StaffForm):
    """A step without fields (accept, approve)."""


class AskForm(StaffForm):
    question = TextAreaField("需要申请人补充的内容", validators=[required("需要补充的内容"),
                             Length(min=4, max=service.TEXT_MAX)], filters=[_clean])


class ProposeForm(StaffForm):
    outcome = RadioField("审核意见", choices=[SelectChoice("grant", "准予信用修复（提前移出名单）"),
                                          SelectChoice("refuse", "不予信用修复")],
                         validators=[DataRequired(message="请选择审核意见。")])
    decision_no = StringField("决定文号", validators=[required("决定文号"),
                              Length(max=service.DECISION_NO_MAX)], filters=[_clean],
                              description="如：西应急信修决〔2026〕3号。")
    reasons = TextAreaField("理由", validators=[required("理由"),
                            Length(min=4, max=service.TEXT_MAX)], filters=[_clean],
                            description="不予信用修复的，理由将告知申请人。")


class ReturnForm(StaffForm):
    note = TextAreaField("退回理由", validators=[required("退回理由"),
                         Length(min=4, max=service.TEXT_MAX)], filters=[_clean])


class RevokeForm(StaffForm):
    reason = TextAreaField("撤销理由（以欺骗手段取得信用修复的事实）",
                           validators=[required("撤销理由"), Length(min=4, max=service.TEXT_MAX)],
                           filters=[_clean])
