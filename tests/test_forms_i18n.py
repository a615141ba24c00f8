"""WTForms' and Flask-WTF's own validation messages ("Field cannot be longer than 100
characters.") in the page's language on the citizen's and enterprise's forms, and in Chinese in
the back office (``portal.forms``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import wtforms
from babel.messages.pofile import read_po
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length

from portal.extensions import db
from portal.forms import BUILT_IN, PublicForm, StaffForm
from portal.i18n import ENVIRON_KEY, PREFIXED
from portal.translation import translate
from tests import factories
from tests.reports.conftest import csrf_from

# Every form of the project, imported so that FlaskForm knows its subclasses.
FORM_MODULES = ("portal.reports.forms", "portal.credit.forms", "portal.credit.repair_forms",
                "portal.credit.objection", "portal.statistics.forms", "portal.disclosures.search",
                "portal.disclosures.forms", "portal.staff.forms", "portal.staff.views.objections")
# The first words of WTForms' English messages (and Flask-WTF's), whatever their numbers.
ENGLISH = re.compile(r"Field (must|cannot)|This field|Not a valid|Invalid (input|choice|Choice|"
                     r"value|email|URL)|Number must|File (must|does)|CSRF|characters? long")
LAO = re.compile(r"[\u0e80-\u0eff]")
BURMESE = re.compile(r"[\u1000-\u109f]")
HAN = re.compile(r"[\u4e00-\u9fff]")
SCRIPT = {"en": re.compile(r"[A-Za-z]"), "lo": LAO, "my": BURMESE}


def _all_forms() -> list[type]:
    import importlib

    for name in FORM_MODULES:
        importlib.import_module(name)
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return [cls for cls in found if cls.__module__.startswith("portal.")
            and cls not in (PublicForm, StaffForm)]


def _said(message, lang: str, **values) -> str:
    """``message`` (one of ours, lazy) as a page in ``lang`` says it."""
    msgid = message._args[0]
    said = translate(lang, msgid)
    assert lang == "zh" or said != msgid, f"{msgid} is not translated into {lang}"
    return said % values if values else said


def test_every_form_has_one_of_the_two_bases():
    """A public form says WTForms' messages in the reader's language, a staff form in Chinese:
    no form is a bare FlaskForm (it would say them in English)."""
    staff = []
    for cls in _all_forms():
        assert issubclass(cls, (PublicForm, StaffForm)), cls
        if issubclass(cls, StaffForm):
            staff.append(cls.__name__)
    assert {"AskForm", "ProposeForm", "ReturnForm", "RevokeForm", "AnswerForm",
            "LoginForm"} <= set(staff)


def test_every_message_of_wtforms_has_ours():
    """WTForms' own catalog lists every message it can say: each has a Chinese one here."""
    pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    ids = set()
    for message in read_po(pot.open("rb")):
        if message.id:
            ids |= set(message.id) if isinstance(message.id, tuple) else {message.id}
    assert ids - set(BUILT_IN) == set()
    for message in BUILT_IN.values():
        assert HAN.search(message._args[0])


def _instances(app, lang: str, data: MultiDict):
    """Every form, built from ``data`` in a request of language ``lang``."""
    from portal.credit.objection import ObjectionForm  # noqa: F401  (registers the class)
    from portal.disclosures.forms import ListFilterForm
    from portal.disclosures.search import SearchForm
    from portal.statistics.forms import YearForm

    environ = {ENVIRON_KEY: lang} if lang != "zh" else {}
    for cls in _all_forms():
        with app.test_request_context("/", method="POST", environ_overrides=environ):
            if cls is YearForm:
                form = cls([2026], data)
            elif cls is SearchForm:
                form = cls(data)
            elif issubclass(cls, ListFilterForm):
                continue  # a GET filter without length limits; its messages are its own
            elif issubclass(cls, StaffForm) and lang != "zh":
                continue  # the back office is served at the root alone
            else:
                form = cls(formdata=data, meta={"csrf": False})
            for field in form:
                if getattr(field, "choices", ()) is None:  # the view sets them
                    field.choices = []
            form.validate()
            yield cls, form


def _text_fields(cls) -> list[tuple[str, int]]:
    """(name, longest allowed) of each text field."""
    out = []
    for name in dir(cls):
        unbound = getattr(cls, name, None)
        if getattr(unbound, "field_class", None) not in (StringField, TextAreaField, HiddenField):
            continue
        longest = max([v.max for v in unbound.kwargs.get("validators", ())
                       if isinstance(v, Length)] or [-1])
        out.append((name, longest))
    return out


@pytest.mark.parametrize("lang", ["zh", *PREFIXED])
def test_every_message_of_every_form_is_in_the_pages_language(app, lang):
    """Each form, given text fields empty or one character too long (and too short): every
    message is in the page's language (staff forms: Chinese), none in WTForms' English."""
    with app.app_context():
        fields = {name: longest for cls in _all_forms() for name, longest in _text_fields(cls)}
    for fill in ("empty", "long", "short"):
        data = MultiDict()
        for name, longest in fields.items():
            if fill == "long" and longest > 0:
                data[name] = "x" * (longest + 1)
            elif fill == "short":
                data[name] = "x"
        checked = 0
        for cls, form in _instances(app, lang, data):
            for name, errors in form.errors.items():
                for error in errors:
                    checked += 1
                    where = f"{cls.__name__}.{name} ({fill}, {lang}): {error!r}"
                    # (English pages say them in English: ours, from the catalog.)
                    assert lang == "en" or not ENGLISH.search(str(error)), where
                    if issubclass(cls, StaffForm) or lang == "zh":
                        assert HAN.search(str(error)), where
                    else:
                        assert not HAN.search(str(error)), where
                        assert SCRIPT[lang].search(str(error)), where
        assert checked >= 5, fill


def _listed(app):
    from tests.credit.repair_helpers import listed

    with app.app_context():
        entry = listed()
        decision = factories.decision(enterprise=entry.enterprise)
        db.session.commit()
        return entry.uscc, decision.id


@pytest.mark.parametrize("lang", ["zh", "lo"])
def test_credit_repair_and_objection_forms_say_their_limits_in_the_pages_language(
        app, client, lang):
    """The 信用修复 application and the objection, sent with a name and a contact one
    character too long: the page says so in its own language, never in WTForms' English."""
    from portal.forms import _TOO_LONG
    from portal.services.enterprises import objections
    from portal.services.enterprises import repair as service
    from tests.credit.repair_helpers import APPLICANT

    uscc, decision_id = _listed(app)
    prefix = "" if lang == "zh" else f"/{lang}"
    form = client.get(prefix + "/credit/repair").get_data(as_text=True)
    long_name = "岩" * (service.NAME_MAX + 1)
    response = client.post(prefix + "/credit/repair", data={
        **APPLICANT, "csrf_token": csrf_from(form), "uscc": uscc, "applicant_name": long_name,
        "contact": "1" * (service.CONTACT_MAX + 1)}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert not ENGLISH.search(html), ENGLISH.search(html)
    assert _said(_TOO_LONG, lang, max=service.NAME_MAX, length=service.NAME_MAX + 1) in html
    assert _said(_TOO_LONG, lang, max=service.CONTACT_MAX, length=service.CONTACT_MAX + 1) in html

    path = f"{prefix}/credit/objection/decisions/{decision_id}"
    form = client.get(path).get_data(as_text=True)
    response = client.post(path, data={
        "csrf_token": csrf_from(form), "applicant_name": "岩" * (objections.NAME_MAX + 1),
        "contact": "1" * (objections.CONTACT_MAX + 1), "what_is_wrong": "名称有误",
        "should_read": "应为新名称"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert not ENGLISH.search(html), ENGLISH.search(html)
    assert _said(_TOO_LONG, lang, max=objections.NAME_MAX,
                 length=objections.NAME_MAX + 1) in html
    assert _said(_TOO_LONG, lang, max=objections.CONTACT_MAX,
                 length=objections.CONTACT_MAX + 1) in html


def test_staff_forms_say_wtforms_messages_in_chinese(app):
    """The back office's 信用修复 and objection steps, with a reason too short: WTForms' message
    in Chinese, like the rest of the back office (these forms said it in English)."""
    from portal.credit.repair_forms import AskForm
    from portal.forms import _BETWEEN
    from portal.services.enterprises.repair import TEXT_MAX
    from portal.staff.views.objections import AnswerForm

    with app.test_request_context("/", method="POST"):
        ask = AskForm(formdata=MultiDict({"question": "ab"}), meta={"csrf": False})
        answer = AnswerForm(formdata=MultiDict({"outcome": "upheld", "text": "ab"}),
                            meta={"csrf": False})
        assert not ask.validate() and not answer.validate()
        assert ask.errors["question"] == [
            _said(_BETWEEN, "zh", min=4, max=TEXT_MAX, length=2)]
        assert answer.errors["text"] == [_said(_BETWEEN, "zh", min=4, max=2000, length=2)]


def test_numbers_in_wtforms_messages_use_the_pages_digits(app):
    """Burmese pages write numbers in Burmese digits, WTForms' limits included."""
    from portal.credit.objection import ObjectionForm
    from portal.services.enterprises import objections

    too_long = MultiDict({"applicant_name": "x" * (objections.NAME_MAX + 1)})
    said = {}
    for lang in ("zh", "my"):
        environ = {ENVIRON_KEY: lang} if lang != "zh" else {}
        with app.test_request_context("/", method="POST", environ_overrides=environ):
            form = ObjectionForm(formdata=too_long, meta={"csrf": False})
            form.validate()
            said[lang] = form.errors["applicant_name"][0]
    assert str(objections.NAME_MAX) in said["zh"]
    assert str(objections.NAME_MAX) not in said["my"]
    assert str(objections.NAME_MAX).translate(str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")) \
        in said["my"]
