"""Apply today's masking rules to what is already stored (``flask --app portal remask``).

Masking runs on every way in, so anything stored before a rule was added (a mobile written
with dots, a natural person's full name) stays as it was until it is masked again.  This
command runs the same rules (``fieldspec.mask_values``) over every item and over the values
kept in the public change history, in place: redaction is not a change of content, so it adds
no version to the history; each item it changes gets one audit event, naming the fields only.
The search index and the page cache follow through the usual after-commit hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit, fieldspec
from portal.domain.masking import county_level_address, natural_person_name
from portal.models import DISCLOSURE_MODELS, Decision, ItemVersion

ACTOR = audit.SYSTEM_ACTOR
# Read with the masked fields: the natural-person rule needs them.
_CONTEXT_FIELDS = {"decisions": ("uscc", "county")}


@dataclass
class RemaskResult:
    items: dict[str, int] = field(default_factory=dict)  # kind → items changed
    versions: int = 0  # history entries changed


def _masked_fields(kind: str) -> list[fieldspec.FieldSpec]:
    common = [f for f in fieldspec.COMMON if f.masked]
    return [f for f in fieldspec.SPECS[kind].fields if f.masked and not f.derived] + common


def remask_all(session: Session) -> RemaskResult:
    """Mask every stored item and history entry by the current rules; commit once."""
    result = RemaskResult()
    for kind, model in DISCLOSURE_MODELS.items():
        names = [f.name for f in _masked_fields(kind)]
        changed = 0
        for item in session.scalars(select(model).order_by(model.id)).unique():
            values = {n: getattr(item, n) for n in (*names, *_CONTEXT_FIELDS.get(kind, ()))}
            masked, labels = fieldspec.mask_values(kind, values)
            if not labels:
                continue
            for name in names:
                if masked[name] != values[name]:
                    setattr(item, name, masked[name])
            audit.record(session, "remask", actor_name=ACTOR, object_kind=kind,
                         object_id=item.id, summary={"fields": labels})
            changed += 1
        result.items[kind] = changed
    result.versions = _remask_history(session)
    session.commit()
    return result


def _remask_history(session: Session) -> int:
    """Mask the old and new values kept in the public change history."""
    decisions = {d.id: d for d in session.scalars(select(Decision)).unique()}
    changed = 0
    for version in session.scalars(select(ItemVersion).order_by(ItemVersion.id)):
        if version.kind not in fieldspec.SPECS:
            continue
        person = version.kind == "decisions" and _natural_person(decisions.get(version.item_id))
        new: dict[str, Any] = {}
        for name, pair in (version.changes or {}).items():
            spec_field = fieldspec.field(version.kind, name)
            if spec_field is None or not spec_field.masked or not isinstance(pair, list):
                new[name] = pair
                continue
            new[name] = [_mask_value(spec_field, value, person, decisions.get(version.item_id))
                         for value in pair]
        if new != version.changes:
            version.changes = new
            changed += 1
    return changed


def _natural_person(decision: Decision | None) -> bool:
    return decision is not None and not decision.uscc


def _mask_value(spec_field: fieldspec.FieldSpec, value: Any, person: bool,
                decision: Decision | None) -> Any:
    if value is None:
        return value
    if person and decision is not None:
        if spec_field.name == "party_name":
            return natural_person_name(value)
        if spec_field.name == "party_address":
            return county_level_address(value, decision.county)
    return spec_field.mask(value)
