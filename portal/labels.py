"""Chinese labels of the published kinds' fields: one map for the public pages, the staff
forms' history and the audit log, read from the field spec (``portal.fieldspec``)."""

from __future__ import annotations

from typing import Any

from portal.fieldspec import SPECS, decision_labels

# Field → label, per kind, in the order of the spec.
FIELD_LABELS: dict[str, dict[str, str]] = {
    kind: {f.name: f.label for f in spec.fields} for kind, spec in SPECS.items()
}
# State fields every kind shares.
COMMON_LABELS = {
    "published_at": "公开时间",
    "withdrawn_at": "撤回时间",
    "withdrawn_reason": "撤回理由",
    "withdrawal_requested_on": "变更或撤销日期",
    "department_id": "责任单位",
    "enterprise_id": "企业",
    "title": "标题",
    "photos": "整改照片",  # a 督办事项's rectification photos (their count)
}


def field_label(kind: str, name: str, decision_type: str | None = None) -> str:
    """The Chinese label of a field of ``kind``; the name itself if none is known.  A decision's
    fields are named after its ``decision_type`` when it is given (``fieldspec.decision_labels``)."""
    if kind == "decisions" and decision_type:
        found = decision_labels(decision_type).get(name)
        if found:
            return found
    return FIELD_LABELS.get(kind, {}).get(name) or COMMON_LABELS.get(name) or name


def item_labels(item: Any) -> dict[str, str]:
    """Field → label for one item: a decision's follow its type, other kinds' the spec's."""
    labels = FIELD_LABELS[item.KIND]
    if item.KIND == "decisions":
        return {name: field_label("decisions", name, item.decision_type) for name in labels}
    return labels
