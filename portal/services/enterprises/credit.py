"""Enterprise credit check and verifiable credit certificates (DESIGN.md §2: ``/credit``).

What an enterprise's record is: the published blacklist entries, enforcement decisions and
accident reports that carry its 统一社会信用代码 (or name its enterprise row).  Drafts are never
seen here; withdrawn items are shown, marked, and never count towards the status.  A record is
only this regulator's published information, never a general clean bill of health.

A certificate stores what it said at issue (a JSON snapshot), so its number alone verifies it;
the QR code carries the number signed through ``portal.tokens`` (purpose ``credit_certificate``)
with a digest of the snapshot, so a printed QR code also proves the stored row was not edited.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import current_app, url_for
from sqlalchemy import ColumnElement, func, or_, select, union_all
from sqlalchemy.exc import IntegrityError

from portal import audit, tokens
from portal.domain import credit_code
from portal.domain import supervision as supervision_rules
from portal.domain.blacklist import PERSON, BlacklistStatus
from portal.domain.credit import (
    BLACKLIST_RESTRICTIONS,
    new_certificate_number,
    parse_certificate_number,
)
from portal.extensions import db
from portal.models import (
    AccidentReport,
    BlacklistEntry,
    CreditCertificate,
    Decision,
    Enterprise,
    SupervisionItem,
    local_date,
    local_today,
    utcnow,
)
from portal.services.publication import supervision
from portal.services.publication.disclosures import ItemPage, PageOutOfRange
from portal.translation import lazy_gettext as _l

SIGNING_PURPOSE = "credit_certificate"  # a purpose of portal.tokens, not a secret
# A name search needs this many characters: one character matches half the register.
NAME_MIN_CHARS = 2
NAME_MAX_CHARS = 100
# Attempts at a fresh random number before giving up (40 random bits: a clash is rare).
NUMBER_ATTEMPTS = 5
SNAPSHOT_VERSION = 1
# Snapshot statuses, and how the pages say them.
STATUS_LISTED = "listed"
STATUS_NOT_LISTED = "not_listed"
STATUS_NO_RECORD = "no_record"
STATUS_LABELS = {
    STATUS_LISTED: "列入严重失信主体名单，公示期内",
    STATUS_NOT_LISTED: "未在严重失信主体名单公示期内",
    STATUS_NO_RECORD: "本平台无该企业的公开记录",
}
COUNT_LABELS = {
    "past_listings": "已期满的失信名单记录",
    "removals": "提前移出（信用修复）的失信名单记录",
    "decisions": "行政执法决定",
    "accidents": "生产安全事故调查报告",
    "supervision_open": "督办中的挂牌督办事项",
}


# --- errors ------------------------------------------------------------------------------------


class CreditCodeRejected(ValueError):
    """The typed code is not a valid 统一社会信用代码; ``str()`` says why, for the user.

    ``suggestions`` are codes on record one typo away from what was typed, with a name each.
    """

    def __init__(self, message: str, suggestions: list[Suggestion] | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions or []


class NameRejected(ValueError):
    """The name to search for is too short or too long; ``str()`` is a message for the user."""


class CertificateNotFound(LookupError):
    """No certificate has this number (mistyped, or not issued by this portal)."""


class CertificateNotGenuine(ValueError):
    """The signed code was altered or not signed here, or does not match the stored certificate."""


class CertificateExpired(ValueError):
    """A genuine certificate, past the days it can be verified; ``certificate`` says which."""

    def __init__(self, certificate: CreditCertificate, expired_on: date) -> None:
        super().__init__("expired")
        self.certificate = certificate
        self.expired_on = expired_on


class CodeInputInvalid(ValueError):
    """What was typed on the verification page is neither a number nor a signed code."""


# --- the record of one enterprise ----------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    uscc: str
    name: str


@dataclass
class CreditRecord:
    """Everything published about one credit code, as of ``today``."""

    uscc: str
    today: date
    name: str | None = None
    other_names: list[str] = field(default_factory=list)
    listings: list[BlacklistEntry] = field(default_factory=list)  # newest listing first
    # The body's responsible persons on the list (有关人员): shown with the record, but they do not
    # make the body itself listed.
    person_listings: list[BlacklistEntry] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)  # newest decision first
    accidents: list[AccidentReport] = field(default_factory=list)  # newest accident first
    # 督办事项: open ones and those closed within the last 3 years, newest listing first.
    supervision: list[SupervisionItem] = field(default_factory=list)

    @property
    def open_supervision(self) -> list[SupervisionItem]:
        return [s for s in self.supervision if not s.is_withdrawn and s.stage != "closed"]

    @property
    def major_hazards_under_supervision(self) -> list[SupervisionItem]:
        """Open 重大事故隐患 items: a certificate issued meanwhile says so."""
        return [s for s in self.open_supervision
                if s.supervision_type == supervision_rules.HAZARD and s.grade == "重大"]

    def _listings_in(self, status: BlacklistStatus) -> list[BlacklistEntry]:
        return [e for e in self.listings if not e.is_withdrawn and e.status(self.today) is status]

    @property
    def active_listings(self) -> list[BlacklistEntry]:
        return self._listings_in(BlacklistStatus.ACTIVE)

    @property
    def past_listings(self) -> list[BlacklistEntry]:
        """Listings that ran their full term."""
        return self._listings_in(BlacklistStatus.EXPIRED)

    @property
    def removals(self) -> list[BlacklistEntry]:
        """Listings ended early by 信用修复."""
        return self._listings_in(BlacklistStatus.REMOVED)

    @property
    def pending_listings(self) -> list[BlacklistEntry]:
        return self._listings_in(BlacklistStatus.PENDING)

    @property
    def withdrawn_listings(self) -> list[BlacklistEntry]:
        return [e for e in self.listings if e.is_withdrawn]

    @property
    def has_record(self) -> bool:
        return bool(self.listings or self.person_listings or self.decisions or self.accidents
                    or self.supervision)

    @property
    def status(self) -> str:
        if self.active_listings:
            return STATUS_LISTED
        return STATUS_NOT_LISTED if self.has_record else STATUS_NO_RECORD

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def restrictions(self) -> tuple[str, ...]:
        return BLACKLIST_RESTRICTIONS if self.active_listings else ()

    @property
    def last_changed(self) -> datetime | None:
        """The latest publication, change or withdrawal of any item of the record."""
        moments = [
            moment
            for item in (*self.listings, *self.decisions, *self.accidents, *self.supervision)
            for moment in (item.published_at, item.modified_at, item.withdrawn_at)
            if moment is not None
        ]
        return max(moments) if moments else None

    def counts(self) -> dict[str, int]:
        """Items that count (withdrawn ones do not), by kind."""
        return {
            "past_listings": len(self.past_listings),
            "removals": len(self.removals),
            "decisions": sum(1 for d in self.decisions if not d.is_withdrawn),
            "accidents": sum(1 for a in self.accidents if not a.is_withdrawn),
            "supervision_open": len(self.open_supervision),
        }

    def snapshot(self, at: datetime) -> dict[str, Any]:
        """What a certificate issued at ``at`` states: JSON-safe, stored as issued."""
        return {
            "version": SNAPSHOT_VERSION,
            "uscc": self.uscc,
            "name": self.name or "",
            "issued_at": at.isoformat(),
            "as_of": self.today.isoformat(),
            "status": self.status,
            "active_listings": [
                {
                    "id": e.id,
                    "listed_on": e.listed_on.isoformat(),
                    "ends_on": e.ends_on.isoformat(),
                    "grounds": e.grounds,
                    "department": e.department.name,
                }
                for e in self.active_listings
            ],
            "restrictions": list(self.restrictions),
            "major_hazards": [
                {"id": s.id, "notice_no": s.notice_no, "listed_on": s.listed_on.isoformat(),
                 "title": s.title, "due_on": s.due_on.isoformat()}
                for s in self.major_hazards_under_supervision
            ],
            "counts": self.counts(),
            "last_changed": self.last_changed.isoformat() if self.last_changed else None,
        }


def _belongs_to(model: Any, uscc: str) -> ColumnElement[bool]:
    """Items that carry the code, or name the enterprise row that has it."""
    enterprise_ids = select(Enterprise.id).where(Enterprise.uscc == uscc)
    return or_(model.uscc == uscc, model.enterprise_id.in_(enterprise_ids))


def _published_of(model: Any, uscc: str, *order: Any) -> list[Any]:
    stmt = (
        select(model)
        .where(model.published_at.is_not(None), _belongs_to(model, uscc))
        .order_by(*order, model.id.desc())
    )
    return list(db.session.scalars(stmt).unique())


def record_for(uscc: str, today: date | None = None) -> CreditRecord:
    """The published record of a (valid, normalised) credit code as of ``today``."""
    record = CreditRecord(uscc=uscc, today=today or local_today())
    every_listing = _published_of(BlacklistEntry, uscc, BlacklistEntry.listed_on.desc())
    record.listings = [e for e in every_listing if not e.is_person]
    record.person_listings = [e for e in every_listing if e.is_person and not e.is_withdrawn]
    record.decisions = _published_of(Decision, uscc, Decision.decision_date.desc())
    record.accidents = _published_of(AccidentReport, uscc, AccidentReport.occurred_on.desc())
    record.supervision = supervision.for_enterprise(uscc, record.today)
    names = [
        *(e.enterprise_name for e in record.listings),
        *(d.party_name for d in record.decisions),
        *(a.enterprise_name for a in record.accidents),
        *(s.enterprise_name for s in record.supervision),
    ]
    names = [n for n in dict.fromkeys(names) if n]
    if record.has_record:
        # The enterprise row carries the current name; an unpublished row names nobody.
        row_name = db.session.scalar(select(Enterprise.name).where(Enterprise.uscc == uscc))
        record.name = row_name or (names[0] if names else None)
        record.other_names = [n for n in names if n != record.name]
    return record


def check_code(raw: str, today: date | None = None) -> CreditRecord:
    """Parse ``raw`` (normalised first) and return its record.

    Raises ``CreditCodeRejected`` with a message naming what is wrong and, where one typo away
    from the input there is a code on record, those codes as suggestions.
    """
    try:
        code = credit_code.parse(raw).value
    except credit_code.CheckCharacterMismatch as error:
        raise CreditCodeRejected(
            _l("校验码不符：按前 17 位计算，第 18 位应为“%(expected)s”，"
               "您输入的是“%(got)s”。请核对是否有一位输错或两位颠倒。",
               expected=error.expected, got=error.code[17]),
            suggestions(raw),
        ) from None
    except credit_code.CreditCodeInvalid as error:
        raise CreditCodeRejected(str(error), suggestions(raw)) from None
    return record_for(code, today)


def _codes_on_record() -> list[Any]:
    """Selects of (uscc, name) for every published item that names an enterprise."""
    published_enterprises = union_all(
        *(
            select(model.enterprise_id).where(
                model.published_at.is_not(None), model.enterprise_id.is_not(None)
            )
            for model in (Decision, AccidentReport, BlacklistEntry)
        )
    )
    return [
        select(Decision.uscc.label("uscc"), Decision.party_name.label("name")).where(
            Decision.published_at.is_not(None), Decision.uscc.is_not(None)
        ),
        select(AccidentReport.uscc, AccidentReport.enterprise_name).where(
            AccidentReport.published_at.is_not(None), AccidentReport.uscc.is_not(None)
        ),
        select(BlacklistEntry.uscc, BlacklistEntry.enterprise_name).where(
            BlacklistEntry.published_at.is_not(None)
        ),
        # 督办事项 on the record (issue 15 §4): an enterprise known only through one is found
        # by its name and its code's typos like any other.
        select(SupervisionItem.uscc, SupervisionItem.enterprise_name).where(
            SupervisionItem.uscc.is_not(None), supervision.on_credit_record()
        ),
        # The enterprises table also holds the parties of drafts: only those with a published
        # item are on record, or a suggestion would reveal a draft.
        select(Enterprise.uscc, Enterprise.name).where(Enterprise.id.in_(published_enterprises)),
    ]


def suggestions(raw: str) -> list[Suggestion]:
    """Codes on record one typo away from ``raw`` (see ``credit_code.one_typo_away``)."""
    candidates = credit_code.one_typo_away(raw)
    if not candidates:
        return []
    on_record = union_all(*_codes_on_record()).subquery()
    rows = db.session.execute(
        select(on_record.c.uscc, func.min(on_record.c.name))
        .where(on_record.c.uscc.in_(candidates))
        .group_by(on_record.c.uscc)
    ).all()
    names = {uscc: name for uscc, name in rows}
    return [Suggestion(c, names[c]) for c in candidates if c in names]


# --- search by name --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameHit:
    uscc: str
    name: str


@dataclass(frozen=True)
class NamePage(ItemPage):
    """A page of enterprises found by name (the lists' page, plus what was searched)."""

    query: str


_BRACKETS = str.maketrans({"(": "（", ")": "）"})


def normalize_name(raw: str) -> str:
    """Full-width letters and digits to half-width, lower case, no spaces, and Chinese
    brackets (the register writes 有限公司（分公司） with full-width ones)."""
    text = unicodedata.normalize("NFKC", raw or "").lower()
    return "".join(text.split()).translate(_BRACKETS)


def _name_key(column: Any) -> Any:
    """The SQL twin of ``normalize_name`` for stored names (portable: lower and replace)."""
    key = func.replace(func.lower(column), " ", "")
    return func.replace(func.replace(key, "(", "（"), ")", "）")


def find_by_name(raw: str, *, page: int = 1, per_page: int | None = None) -> NamePage:
    """Enterprises on record whose name contains ``raw``, by name, one page of them.

    Raises ``NameRejected`` for a name too short or too long and ``PageOutOfRange`` for a page
    past the last (page 1 of no hits is not out of range).
    """
    query = normalize_name(raw)
    if len(query) < NAME_MIN_CHARS:
        raise NameRejected(_l("请至少输入企业名称中的 %(n)s 个字。", n=NAME_MIN_CHARS))
    if len(query) > NAME_MAX_CHARS:
        raise NameRejected(_l("企业名称最多 %(n)s 个字。", n=NAME_MAX_CHARS))
    per_page = per_page or current_app.config["SETTINGS"].page_size
    on_record = union_all(*_codes_on_record()).subquery()
    matching = (
        select(on_record.c.uscc, func.min(on_record.c.name).label("name"))
        .where(_name_key(on_record.c.name).contains(query, autoescape=True))
        .group_by(on_record.c.uscc)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(matching)) or 0
    pages = max(1, math.ceil(total / per_page))
    if page > pages:
        raise PageOutOfRange(page, pages)
    rows = db.session.execute(
        select(matching.c.uscc, matching.c.name)
        .order_by(matching.c.name, matching.c.uscc)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return NamePage(query=query, items=[NameHit(u, n) for u, n in rows], total=total,
                    page=page, per_page=per_page)


PERSON_HITS_MAX = 50


@dataclass(frozen=True)
class PersonHits:
    """Persons (有关人员) on the list whose name contains the query: their published, not
    withdrawn entries, newest listing first; ``more`` when there were over ``PERSON_HITS_MAX``."""

    entries: list[BlacklistEntry]
    more: bool


def find_persons_by_name(raw: str) -> PersonHits:
    """The name box finds listed persons too: a person has no credit code of their own (their
    entry carries the body's), so each hit is the entry itself, shown with its body's name and
    code.  Checked like ``find_by_name`` (``NameRejected``).  The ID number is never part of a
    hit: the entry's page shows it masked."""
    query = normalize_name(raw)
    if len(query) < NAME_MIN_CHARS:
        raise NameRejected(_l("请至少输入企业名称中的 %(n)s 个字。", n=NAME_MIN_CHARS))
    if len(query) > NAME_MAX_CHARS:
        raise NameRejected(_l("企业名称最多 %(n)s 个字。", n=NAME_MAX_CHARS))
    found = list(db.session.scalars(
        select(BlacklistEntry).where(
            BlacklistEntry.subject_type == PERSON,
            BlacklistEntry.published_at.is_not(None),
            BlacklistEntry.withdrawn_at.is_(None),
            _name_key(BlacklistEntry.person_name).contains(query, autoescape=True),
        ).order_by(BlacklistEntry.listed_on.desc(), BlacklistEntry.id.desc())
        .limit(PERSON_HITS_MAX + 1)
    ).unique())
    return PersonHits(found[:PERSON_HITS_MAX], len(found) > PERSON_HITS_MAX)


# --- certificates ------------------------------------------------------------------------------------


def _validity_days() -> int:
    return current_app.config["SETTINGS"].credit_certificate_days


def snapshot_digest(snapshot: dict[str, Any]) -> str:
    """A short digest of the snapshot, carried in the signed code."""
    canonical = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def expires_on(certificate: CreditCertificate) -> date:
    """The last Beijing date on which the certificate can still be verified."""
    return local_date(certificate.issued_at) + timedelta(days=_validity_days())


def verification_url(certificate: CreditCertificate) -> str:
    """The absolute URL in the certificate's QR code."""
    return url_for("credit.verify", code=certificate.verification_code, _external=True)


def issue_certificate(raw_code: str) -> CreditCertificate:
    """Issue (and commit) a certificate of the record of ``raw_code`` as it is now, with its
    audit event.

    Raises ``CreditCodeRejected`` for an invalid code.  A code without any record gets a
    certificate too: it states that this portal has no published record of it.
    """
    record = check_code(raw_code)
    now = utcnow()
    snapshot = record.snapshot(now)
    # Counted once per certificate, whichever number draw succeeds.
    checkpoint = audit.count_anonymous("credit_certificate_issue")
    for _ in range(NUMBER_ATTEMPTS):
        number = new_certificate_number()
        signed = tokens.sign(SIGNING_PURPOSE, {"n": number, "d": snapshot_digest(snapshot)})
        certificate = CreditCertificate(
            number=number, uscc=record.uscc, enterprise_name=record.name or "",
            issued_at=now, snapshot=snapshot, verification_code=signed,
        )
        db.session.add(certificate)
        try:
            # By nobody in particular: the requester is a visitor, and no address, agent or
            # account of theirs is recorded.  Anyone can ask, so the log keeps checkpoints of
            # each hour's count (audit.record_anonymous), not a row per certificate; the
            # certificate itself is its own record (credit_certificates, signed).
            if checkpoint is not None:
                audit.record(db.session, "credit_certificate_issue",
                             actor_name=audit.ANONYMOUS_ACTOR, object_kind="credit_certificate",
                             object_id=number, summary={"uscc": record.uscc, "number": number,
                                                        **checkpoint.summary()})
            db.session.commit()
        except IntegrityError:  # the number was taken: draw another
            db.session.rollback()
            continue
        return certificate
    raise RuntimeError("could not draw an unused certificate number")


def get_certificate(raw_number: str) -> CreditCertificate:
    """The certificate with this number (typos in case, spaces and hyphens tolerated)."""
    number = parse_certificate_number(raw_number)
    if number is None:
        raise CertificateNotFound(raw_number)
    certificate = db.session.scalar(
        select(CreditCertificate).where(CreditCertificate.number == number)
    )
    if certificate is None:
        raise CertificateNotFound(number)
    return certificate


@dataclass(frozen=True)
class Verification:
    """A genuine, unexpired certificate, what it said, and what changed since."""

    certificate: CreditCertificate
    expires_on: date
    current: CreditRecord
    changes: list[str]

    @property
    def said(self) -> dict[str, Any]:
        return self.certificate.snapshot

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def changes_since(said: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between a certificate's snapshot and the same record now, in words."""
    changes = []
    if said["status"] != now["status"]:
        changes.append(
            f"状态：出具时为“{STATUS_LABELS[said['status']]}”，现为“{STATUS_LABELS[now['status']]}”。"
        )
    else:
        said_ids = {e["id"] for e in said["active_listings"]}
        now_ids = {e["id"] for e in now["active_listings"]}
        if said_ids != now_ids:
            changes.append(
                f"公示期内的失信名单记录：出具时 {len(said_ids)} 条，现为 {len(now_ids)} 条"
                "（记录有变化）。"
            )
    for key, label in COUNT_LABELS.items():
        before, after = said["counts"].get(key, 0), now["counts"].get(key, 0)
        if before != after:
            changes.append(f"{label}：出具时 {before} 条，现为 {after} 条。")
    if not changes and said.get("last_changed") != now.get("last_changed"):
        changes.append("状态和各类记录数量未变，但有记录在出具后更新或撤回，请查看当前记录。")
    return changes


def _check_age(certificate: CreditCertificate, today: date) -> date:
    last_day = expires_on(certificate)
    if today > last_day:
        raise CertificateExpired(certificate, last_day)
    return last_day


def _extract_signed(raw: str) -> str:
    """The signed code, also from a whole pasted verification URL."""
    text = (raw or "").strip()
    if "?" in text and "code=" in text:
        values = parse_qs(urlsplit(text).query).get("code")
        if values:
            return values[0].strip()
    return text


def _number_in_url(raw: str) -> str:
    """The number from a pasted certificate page URL (``…/credit/certificate?number=…``)."""
    text = (raw or "").strip()
    if "?" in text and "number=" in text:
        values = parse_qs(urlsplit(text).query).get("number")
        if values:
            return values[0]
    return text


def verify(raw: str, today: date | None = None) -> Verification:
    """Check what was typed (a certificate number) or scanned (the signed code, or its URL).

    Raises ``CodeInputInvalid`` for input that is neither, ``CertificateNotFound`` for an
    unknown number, ``CertificateNotGenuine`` for an altered or foreign signed code, and
    ``CertificateExpired`` once ``credit_certificate_days`` have passed since issue.
    """
    today = today or local_today()
    number = parse_certificate_number(_number_in_url(raw))
    if number is not None:
        certificate = get_certificate(number)
    else:
        signed = _extract_signed(raw)
        if "." not in signed:
            raise CodeInputInvalid(raw)
        max_age = (_validity_days() + 1) * 86_400  # the date check below is the exact one
        try:
            payload = tokens.unsign(SIGNING_PURPOSE, signed, max_age_seconds=max_age)
        except tokens.TokenExpired:
            certificate = _certificate_of_expired_code(signed)
            raise CertificateExpired(certificate, expires_on(certificate)) from None
        except tokens.TokenInvalid:
            raise CertificateNotGenuine(raw) from None
        if not isinstance(payload, dict) or not isinstance(payload.get("n"), str):
            raise CertificateNotGenuine(raw)
        try:
            certificate = get_certificate(payload["n"])
        except CertificateNotFound:
            raise CertificateNotGenuine(raw) from None
        if payload.get("d") != snapshot_digest(certificate.snapshot):
            raise CertificateNotGenuine(raw)
    last_day = _check_age(certificate, today)
    current = record_for(certificate.uscc, today)
    now = current.snapshot(utcnow())
    return Verification(certificate, last_day, current, changes_since(certificate.snapshot, now))


def _certificate_of_expired_code(signed: str) -> CreditCertificate:
    """The certificate an expired (but genuinely signed) code names, to say which one expired."""
    payload = tokens.unsign(SIGNING_PURPOSE, signed, max_age_seconds=10**10)
    try:
        return get_certificate(payload["n"])
    except (CertificateNotFound, KeyError, TypeError):
        raise CertificateNotGenuine(signed) from None


def feed_entries(record: CreditRecord, item_url: Any, limit: int = 50) -> list[dict[str, Any]]:
    """What the per-credit-code Atom feed says: every published item of the record (listings,
    the body's persons' listings, decisions, accidents, 督办 items), and a removal from the list
    as an entry of its own; newest change first.  ``item_url(item)`` gives an item's permalink."""
    from portal.services.publication.opendata import item_entry

    entries = []
    for item in (*record.listings, *record.person_listings, *record.decisions,
                 *record.accidents, *record.supervision):
        entries.append(item_entry(item, item_url(item)))
        if isinstance(item, BlacklistEntry) and item.removed_on is not None:
            entries.append({
                "url": item_url(item) + "#removed",
                "title": f"{item.title}：提前移出名单（信用修复）",
                "updated": item.modified_at, "published": item.modified_at,
                "summary": f"{item.removed_on.isoformat()} 提前移出：{item.removal_reason or ''}",
            })
    entries.sort(key=lambda e: e["updated"], reverse=True)
    return entries[:limit]
