"""The one wrapper around Pillow (and pillow-heif): uploaded photos in, clean images out.

An upload's type is decided by Pillow opening its bytes, never by its name or the browser's
content type.  Every accepted image is decoded and encoded again — JPEG, or PNG where it has
transparency — so EXIF (GPS position, camera, time taken), XMP, ICC and text chunks are gone and
the original bytes are not kept.  The EXIF orientation is applied first, so a phone photo stays
upright without its metadata.  Large images are scaled down to ``MAX_SIDE``.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Formats as Pillow names them once it has opened the bytes (HEIF: iPhone photos, .heic).
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC"}
MAX_SIDE = 2560
THUMBNAIL_SIDE = 640
# Refuse before decoding anything larger: a small file can claim a huge canvas (a "bomb").
MAX_PIXELS = 60_000_000
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 80

_heif_registered = False


class ImageRejected(ValueError):
    """The upload is not an image we accept; ``str()`` is a message for the person."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    media_type: str  # "image/jpeg" or "image/png"
    width: int
    height: int


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


def _has_transparency(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA"):
        alpha = image.getchannel("A")
        return alpha.getextrema()[0] < 255
    return image.mode == "P" and "transparency" in image.info


def _encode(image: Image.Image, quality: int) -> tuple[bytes, str]:
    out = io.BytesIO()
    if _has_transparency(image):
        image.convert("RGBA").save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    # No exif=, icc_profile= or comment: a fresh file with pixels only.
    image.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue(), "image/jpeg"


def clean(data: bytes) -> CleanImage:
    """The image in ``data``, re-encoded without metadata; ``ImageRejected`` otherwise."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(f"文件超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB。")
    if not data:
        raise ImageRejected("文件是空的。")
    _register_heif()
    accepted = "、".join(ACCEPTED_FORMATS.values())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageRejected(f"不是可接受的图片格式（只接受 {accepted}）。")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageRejected("图片尺寸过大，请缩小后再上传。")
            image.seek(0)  # an animation: its first frame
            image.load()
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            encoded, media_type = _encode(image, JPEG_QUALITY)
    except ImageRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"无法识别为图片（只接受 {accepted}）。") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        # Truncated or corrupt files raise any of these from the decoders.
        raise ImageRejected("图片文件已损坏或不完整。") from None
    return CleanImage(encoded, media_type, image.width, image.height)


def thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> tuple[bytes, str]:
    """A smaller copy of an image this module made (bytes, media type), for pages."""
    image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        image.draft("RGB", (side, side))  # decode at a reduced scale: much faster
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _encode(image, THUMBNAIL_QUALITY)
