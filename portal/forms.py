"""The base classes of every form: ``PublicForm`` (the citizen's and enterprise's pages, in the
reader's language) and ``StaffForm`` (the back office, Chinese).

WTForms and Flask-WTF say a few messages themselves when a validator has none of its own
("Field cannot be longer than 100 characters.", "Not a valid choice.").  WTForms' catalogs have
no Lao or Burmese, and its Chinese one has wrong entries ("This field cannot be edited." →
"该字段是必填字段。"), so both kinds of form ask this module instead (``Meta.get_translations``):
each built-in message has a Chinese message of ours (``BUILT_IN``), extracted into the
project's catalogs like any other and said in the page's language.  A message not listed here
(a newer WTForms) is said as WTForms wrote it; tests/test_forms_i18n.py lists WTForms' own
catalog against this table.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from portal.i18n import DEFAULT, current_language, native_digits

_REQUIRED = _l("此项必须填写。")
_CHOICE = _l("所选的值无效，请从列表中选择。")
_TOO_SHORT = _l("至少 %(min)s 个字，现在是 %(length)s 个字。")
_TOO_LONG = _l("最多 %(max)s 个字，现在是 %(length)s 个字。")
_BETWEEN = _l("须为 %(min)s 至 %(max)s 个字，现在是 %(length)s 个字。")
_NUMBER = _l("请填写数字。")
_CSRF = _l("页面已过期，请重新打开本页后再提交。")

# WTForms' message (each form of a plural) → ours, in Chinese (the source language).
BUILT_IN: dict[str, Any] = {
    # wtforms.validators
    "Invalid field name '%s'.": _l("字段名无效：%s"),
    "Field must be equal to %(other_name)s.": _l("须与“%(other_name)s”一致。"),
    "Field must be at least %(min)d character long.": _TOO_SHORT,
    "Field must be at least %(min)d characters long.": _TOO_SHORT,
    "Field cannot be longer than %(max)d character.": _TOO_LONG,
    "Field cannot be longer than %(max)d characters.": _TOO_LONG,
    "Field must be exactly %(max)d character long.": _l("须为 %(max)s 个字，现在是 %(length)s 个字。"),
    "Field must be exactly %(max)d characters long.":
        _l("须为 %(max)s 个字，现在是 %(length)s 个字。"),
    "Field must be between %(min)d and %(max)d characters long.": _BETWEEN,
    "Number must be at least %(min)s.": _l("不能小于 %(min)s。"),
    "Number must be at most %(max)s.": _l("不能大于 %(max)s。"),
    "Number must be between %(min)s and %(max)s.": _l("须在 %(min)s 至 %(max)s 之间。"),
    "Date must be at least %(min)s.": _l("日期不能早于 %(min)s。"),
    "Date must be at most %(max)s.": _l("日期不能晚于 %(max)s。"),
    "Date must be between %(min)s and %(max)s.": _l("日期须在 %(min)s 至 %(max)s 之间。"),
    "This field is required.": _REQUIRED,
    "Invalid input.": _l("格式不正确，请检查后重新填写。"),
    "Invalid email address.": _l("电子邮箱地址无效。"),
    "Invalid IP address.": _l("IP 地址无效。"),
    "Invalid Mac address.": _l("MAC 地址无效。"),
    "Invalid URL.": _l("网址无效。"),
    "Invalid UUID.": _l("UUID 无效。"),
    "Invalid value, must be one of: %(values)s.": _l("值无效，只能是：%(values)s。"),
    "Invalid value, can't be any of: %(values)s.": _l("值无效，不能是：%(values)s。"),
    "This field cannot be edited.": _l("此项不能修改。"),
    "This field is disabled and cannot have a value.": _l("此项不可填写。"),
    # wtforms.csrf (Flask-WTF checks the token before the view; kept for completeness)
    "Invalid CSRF Token.": _CSRF,
    "CSRF token missing.": _CSRF,
    "CSRF failed.": _CSRF,
    "CSRF token expired.": _CSRF,
    # wtforms.fields
    "Invalid Choice: could not coerce.": _CHOICE,
    "Choices cannot be None.": _CHOICE,
    "Not a valid choice.": _CHOICE,
    "Invalid choice(s): one or more data inputs could not be coerced.": _CHOICE,
    "'%(value)s' is not a valid choice for this field.": _CHOICE,
    "'%(value)s' are not valid choices for this field.": _CHOICE,
    "Not a valid datetime value.": _l("日期和时间无效，请按 2026-09-30 14:05 的格式填写。"),
    "Not a valid date value.": _l("日期无效，请按 2026-09-30 的格式填写。"),
    "Not a valid time value.": _l("时间无效，请按 14:05 的格式填写。"),
    "Not a valid week value.": _l("周无效，请按 2026-W39 的格式填写。"),
    "Not a valid integer value.": _l("请填写整数。"),
    "Not a valid decimal value.": _NUMBER,
    "Not a valid float value.": _NUMBER,
    # flask_wtf.file (FileRequired says "This field is required.")
    "File does not have an approved extension: {extensions}":
        _l("不接受这种文件，只接受：{extensions}"),
    "File does not have an approved extension.": _l("不接受这种文件。"),
}
# flask_wtf.file.FileSize writes its numbers into the message before asking for it.
_FILE_SIZE = re.compile(r"^File must be between (\d+) and (\d+) bytes\.$")
_FILE_SIZE_SAID = _l("文件大小须在 %(min)s 至 %(max)s 字节之间。")


class _Said(str):
    """A message WTForms fills in itself (``message % dict(max=…)``): its numbers in the page's
    digits (Burmese in Burmese, ``portal.i18n.native_digits``)."""

    def __mod__(self, values: Any) -> str:
        if isinstance(values, dict):
            values = {k: native_digits(str(v)) if isinstance(v, int) else v
                      for k, v in values.items()}
        return str.__mod__(self, values)


class BuiltInMessages:
    """WTForms' ``translations`` object: its messages said in the page's language, or in
    Chinese whatever the page (``chinese=True``, the back office)."""

    def __init__(self, chinese: bool = False) -> None:
        self.chinese = chinese

    def _say(self, message: Any) -> str:
        if self.chinese or current_language() == DEFAULT:
            return message._args[0]  # the msgid: our Chinese text
        return _Said(message)

    def gettext(self, string: str) -> str:
        found = BUILT_IN.get(string)
        if found is not None:
            return self._say(found)
        size = _FILE_SIZE.match(string)
        if size:
            return self._say(_FILE_SIZE_SAID) % {"min": size[1], "max": size[2]}
        return string

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


READERS_LANGUAGE = BuiltInMessages()
CHINESE = BuiltInMessages(chinese=True)


def _no_nul(value: Any) -> Any:
    # PostgreSQL refuses NUL in text, and no one means to type it: dropped from every field.
    return value.replace("\x00", "") if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class PublicForm(FlaskForm):
    """Every form of the citizen's and enterprise's pages: WTForms' own messages in the page's
    language; text without NUL and without surrounding spaces."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            return READERS_LANGUAGE

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = [*unbound_field.kwargs.get("filters", ()), _no_nul, _strip]
            return unbound_field.bind(form=form, filters=filters, **options)


class StaffForm(FlaskForm):
    """Every form of the back office: WTForms' own messages in Chinese; text without NUL."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            return CHINESE

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = [*unbound_field.kwargs.get("filters", ()), _no_nul]
            return unbound_field.bind(form=form, filters=filters, **options)
