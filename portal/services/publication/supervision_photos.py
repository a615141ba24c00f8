"""Rectification photos (整改前 / 整改后) of a 督办事项: staff upload them on the item's stages,
its public page shows them.

Every photo comes through ``portal.images`` (re-encoded: pixels only, no EXIF, GPS, XMP, comment
or profile; the original is not kept), one per upload with its own caption, which is public and
is the image's alt text.  Only staff uploads: a citizen's report behind the item keeps its photos
to itself (nothing here reads ``ReportPhoto``), as it keeps its words (issue 15 §2).

Limits: ``MAX_PHOTOS_PER_ITEM`` photos an item, each at most ``images.MAX_UPLOAD_BYTES`` before
re-encoding (the re-encoded image is at most ``images.MAX_SIDE`` a side).  Adding or removing a
photo of a published item is a public history entry and an audit event, like a step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import undefer

from portal import audit, images
from portal.domain.masking import mask_personal_data
from portal.extensions import db
from portal.images import CleanImage
from portal.models import PHOTO_PHASES, SupervisionItem, SupervisionPhoto, local_today, utcnow
from portal.services.publication import history

MAX_PHOTOS_PER_ITEM = 12
CAPTION_MIN = 4
CAPTION_MAX = 100
# The stage choice for the listing (挂牌) itself, which has no step row.
LISTING = "listing"
# Stages whose photos are, by default, taken before / after the rectification.
_AFTER_STEPS = {"applied", "passed", "failed", "closed"}


class PhotoError(Exception):
    """An upload or a removal was refused; ``errors`` maps form fields ("" for the whole) to
    messages for the editor."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class StageChoice:
    value: str  # LISTING or a step's id
    label: str
    on: date
    phase: str  # the phase a photo of this stage usually shows


def stage_choices(item: SupervisionItem) -> list[StageChoice]:
    """The stages a photo may be put on: the listing and each recorded step, in order."""
    choices = [StageChoice(LISTING, "挂牌督办", item.listed_on, "before")]
    for step in item.steps:
        choices.append(StageChoice(str(step.id), step.label, step.occurred_on,
                                   "after" if step.step in _AFTER_STEPS else "before"))
    return choices


def photos_left(item: SupervisionItem) -> int:
    return max(0, MAX_PHOTOS_PER_ITEM - len(item.photos))


def check_caption(raw: str) -> str:
    """The caption as published: personal data masked, length checked (``PhotoError``)."""
    caption = " ".join((raw or "").replace("\x00", "").split())
    if len(caption) < CAPTION_MIN:
        raise PhotoError({"caption": f"请填写照片说明（至少 {CAPTION_MIN} 个字），"
                                     "说明拍的是什么；它也是图片的替代文字。"})
    if len(caption) > CAPTION_MAX:
        raise PhotoError({"caption": f"照片说明最多 {CAPTION_MAX} 个字。"})
    return mask_personal_data(caption)


def add_photo(item: SupervisionItem, image: CleanImage, *, phase: str, stage: str, caption: str,
              actor: Any, today: date | None = None) -> SupervisionPhoto:
    """Attach ``image`` (already cleaned by ``portal.images``) to ``item`` on ``stage``.

    Refused on a withdrawn item, past ``MAX_PHOTOS_PER_ITEM``, for an unknown phase or stage
    and for a caption too short or too long.  Commits."""
    if item.is_withdrawn:
        raise PhotoError({"": "该督办事项已撤回，不能再添加照片。"})
    if not photos_left(item):
        raise PhotoError({"photo": f"每个督办事项最多 {MAX_PHOTOS_PER_ITEM} 张照片，"
                                   "请先删除不需要的照片。"})
    if phase not in PHOTO_PHASES:
        raise PhotoError({"phase": "请选择整改前或整改后。"})
    chosen = {c.value: c for c in stage_choices(item)}.get(stage)
    if chosen is None:
        raise PhotoError({"stage": "请选择照片所属的办理环节。"})
    caption = check_caption(caption)
    if not image.thumbnail:
        raise PhotoError({"photo": "图片处理失败，请重新上传。"})
    thumb_width, thumb_height = images.size_of(image.thumbnail)
    photo = SupervisionPhoto(
        step_id=None if stage == LISTING else int(stage), phase=phase, caption=caption,
        taken_on=chosen.on, added_on=today or local_today(), media_type=image.media_type,
        width=image.width, height=image.height, size=len(image.data), data=image.data,
        thumbnail=image.thumbnail, thumbnail_media_type=image.thumbnail_media_type,
        thumbnail_width=thumb_width, thumbnail_height=thumb_height,
    )
    before = len(item.photos)
    item.photos.append(photo)
    db.session.flush()
    _record(item, before, f"新增{photo.phase_label}照片：{caption}", actor, "supervision_photo_add",
            {"photo": photo.id, "phase": phase, "stage": chosen.label})
    db.session.commit()
    return photo


def remove_photo(item: SupervisionItem, photo_id: int, *, actor: Any) -> None:
    """Take a photo off the item (and its public page).  ``PhotoError`` if it is not one of
    the item's.  Commits."""
    photo = next((p for p in item.photos if p.id == photo_id), None)
    if photo is None:
        raise PhotoError({"": "没有这张照片。"})
    before = len(item.photos)
    item.photos.remove(photo)
    _record(item, before, f"删除{photo.phase_label}照片：{photo.caption}", actor,
            "supervision_photo_remove", {"photo": photo_id, "phase": photo.phase})
    db.session.commit()


def _record(item: SupervisionItem, before: int, summary: str, actor: Any, action: str,
            details: dict[str, Any]) -> None:
    history.record_version(db.session, item, {"photos": [f"{before} 张", f"{len(item.photos)} 张"]},
                           summary)
    item.modified_at = utcnow()
    audit.record(db.session, action, actor=actor, object_kind=item.KIND, object_id=item.id,
                 summary=details)


@dataclass(frozen=True)
class PhaseGroup:
    phase: str
    label: str
    photos: list[SupervisionPhoto]


def by_phase(item: SupervisionItem) -> list[PhaseGroup]:
    """The item's photos grouped 整改前, then 整改后, each in the order of their stages' dates
    (then upload order); a phase without photos is left out."""
    groups = []
    for phase, label in PHOTO_PHASES.items():
        photos = sorted((p for p in item.photos if p.phase == phase),
                        key=lambda p: (p.taken_on, p.id))
        if photos:
            groups.append(PhaseGroup(phase, label, photos))
    return groups


def find(item_id: int, photo_id: int, *, published_only: bool,
         part: str | None = None) -> SupervisionPhoto | None:
    """A photo of item ``item_id``, with ``part`` ("data" or "thumbnail") loaded if given; None
    if there is none, or if ``published_only`` and the item is not published (a draft's photos
    are seen by staff only)."""
    stmt = (select(SupervisionPhoto).join(SupervisionItem)
            .where(SupervisionPhoto.id == photo_id, SupervisionPhoto.item_id == item_id))
    if part is not None:
        stmt = stmt.options(undefer(getattr(SupervisionPhoto, part)))
    if published_only:
        stmt = stmt.where(SupervisionItem.published_at.is_not(None))
    return db.session.scalar(stmt)


def file(item_id: int, photo_id: int, part: str, *,
         published_only: bool) -> tuple[bytes, str] | None:
    """The bytes and media type of a photo (``part`` "full") or its thumbnail ("thumbnail"),
    or None as ``find``."""
    column = "data" if part == "full" else "thumbnail"
    photo = find(item_id, photo_id, published_only=published_only, part=column)
    if photo is None:
        return None
    return getattr(photo, column), (photo.media_type if part == "full"
                                    else photo.thumbnail_media_type)
