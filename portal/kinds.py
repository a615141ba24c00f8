"""The published kinds, declared once.

Every place that names the published kinds — routes, navigation, the home page, open data,
sitemap, search, statistics, the audit log, the back office, the CLI — reads this registry
(``KINDS``) instead of its own list.  Adding a kind is: one ``Kind`` here, its model in
``portal/models.py``, its field spec in ``portal/fieldspec.py``, its two template partials
(``templates/disclosures/_detail_<key>.html`` and ``_table_<key>.html``) and a migration;
``tests/test_kinds.py`` fails while any of them is missing or a place keeps its own list.

Pure Python: no Flask, no database (the search adapter imports it too).  The model is looked up
by name when first asked for, so ``portal.models`` can read labels from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from portal.domain import catalog


@dataclass(frozen=True)
class Kind:
    """One published kind: what every page, export and list of kinds needs to know about it."""

    key: str  # URL segment (/<key>, /<key>.csv, /feeds/<key>.atom, /api/v1/<key>), audit kind
    label: str  # the kind's Chinese name: list title, badges, audit log, feeds
    nav_label: str  # the public navigation's (shorter) name
    staff_label: str  # the back office's name
    model_name: str  # the class in portal.models
    api_name: str  # singular English name, for OpenAPI schema names
    date_field: str  # the decision or event date (sorting, year filter, feeds)
    # The list's filters beyond the page (also the API's, CSV's and feed's), in form order.
    filters: tuple[str, ...]
    intro: Callable[[Any], str]  # the text above the list, given the settings
    type_field: str | None = None  # the kind's own type filter (power type, decision type)
    type_choices: tuple[str, ...] = ()
    number_field: str | None = None  # the number the item is known by (编码, 文号, credit code)
    staff_search: tuple[str, ...] = ()  # the columns the back office's search box looks in
    derived_columns: tuple[str, ...] = ()  # set by the model on flush; shown in the history
    staff_form: str = ""  # the form class in portal.staff.forms
    stats_title: str | None = None  # the /stats section, if the kind has one
    importable: bool = True  # ``flask import KIND FILE``
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> Any:
        from portal import models

        return getattr(models, self.model_name)

    @property
    def detail_template(self) -> str:
        return f"disclosures/_detail_{self.key}.html"

    @property
    def table_template(self) -> str:
        return f"disclosures/_table_{self.key}.html"

    @property
    def csv_name(self) -> str:
        return f"{self.key}.csv"

    @property
    def feed_name(self) -> str:
        return f"{self.key}.atom"


def _decisions_intro(settings: Any) -> str:
    return (
        f"行政执法决定自作出之日起公开：{catalog.decision_deadline_text()}决定被变更、撤销或者确认违法、"
        f"无效的，在{catalog.WITHDRAWAL_PUBLISH_WORKING_DAYS}个工作日内撤回并说明理由。"
    )


def _accidents_intro(settings: Any) -> str:
    return (
        "生产安全事故调查报告经人民政府批复后全文公开；批复后"
        f"{catalog.ACCIDENT_ASSESSMENT_YEARS}年内对事故整改和防范措施落实情况进行评估并公开。"
    )


def _blacklist_intro(settings: Any) -> str:
    return (
        f"安全生产严重失信主体名单：列入后公示{settings.blacklist_years}年，期满自动移出；"
        f"列入满{settings.blacklist_min_months_before_removal}个月后可申请信用修复，提前移出。"
    )


# In the order pages, navigation and exports list them.  The order of keys is also the search
# store's kind code (search_index/store.py): append new kinds, never reorder.
KINDS: tuple[Kind, ...] = (
    Kind(
        key="powers", label="权责清单", nav_label="权责清单", staff_label="权责清单",
        model_name="PowerItem", api_name="PowerItem", date_field="published_at",
        filters=("department_id", "power_type", "year", "late"),
        intro=lambda settings: "本机关依法行使的行政职权及其实施依据、责任事项、追责情形和办理流程。",
        type_field="power_type", type_choices=catalog.POWER_TYPES,
        number_field="code", staff_search=("code", "name"), staff_form="PowerForm",
    ),
    Kind(
        key="decisions", label="行政执法决定", nav_label="行政执法决定", staff_label="执法决定",
        model_name="Decision", api_name="Decision", date_field="decision_date",
        filters=("county", "sector", "year", "department_id", "decision_type", "late",
                 "withdrawal"),
        intro=_decisions_intro,
        type_field="decision_type", type_choices=catalog.DECISION_TYPES,
        number_field="document_no", staff_search=("document_no", "party_name", "uscc"),
        derived_columns=("publish_due",), staff_form="DecisionForm",
        stats_title="行政执法决定和罚款",
    ),
    Kind(
        key="accidents", label="事故调查报告", nav_label="事故调查报告",
        staff_label="事故调查报告",
        model_name="AccidentReport", api_name="AccidentReport", date_field="occurred_on",
        filters=("county", "sector", "year", "department_id", "level", "assessment"),
        intro=_accidents_intro,
        staff_search=("title_text", "enterprise_name"),
        derived_columns=("level", "assessment_due"), staff_form="AccidentForm",
        stats_title="生产安全事故",
    ),
    Kind(
        key="blacklist", label="严重失信主体名单", nav_label="失信名单",
        staff_label="严重失信名单",
        model_name="BlacklistEntry", api_name="BlacklistEntry", date_field="listed_on",
        filters=("county", "sector", "year", "department_id", "status"),
        intro=_blacklist_intro,
        number_field="uscc", staff_search=("enterprise_name", "uscc"),
        staff_form="BlacklistForm", stats_title="严重失信主体名单",
    ),
)

KEYS: tuple[str, ...] = tuple(k.key for k in KINDS)
BY_KEY: dict[str, Kind] = {k.key: k for k in KINDS}
# The URL converter of every per-kind route: ``<any(powers, …):kind>``.
URL_PATTERN = "any(" + ", ".join(KEYS) + ")"


def get(key: str) -> Kind:
    """The kind named ``key``; ``KeyError`` for an unknown one."""
    return BY_KEY[key]


def models() -> dict[str, Any]:
    """Key → model class, in registry order."""
    return {k.key: k.model for k in KINDS}
