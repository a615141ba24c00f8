"""Anonymous reports, the reporter's side: drafts, submission, receipt lookup, follow-up steps,
and the retention purge (DESIGN.md §3, DOMAIN.md §3).

Usable inside a request (the views) and outside one (commands, the demo data, benchmarks): every
function needs only an app context.  Nothing here stores or logs who the reporter is: no
address, no user agent, and dates rather than times (a draft keeps the hour it was made, so
``purge-reports`` can clear it within a day).

The main entry points::

    report, code = submit(fields, photos)        # code: grouped receipt code, shown once
    report = find_by_receipt(code)               # ReceiptNotFound for any wrong code
"""

from __future__ import annotations

import json
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from portal import audit, images, receipts, tokens
from portal.credentials import keyed_digest, site_keys
from portal.domain import credit_code
from portal.domain.catalog import COUNTIES, REPORT_ACCEPTANCE_WORKING_DAYS
from portal.extensions import db
from portal.images import CleanImage
from portal.models import (
    REPORT_KINDS,
    Report,
    ReportDraft,
    ReportMessage,
    ReportPhoto,
    local_date,
    local_today,
    utcnow,
)
from portal.translation import lazy_gettext as _l
from portal.working_days import working_calendar

MAX_PHOTOS = 5  # per report as sent, and per reply
# All the photos of one report, with every reply's: each photo costs a decode, storage and a
# thumbnail on every view of the case, so one receipt code cannot add them without end.
MAX_PHOTOS_PER_REPORT = 20
# How long a thumbnail's address on the reporter's case page works (it is made for one view).
PHOTO_LINK_SECONDS = 10 * 60
MAX_ROW_ID = 2**31 - 1  # larger ids in a URL are refused before PostgreSQL's INTEGER overflows
# Field lengths (characters).  Generous for a description, short where a line is expected.
NAME_MAX = 200
PLACE_MAX = 200
DESCRIPTION_MAX = 5000
SEEN_SINCE_MAX = 100
CONTACT_MAX = 100
MESSAGE_MAX = 5000
# An unsent draft (and its photos) is deleted by purge-reports once it is this old.
DRAFT_MAX_AGE = timedelta(days=1)
# The fields a report is made of; a draft holds exactly these.
FIELDS = ("kind", "enterprise_name", "uscc", "county", "place", "description", "seen_since",
          "contact")


class ReportError(Exception):
    """A step was refused; ``str()`` is a message for the reporter."""


class ReportInvalid(ReportError):
    """Fields missing or out of range (the form checks first; this guards other callers)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(str(message) for message in errors.values()))
        self.errors = errors


class TooManyPhotos(ReportError):
    pass


class PhotoLinkInvalid(ReportError):
    """A photo link that is expired, altered, or for a photo that is gone: one answer for all."""


class DraftNotFound(ReportError):
    """The draft was sent already, cleared as abandoned, or never existed."""


class ReportNotStored(ReportError):
    """Saving the report failed; nothing was stored and no receipt exists."""


class ReceiptNotFound(ReportError):
    """No report has this receipt code (or it is not a code at all): one answer for both."""


class StepRefused(ReportError):
    """The report is not in a state that allows this step."""


# ---------------------------------------------------------------- keys and digests


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def normalize_name(name: str) -> str:
    """An enterprise name as compared for duplicates: NFKC, no spaces, lower case."""
    text = unicodedata.normalize("NFKC", name or "")
    return "".join(ch for ch in text if not ch.isspace()).lower()


def enterprise_digests(
    name: str | None, uscc: str | None, *, secret_key: str | None = None
) -> tuple[str | None, str | None]:
    """(name_digest, uscc_digest): keyed digests by which the staff side finds candidate
    duplicates without any report text leaving its encrypted columns (newest key unless
    ``secret_key`` is given: reports stored before a key rotation carry the older one's)."""
    key = secret_key or _secret()
    name_key = normalize_name(name or "")
    code_key = credit_code.normalize(uscc or "")
    return (
        keyed_digest(key, "report.name", name_key) if name_key else None,
        keyed_digest(key, "report.uscc", code_key) if code_key else None,
    )


# ---------------------------------------------------------------- fields and drafts


def clean_fields(values: Mapping[str, Any]) -> dict[str, str | None]:
    """The report's fields from ``values``, trimmed and checked; ``ReportInvalid`` otherwise.

    ``uscc`` and ``contact`` are optional (None when empty); the credit code must pass
    GB 32100's check and is stored normalised."""
    fields: dict[str, str | None] = {}
    for name in FIELDS:
        value = values.get(name)
        fields[name] = str(value).replace("\x00", "").strip() if value is not None else ""
    errors: dict[str, str] = {}
    if fields["kind"] not in REPORT_KINDS:
        errors["kind"] = _l("请选择举报类别。")
    if fields["county"] not in COUNTIES:
        errors["county"] = _l("请选择县（市、区）。")
    limits = {"enterprise_name": NAME_MAX, "place": PLACE_MAX, "description": DESCRIPTION_MAX,
              "seen_since": SEEN_SINCE_MAX}
    for name, limit in limits.items():
        if not fields[name]:
            errors[name] = _l("必填。")
        elif len(fields[name] or "") > limit:
            errors[name] = _l("最多 %(max)s 字。", max=limit)
    if fields["uscc"]:
        try:
            fields["uscc"] = credit_code.parse(fields["uscc"] or "").value
        except credit_code.CreditCodeInvalid as exc:
            errors["uscc"] = str(exc)
    else:
        fields["uscc"] = None
    if not fields["contact"]:
        fields["contact"] = None
    elif len(fields["contact"] or "") > CONTACT_MAX:
        errors["contact"] = _l("最多 %(max)s 字。", max=CONTACT_MAX)
    if errors:
        raise ReportInvalid(errors)
    return fields


def _photo(image: CleanImage, **owner: Any) -> ReportPhoto:
    return ReportPhoto(media_type=image.media_type, width=image.width, height=image.height,
                       data=image.data, thumbnail=image.thumbnail or None,
                       thumbnail_media_type=image.thumbnail_media_type or None, **owner)


def photo_thumbnail(photo: ReportPhoto) -> tuple[bytes, str]:
    """The photo's thumbnail (bytes, media type): the one stored with it, or, for a photo
    stored before thumbnails were kept, one made from it."""
    if photo.thumbnail and photo.thumbnail_media_type:
        return photo.thumbnail, photo.thumbnail_media_type
    try:
        return images.thumbnail(photo.data)
    except (OSError, ValueError, SyntaxError, EOFError):
        # Not decodable here (it was cleaned when stored): the photo itself still shows.
        return photo.data, photo.media_type


def get_draft(draft_id: str | None) -> ReportDraft | None:
    """The draft with this id (from the reporter's session), if it still exists."""
    if not draft_id or not isinstance(draft_id, str):
        return None
    return db.session.get(ReportDraft, draft_id)


def draft_fields(draft: ReportDraft) -> dict[str, Any]:
    """What the reporter typed, as saved in the draft (encrypted JSON)."""
    return json.loads(draft.payload)


def draft_photos(draft: ReportDraft) -> list[ReportPhoto]:
    """The photos held for ``draft``, in upload order."""
    return list(db.session.scalars(
        select(ReportPhoto).where(ReportPhoto.draft_id == draft.id).order_by(ReportPhoto.id)
    ))


def save_draft(
    draft: ReportDraft | None,
    values: Mapping[str, Any],
    photos: Iterable[CleanImage] = (),
    *,
    remove_photo_ids: Iterable[int] = (),
) -> ReportDraft:
    """Keep what the reporter typed and the photos uploaded so far, encrypted, until they send
    it.  ``values`` are kept as typed (even if not yet valid), so the form can show them again.
    Raises ``TooManyPhotos`` if the draft would hold more than ``MAX_PHOTOS``."""
    if draft is None:
        draft = ReportDraft(id=secrets.token_urlsafe(32), payload="{}",
                            created_hour=utcnow().replace(minute=0, second=0, microsecond=0))
        db.session.add(draft)
        db.session.flush()
    remove = set(remove_photo_ids)
    kept = [p for p in draft_photos(draft) if p.id not in remove]
    for photo in draft_photos(draft):
        if photo.id in remove:
            db.session.delete(photo)
    new = list(photos)
    if len(kept) + len(new) > MAX_PHOTOS:
        db.session.rollback()
        raise TooManyPhotos(_l("最多 %(max)s 张照片，已有 %(kept)s 张。", max=MAX_PHOTOS,
                                  kept=len(kept)))
    for image in new:
        db.session.add(_photo(image, draft_id=draft.id))
    typed = {name: str(values.get(name) or "") for name in FIELDS}
    typed["callback"] = bool(values.get("callback"))
    draft.payload = json.dumps(typed, ensure_ascii=False)
    db.session.commit()
    return draft


def draft_photo(draft_id: str | None, photo_id: int) -> ReportPhoto | None:
    """A photo of this draft, or None (another draft's photos are never served)."""
    if not draft_id or not 0 < photo_id <= MAX_ROW_ID:
        return None
    photo = db.session.get(ReportPhoto, photo_id)
    if photo is None or photo.draft_id != draft_id:
        return None
    return photo


def discard_draft(draft: ReportDraft) -> None:
    """Delete a draft and its photos now (the reporter abandons it)."""
    db.session.execute(delete(ReportPhoto).where(ReportPhoto.draft_id == draft.id))
    db.session.delete(draft)
    db.session.commit()


# ---------------------------------------------------------------- submission


def submit(
    values: Mapping[str, Any],
    photos: Iterable[CleanImage] = (),
    *,
    draft: ReportDraft | None = None,
    today: date | None = None,
    language: str = "zh",
) -> tuple[Report, str]:
    """Store a report and return it with its receipt code (grouped, e.g. ``7KQ2-XM9D-…``).

    One transaction: the report, its photos (new ``photos`` and those of ``draft``), the
    "received" step, and the draft's deletion; the code exists only once that has committed,
    and only its Argon2id digest is stored.  ``ReportInvalid`` for bad fields,
    ``ReportNotStored`` if the database refused (nothing is stored then), ``DraftNotFound``
    if ``draft`` was sent meanwhile by another request."""
    fields = clean_fields(values)
    new_photos = list(photos)
    draft_photo_ids = [p.id for p in draft_photos(draft)] if draft is not None else []
    if len(new_photos) + len(draft_photo_ids) > min(MAX_PHOTOS, MAX_PHOTOS_PER_REPORT):
        raise TooManyPhotos(_l("最多 %(max)s 张照片。", max=MAX_PHOTOS))
    today = today or local_today()
    secret = _secret()
    code = receipts.new_code(secret)
    name_digest, uscc_digest = enterprise_digests(fields["enterprise_name"], fields["uscc"])
    report = Report(
        receipt_digest=receipts.digest(code, secret),
        kind=fields["kind"],
        status="received",
        received_on=today,
        county=fields["county"],
        enterprise_name=fields["enterprise_name"],
        uscc=fields["uscc"],
        name_digest=name_digest,
        uscc_digest=uscc_digest,
        place=fields["place"],
        description=fields["description"],
        seen_since=fields["seen_since"],
        contact=fields["contact"],
        language=language,
        acceptance_due=working_calendar().add_working_days(
            today, REPORT_ACCEPTANCE_WORKING_DAYS).due,
    )
    # Assigned by its county to a handler (need-to-know, ``cases``).  Deliberately not an
    # audit event: those carry the time to the second, which would date the reporter's visit;
    # the rule and the report's row say who got it.
    from portal.services.reporting import cases  # late: cases imports this module

    try:
        report.handler_id = cases.handler_for_county(fields["county"])
        db.session.add(report)
        report.add_event("received", today)
        db.session.flush()
        for image in new_photos:
            db.session.add(_photo(image, report_id=report.id))
        if draft is not None:
            if draft_photo_ids:
                db.session.execute(
                    update(ReportPhoto).where(ReportPhoto.id.in_(draft_photo_ids))
                    .values(report_id=report.id, draft_id=None)
                )
            gone = db.session.execute(delete(ReportDraft).where(ReportDraft.id == draft.id))
            if gone.rowcount != 1:
                # Sent twice at once (a double click): the other request stored it already.
                db.session.rollback()
                raise DraftNotFound(_l("这份举报已经提交。"))
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise ReportNotStored(_l("举报未能保存。")) from exc
    return report, receipts.grouped(code)


def submit_draft(draft: ReportDraft, *, today: date | None = None,
                 language: str = "zh") -> tuple[Report, str]:
    """``submit`` the fields and photos of ``draft`` (the check-your-answers step's 提交), made
    on the pages in ``language``."""
    values = draft_fields(draft)
    if not values.get("callback"):
        values["contact"] = ""
    return submit(values, draft=draft, today=today, language=language)


# ---------------------------------------------------------------- follow-up


def find_by_receipt(code: str) -> Report:
    """The report whose receipt code is ``code`` (any case, spaces, hyphens).

    ``ReceiptNotFound`` for a code that does not check out and for one that checks out but
    matches no report: the same error after the same Argon2id work, so neither the answer
    nor (with the caller's ``receipts.MinimumDuration``) the time tells them apart."""
    found = receipts.candidate_digests(code, site_keys())
    report = None
    if found:
        report = db.session.scalar(select(Report).where(Report.receipt_digest.in_(found)))
    if report is None:
        raise ReceiptNotFound(_l("回执码无效。"))
    return report


def add_reply(report: Report, body: str, photos: Iterable[CleanImage] = (),
              *, today: date | None = None) -> ReportMessage:
    """A message from the reporter to the handler, with up to ``MAX_PHOTOS`` photos, and
    never more than ``MAX_PHOTOS_PER_REPORT`` for the report in all (``TooManyPhotos``)."""
    if report.purged_on is not None:
        raise StepRefused(_l("此举报的内容已按保存期限清除，无法再补充。"))
    body = (body or "").replace("\x00", "").strip()
    if not body:
        raise ReportInvalid({"body": _l("请填写要补充的内容。")})
    if len(body) > MESSAGE_MAX:
        raise ReportInvalid({"body": _l("最多 %(max)s 字。", max=MESSAGE_MAX)})
    new_photos = list(photos)
    if len(new_photos) > MAX_PHOTOS:
        raise TooManyPhotos(_l("每次最多 %(max)s 张照片。", max=MAX_PHOTOS))
    left = photos_left(report)
    if len(new_photos) > left:
        raise TooManyPhotos(
            _l("每份举报最多 %(max)s 张照片，还能添加 %(left)s 张，这次选择了 %(chosen)s 张。",
               max=MAX_PHOTOS_PER_REPORT, left=left, chosen=len(new_photos)) if left else
            _l("这份举报已有 %(max)s 张照片，不能再添加；可以只发送文字。",
               max=MAX_PHOTOS_PER_REPORT))
    message = ReportMessage(sent_on=today or local_today(), author="reporter", body=body)
    report.messages.append(message)
    db.session.flush()
    for image in new_photos:
        db.session.add(_photo(image, report_id=report.id, message_id=message.id))
    db.session.commit()
    return message


def can_reopen(report: Report) -> bool:
    """A case closed as rectified can be reopened by the reporter ("仍未整改")."""
    return report.status == "closed" and report.closed_as == "rectified" and not report.purged_on


def reopen(report: Report, reason: str, *, today: date | None = None) -> None:
    """The reporter says the hazard was not actually fixed: the case goes back to the handler."""
    if not can_reopen(report):
        raise StepRefused(_l("只有以“已整改”办结的举报才能反映仍未整改。"))
    reason = (reason or "").replace("\x00", "").strip()
    if not reason:
        raise ReportInvalid({"reason": _l("请说明仍未整改的情况。")})
    if len(reason) > MESSAGE_MAX:
        raise ReportInvalid({"reason": _l("最多 %(max)s 字。", max=MESSAGE_MAX)})
    report.status = "reopened"
    report.add_event("reopened", today or local_today(), note=reason)
    db.session.commit()


def photos_left(report: Report) -> int:
    """How many more photos the report may receive (``MAX_PHOTOS_PER_REPORT`` in all)."""
    count = db.session.scalar(
        select(func.count()).select_from(ReportPhoto).where(ReportPhoto.report_id == report.id))
    return max(0, MAX_PHOTOS_PER_REPORT - (count or 0))


def photo_link(photo: ReportPhoto) -> str:
    """A signed, expiring token that shows this one photo's thumbnail (``PHOTO_LINK_SECONDS``).

    It stands in for the receipt code, which must never be in a URL: the case page (answered to
    a POST of the code) hands out one per photo, and each opens nothing but that thumbnail."""
    return tokens.sign("report_photo", [photo.report_id, photo.id])


def photo_by_link(token: str) -> ReportPhoto:
    """The photo a ``photo_link`` token was made for; ``PhotoLinkInvalid`` if the token is
    expired, altered or its photo is gone (a purged report's, say)."""
    try:
        report_id, photo_id = tokens.unsign("report_photo", token,
                                            max_age_seconds=PHOTO_LINK_SECONDS)
    except (tokens.TokenInvalid, TypeError, ValueError):
        raise PhotoLinkInvalid(_l("照片链接已失效。")) from None
    if not (isinstance(photo_id, int) and 0 < photo_id <= MAX_ROW_ID):
        raise PhotoLinkInvalid(_l("照片链接已失效。"))
    photo = db.session.get(ReportPhoto, photo_id)
    if photo is None or photo.report_id is None or photo.report_id != report_id:
        raise PhotoLinkInvalid(_l("照片链接已失效。"))
    return photo


def staff_photo_link(photo: ReportPhoto, *, viewer_id: int) -> str:
    """A signed token, made on an audited view of the report page, that lets ``viewer_id`` load
    this photo's thumbnail for ``PHOTO_LINK_SECONDS``.  The view is audited once for the page;
    the thumbnails it shows need no audit event each, and no one gets one without that view."""
    return tokens.sign("staff_report_photo", [photo.report_id, photo.id, viewer_id])


def check_staff_photo_link(token: str, photo: ReportPhoto, *, viewer_id: int) -> None:
    """``PhotoLinkInvalid`` unless ``token`` was made by ``staff_photo_link`` for this photo
    and this viewer, less than ``PHOTO_LINK_SECONDS`` ago."""
    try:
        payload = tokens.unsign("staff_report_photo", token, max_age_seconds=PHOTO_LINK_SECONDS)
    except tokens.TokenInvalid:
        raise PhotoLinkInvalid(_l("照片链接已失效。")) from None
    if payload != [photo.report_id, photo.id, viewer_id]:
        raise PhotoLinkInvalid(_l("照片链接已失效。"))


def photos_of(report: Report) -> tuple[list[ReportPhoto], dict[int, list[ReportPhoto]]]:
    """The report's own photos, and the photos of each message by message id."""
    own: list[ReportPhoto] = []
    by_message: dict[int, list[ReportPhoto]] = {}
    for photo in report.photos:
        if photo.message_id is None:
            own.append(photo)
        else:
            by_message.setdefault(photo.message_id, []).append(photo)
    return own, by_message


# ---------------------------------------------------------------- retention


@dataclass(frozen=True)
class PurgeResult:
    drafts: int
    reports: int


def retention_cutoff(today: date, years: int) -> date:
    """Reports closed before this date have their content erased today: ``years`` before
    ``today`` (29 February falls back to 28 February in a common year)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def purge_reports(*, now: datetime | None = None) -> PurgeResult:
    """Delete drafts older than a day (with their photos) and erase the content of reports
    closed (or declined) more than ``report_retention_years`` ago.

    Kept for the statistics: kind, county, dates, states, results and amounts.  Erased: the
    enterprise, place, description, contact, reasons and notes, message texts, every photo,
    payment details, and the enterprise digests.  One transaction, one audit event."""
    now = now or utcnow()
    today = local_date(now)
    drafts = list(db.session.scalars(
        select(ReportDraft.id).where(ReportDraft.created_hour < now - DRAFT_MAX_AGE)
    ))
    if drafts:
        db.session.execute(delete(ReportPhoto).where(ReportPhoto.draft_id.in_(drafts)))
        db.session.execute(delete(ReportDraft).where(ReportDraft.id.in_(drafts)))
    years = current_app.config["SETTINGS"].report_retention_years
    cutoff = retention_cutoff(today, years)
    # A declined report may carry no closing date: its receipt date (earlier) stands in.
    due = list(db.session.scalars(
        select(Report).where(
            Report.purged_on.is_(None),
            or_(
                Report.closed_on < cutoff,
                (Report.status == "declined") & Report.closed_on.is_(None)
                & (Report.received_on < cutoff),
            ),
        )
    ))
    for report in due:
        _erase_content(report, today)
    if drafts or due:
        audit.record(db.session, "reports_purge", actor_name=audit.SYSTEM_ACTOR,
                     object_kind="report",
                     summary={"drafts": len(drafts), "reports": len(due), "cutoff": cutoff})
    db.session.commit()
    return PurgeResult(len(drafts), len(due))


def _erase_content(report: Report, today: date) -> None:
    report.enterprise_name = ""
    report.uscc = None
    report.name_digest = None
    report.uscc_digest = None
    report.place = ""
    report.description = ""
    report.seen_since = ""
    report.contact = None
    report.decline_reason = None if report.decline_reason is None else ""
    report.extension_reason = None if report.extension_reason is None else ""
    for event in report.events:
        event.note = None
    for message in report.messages:
        message.body = ""
    db.session.execute(delete(ReportPhoto).where(ReportPhoto.report_id == report.id))
    db.session.expire(report, ["photos"])
    if report.reward is not None:
        report.reward.payment_details = None
        report.reward.payment_reference = None
        report.reward.slip_nonce = None
        if report.reward.rejection_reason is not None:
            report.reward.rejection_reason = ""
        for rejection in report.reward.rejections:
            rejection.reason = ""
    report.purged_on = today
