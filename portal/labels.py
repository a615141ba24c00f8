"""Chinese labels of the published kinds' fields: one map for the public pages, the staff
forms' history and the audit log, read from the field spec (``portal.fieldspec``)."""

from __future__ import annotations

from portal.fieldspec import SPECS

# Field → label, per kind, in the order of the spec.
FIELD_LABELS: dict[str, dict[str, str]] = {
    kind: {f.name: f.label for f in spec.fields} for kind, spec in SPECS.items()
}
# State fields every kind shares.
COMMON_LABELS = {
    "published_at": "公开时间",
    "withdrawn_at": "撤回时间",
    "withdrawn_reason": "撤回理由",
    "department_id": "责任单位",
    "enterprise_id": "企业",
    "title": "标题",
}


def field_label(kind: str, name: str) -> str:
    """The Chinese label of a field of ``kind``; the name itself if none is known."""
    return FIELD_LABELS.get(kind, {}).get(name) or COMMON_LABELS.get(name) or name
