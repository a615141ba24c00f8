"""Forms of the public pages: the GET filter form of every kind's list."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, Regexp

from portal import kinds
from portal.domain import supervision as supervision_rules
from portal.domain.accidents import AccidentLevel
from portal.domain.blacklist import BlacklistStatus
from portal.forms import PublicForm
from portal.i18n import DEFAULT, county_label, current_language, native_digits, word
from portal.params import YearField
from portal.published_words import term
from portal.services.oversight.compliance import ASSESSMENT_STATES, WITHDRAWAL_STATES
from portal.services.publication.disclosures import (
    BLACKLIST_FILTER_STATUSES,
    KIND_FILTERS,
    Facets,
    ListFilters,
    type_choices,
)
from portal.translation import gettext as _
from portal.translation import lazy_gettext as _l

ALL = ("", _l("全部"))
# The form's fields in display order, with their URL parameter names (the field names).
FIELD_ORDER = ("supervision_type", "grade", "county", "sector", "year", "department", "power_type",
               "decision_type", "level", "status", "stage", "late", "withdrawal", "assessment")
# The department filter's label per kind (portal.kinds.Kind.department_label).
_DEPARTMENT_LABELS = {"责任单位": _l("责任单位"), "挂牌单位": _l("挂牌单位")}
# ListFilters attribute behind each optional form field.
_FIELD_FOR = {"department_id": "department"}


class ListFilterForm(PublicForm):
    """Filters of a public list, read from the query string.

    Every choice is checked against the values that exist; an unknown value is dropped with a
    message instead of failing the page.  ``page`` is kept as text and parsed by ``page_number``.
    """

    class Meta:
        csrf = False  # a GET form that changes nothing

    county = SelectField(_l("县（市、区）"), validators=[Optional()], validate_choice=True)
    sector = SelectField(_l("行业领域"), validators=[Optional()], validate_choice=True)
    year = YearField(_l("年份"))
    department = SelectField(_l("责任单位"), validators=[Optional()], validate_choice=True)
    power_type = SelectField(_l("职权类型"), validators=[Optional()], validate_choice=True)
    decision_type = SelectField(_l("决定类型"), validators=[Optional()], validate_choice=True)
    level = SelectField(_l("事故等级"), validators=[Optional()], validate_choice=True)
    status = SelectField(_l("名单状态"), validators=[Optional()], validate_choice=True)
    late = SelectField(_l("公开时效"), validators=[Optional()], validate_choice=True)
    withdrawal = SelectField(_l("撤回时效"), validators=[Optional()], validate_choice=True)
    assessment = SelectField(_l("整改评估"), validators=[Optional()], validate_choice=True)
    supervision_type = SelectField(_l("督办类型"), validators=[Optional()], validate_choice=True)
    grade = SelectField(_l("督办级别"), validators=[Optional()], validate_choice=True)
    stage = SelectField(_l("办理状态"), validators=[Optional()], validate_choice=True)
    page = StringField(_l("页码"), validators=[Optional(), Regexp(r"^\d{1,9}$")])

    def __init__(self, kind: str, facets: Facets, formdata: MultiDict[str, str]) -> None:
        super().__init__(formdata=formdata)
        self.kind = kind
        wanted = {_FIELD_FOR.get(name, name) for name in KIND_FILTERS[kind]}
        for name in FIELD_ORDER:
            if name not in wanted:
                delattr(self, name)
        self._set_choices(facets)
        if "department" in self._fields:
            # Who issued the item: 责任单位, or for a 督办事项 the 挂牌单位.
            self.department.label.text = _DEPARTMENT_LABELS.get(
                kinds.get(kind).department_label, kinds.get(kind).department_label)

    def _set_choices(self, facets: Facets) -> None:
        # Published names (counties, sectors, departments) stay Chinese, marked as such on a
        # page in another language (a county with its romanisation, as on the report form);
        # the fixed words are translated.
        chinese = current_language() == DEFAULT

        def named(value: str, name: str) -> Any:
            return (value, name) if chinese else SelectChoice(value, name,
                                                              render_kw={"lang": "zh-CN"})

        choices: dict[str, list[Any]] = {
            "county": [named(c, c if chinese else county_label(c)) for c in facets.counties],
            "sector": [named(s, s) for s in facets.sectors],
            "year": [(str(y), _("%(year)s年", year=native_digits(str(y)))) for y in facets.years],
            "department": [named(str(i), name) for i, name in facets.departments],
            "power_type": [(t, term(t)) for t in type_choices("powers")],
            "decision_type": [(t, term(t)) for t in type_choices("decisions")],
            "level": [(str(int(level)), term(level.label)) for level in AccidentLevel],
            "status": [(s.value, word("blacklist_status", s.value, s.label))
                       for s in BLACKLIST_FILTER_STATUSES],
            "late": [("1", term("逾期公开")), ("0", term("按期公开"))],
            "withdrawal": [(k, term(v)) for k, v in WITHDRAWAL_STATES.items()],
            "assessment": [(k, term(v)) for k, v in ASSESSMENT_STATES.items()],
            "supervision_type": [(t, term(t)) for t in type_choices("supervision")],
            "grade": [(g, term(g)) for g in supervision_rules.GRADES],
            "stage": [(k, term(v)) for k, v in supervision_rules.STATUS_CHOICES],
        }
        for name in self.filter_names:
            self[name].choices = [ALL, *choices[name]]

    @property
    def filter_names(self) -> list[str]:
        return [name for name in FIELD_ORDER if name in self._fields]

    @property
    def filter_fields(self) -> list[Any]:
        return [self[name] for name in self.filter_names]

    def check(self) -> list[str]:
        """Validate, drop each bad value (so it is neither used nor kept in links), and return
        one message per dropped value; the values themselves are never echoed."""
        self.validate()
        messages = []
        for name in self.filter_names:
            if self[name].errors:
                messages.append(_("筛选条件「%(label)s」的值无效，已忽略。",
                                  label=self[name].label.text))
                self[name].data = ""
                self[name].errors = []
        return messages

    def filters(self) -> ListFilters:
        """The checked filter values as the service's ``ListFilters``."""
        value = {name: (self[name].data or None) for name in self.filter_names}
        return ListFilters(
            county=value.get("county"),
            sector=value.get("sector"),
            year=value.get("year"),
            department_id=int(value["department"]) if value.get("department") else None,
            power_type=value.get("power_type"),
            decision_type=value.get("decision_type"),
            level=AccidentLevel(int(value["level"])) if value.get("level") else None,
            status=_status(value.get("status")),
            late=(value["late"] == "1") if value.get("late") else None,
            withdrawal=value.get("withdrawal"),
            assessment=value.get("assessment"),
            supervision_type=value.get("supervision_type"),
            grade=value.get("grade"),
            stage=value.get("stage"),
        )

    def link_args(self) -> dict[str, str]:
        """The checked, non-empty filters as query arguments, for page links."""
        return {name: self[name].data for name in self.filter_names if self[name].data}

    @property
    def active(self) -> bool:
        return bool(self.link_args())

    def page_number(self) -> int | None:
        """The requested page: 1 when absent, None when not a whole number of 1 or more."""
        raw = (self.page.data or "").strip()
        if not raw:
            return 1
        if self.page.errors or not raw.isdigit() or int(raw) < 1:
            return None
        return int(raw)


def _status(value: str | None) -> BlacklistStatus | None:
    return BlacklistStatus(value) if value else None
