"""The one wrapper around Pillow (and pillow-heif): uploaded photos in, clean images out.

An upload's type is decided by Pillow opening its bytes, never by its name or the browser's
content type.  What is stored is pixels and nothing else (DESIGN.md §3): the decoded pixels are
copied into a new image that never had an ``info`` dict, so no EXIF (GPS position, camera, time
taken), XMP, IPTC, JPEG comment, ICC profile, PNG text chunk or MPO index can ride along to the
encoder (Pillow's savers copy ``info["comment"]`` and ``info["icc_profile"]`` by themselves).
A colour profile is applied before it goes: the pixels are converted to sRGB, so a photo from a
wide-gamut phone keeps its colours.  The EXIF orientation is applied first, so a phone photo
stays upright.  The result is JPEG, or PNG where it has transparency, at most ``MAX_SIDE``.

Decoding costs memory and CPU, so it is bounded: a JPEG (and an MPO, a JPEG with more pictures
after it) is decoded straight at 1/2–1/8 scale by libjpeg (``draft``), other formats are refused
above ``MAX_PIXELS_FULL_DECODE``, and a process runs at most ``MAX_CONCURRENT_DECODES`` decodes at
once; an upload that finds no free slot quickly gets ``DecoderBusy`` instead of queueing.
The resize to ``MAX_SIDE`` is bicubic, and after a large decode the freed memory is handed back
to the system (``release_freed_memory``), so a worker that decoded a flood of photos does not
keep it.  The decoding itself runs on one thread per process at a lower CPU priority
(``DECODE_NICE``, Linux): the request waits for it, and while a client floods the site with
photos the threads that serve everyone else's pages come first for the cores.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from portal.translation import lazy_gettext as _l

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Formats as Pillow names them once it has opened the bytes (HEIF: iPhone photos, .heic; MPO:
# the multi-picture JPEG many phones write, of which the first picture is the photo).
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC", "MPO": "MPO"}
# Shown to people: MPO files are JPEGs to them (they end in .jpg).
# Said in the reader's language (the list separator differs: 、 in Chinese).
SHOWN_FORMATS = _l("JPEG、PNG、WebP、HEIC")
# Formats libjpeg can decode at a reduced scale (``Image.draft``).
DRAFTABLE_FORMATS = {"JPEG", "MPO"}
MAX_SIDE = 2560
THUMBNAIL_SIDE = 640
# Refuse before decoding anything larger: a small file can claim a huge canvas (a "bomb").
# A JPEG is decoded at a reduced scale (at most ~2 × MAX_SIDE a side, ≤ 80 MB even at 60 MP);
# other formats are decoded whole, so they get a lower bound: 25 MP is ~100 MB as RGBA, and still
# takes a 24 MP phone photo (5712 × 4284, the iPhone's default HEIC).
MAX_PIXELS = 60_000_000
MAX_PIXELS_FULL_DECODE = 25_000_000
JPEG_QUALITY = 85
# The resize of a photo to MAX_SIDE: bicubic, Pillow's own filter for thumbnails.  Lanczos
# took 300 of the 430 ms of CPU that one 60 MP JPEG cost (drafted to 3,873², then 2,560²),
# bicubic takes 170 (bench/abuse.py, issue 13 §2); the difference is not visible at this size.
# The small thumbnails keep Lanczos: they are made from MAX_SIDE, reduced first, and cheap.
RESIZE_FILTER = Image.Resampling.BICUBIC
# After decoding at least this many pixels, hand freed memory back (release_freed_memory).
RELEASE_AFTER_PIXELS = 4_000_000
# The nice value of the decoding thread (0 normal, 19 lowest): a decode takes the cores only
# when the threads serving pages leave them free.  Linux only (elsewhere a nice value set this
# way would slow the whole process).
DECODE_NICE = 10
THUMBNAIL_QUALITY = 80
# Decodes one process runs at once: with gunicorn's 2 threads a worker keeps one thread for
# everyone else's pages, and its memory holds one large decode at a time, not five.
MAX_CONCURRENT_DECODES = 1
# How long an upload waits for a decode slot before it is answered "busy": long enough to ride
# out a neighbour's small photo, short enough that nobody queues behind a flood.
DECODE_WAIT_SECONDS = 0.25

_heif_registered = False
_malloc_trim = None  # libc's malloc_trim once looked up; False where there is none
_decoder: ThreadPoolExecutor | None = None  # the process's decoding thread (started on use)
_decoder_pid = 0  # … of this process: a forked worker starts its own
_decoder_lock = threading.Lock()
_T = TypeVar("_T")
_decode_slots = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRejected(ValueError):
    """The upload is not an image we accept; ``str()`` is a message for the person."""


class DecoderBusy(RuntimeError):
    """Every decode slot of this process is taken: try again shortly (nothing was decoded)."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    media_type: str  # "image/jpeg" or "image/png"
    width: int
    height: int
    # A small copy for pages (made from the same pixels, so pages never decode ``data`` again).
    thumbnail: bytes = b""
    thumbnail_media_type: str = ""


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


@contextmanager
def decode_slot(timeout: float = DECODE_WAIT_SECONDS) -> Iterator[None]:
    """Hold one of the process's decode slots; ``DecoderBusy`` if none frees up in ``timeout``.

    A form holds one for all of its photos (``clean(…, slot_held=True)`` for each), so that
    another upload cannot take the slot between two of them and leave the first request busy,
    its decodes thrown away."""
    if not _decode_slots.acquire(timeout=timeout):
        raise DecoderBusy("busy")
    try:
        yield
    finally:
        _decode_slots.release()


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority to ``DECODE_NICE`` (Linux: a thread id given to
    setpriority names that thread alone)."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), DECODE_NICE)
        except OSError:
            pass  # not allowed here: the decode runs at the normal priority


def on_decoding_thread(work: Callable[[], _T]) -> _T:
    """Run ``work`` on the process's decoding thread (lower CPU priority) and wait for it;
    what it raises is raised here."""
    global _decoder, _decoder_pid
    with _decoder_lock:
        if _decoder is None or _decoder_pid != os.getpid():
            # After a fork the parent's thread is gone: a pool of this process's own.
            _decoder = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_DECODES,
                                          thread_name_prefix="photo-decode",
                                          initializer=_lower_priority)
            _decoder_pid = os.getpid()
        decoder = _decoder
    return decoder.submit(work).result()


def release_freed_memory() -> bool:
    """Return the memory freed by a large decode to the system: glibc's ``malloc_trim(0)``.

    glibc keeps freed heap memory for reuse, so after a few large photos (a decoded 60 MP JPEG
    and its resizes are ~100 MB) a worker stayed ~200 MB larger for the rest of its life
    (bench/abuse.py).  False where there is no glibc (musl, macOS): nothing is done there."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _malloc_trim = libc.malloc_trim
            _malloc_trim.argtypes = [ctypes.c_size_t]
            _malloc_trim.restype = ctypes.c_int
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim is False:
        return False
    _malloc_trim(0)
    return True


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its longer side is at most ``side``."""
    width, height = size
    ratio = min(1.0, side / max(width, height))
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def decode(data: bytes) -> Image.Image:
    """The first picture of ``data``, decoded within the memory budget (see the module doc):
    a JPEG at the smallest libjpeg scale that still covers ``MAX_SIDE``.  Metadata is still in
    its ``info``; ``clean`` drops it.  Raises ``ImageRejected`` (and what decoders raise)."""
    image = Image.open(io.BytesIO(data))
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected(_l("不是可接受的图片格式（只接受 %(formats)s）。", formats=SHOWN_FORMATS))
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(_l("图片尺寸过大（超过 6000 万像素），请缩小后再上传。"))
    if image.format in DRAFTABLE_FORMATS:
        # The size of the final picture, so a panorama is reduced as much as a square one.
        image.draft("RGB", _fit(image.size, MAX_SIDE))
    elif width * height > MAX_PIXELS_FULL_DECODE:
        raise ImageRejected(
            _l("图片尺寸过大：%(format)s 格式的图片最大 2500 万像素"
               "（JPEG 最大 6000 万像素），请缩小后再上传，或改用 JPEG。",
               format=ACCEPTED_FORMATS[image.format]))
    image.seek(0)  # an animation or a multi-picture file: its first frame
    image.load()
    return image


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """``image``'s pixels converted from the colour profile ``icc`` to sRGB (RGB or RGBA).

    A profile that lcms cannot read, or that does not fit the pixels' mode, is dropped without
    conversion: the pixels are still the photo, only their colours are less exact."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(
            image, source, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB",
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new RGB or RGBA image holding ``image``'s pixels in sRGB and nothing else: its
    ``info`` (EXIF, XMP, comment, profile, text chunks, …) is empty."""
    icc = image.info.get("icc_profile")
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit grey (PNG): Pillow's conversion to 8 bits would clip, not scale.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("P", "PA", "LA", "La", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")  # applies a palette's or tRNS transparency
    elif image.mode not in ("RGB", "RGBA") and not (icc and image.mode in ("L", "CMYK")):
        image = image.convert("RGB")  # (with a profile, lcms converts L and CMYK itself)
    if icc:
        image = _to_srgb(image, icc)
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB")  # an alpha channel that hides nothing
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")
    fresh = Image.new(image.mode, image.size)
    fresh.paste(image)
    return fresh


def _encode(image: Image.Image, quality: int) -> tuple[bytes, str]:
    """``image`` (from ``_pixels_only``: no ``info``) as PNG if it has alpha, else JPEG."""
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue(), "image/jpeg"


def _thumbnail_of(image: Image.Image, side: int = THUMBNAIL_SIDE) -> tuple[bytes, str]:
    small = image.copy()
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _encode(small, THUMBNAIL_QUALITY)


def clean(data: bytes, *, slot_held: bool = False) -> CleanImage:
    """The image in ``data``, as pixels only (see the module doc), with its thumbnail.

    ``ImageRejected`` if it is not an image we accept; ``DecoderBusy`` if the process is
    decoding as many images as it may (nothing was decoded: the caller asks to try again).
    ``slot_held``: the caller is inside ``decode_slot()`` already (a form's photos)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(_l("文件超过 %(mb)s MB。", mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
    if not data:
        raise ImageRejected(_l("文件是空的。"))
    _register_heif()
    with nullcontext() if slot_held else decode_slot():
        return on_decoding_thread(lambda: _clean(data))


def _clean(data: bytes) -> CleanImage:
    """``clean`` on the decoding thread, the slot held."""
    decoded_pixels = 0
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = decode(data)
                decoded_pixels = image.width * image.height
                # Resize first, then turn upright in place: no copy of the full decode.
                image.thumbnail(_fit(image.size, MAX_SIDE), RESIZE_FILTER)
                ImageOps.exif_transpose(image, in_place=True)
                image = _pixels_only(image)
                encoded, media_type = _encode(image, JPEG_QUALITY)
                small, small_type = _thumbnail_of(image)
                width, height = image.size
                del image  # freed before the memory is handed back
        except ImageRejected:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError,
                Image.DecompressionBombWarning):
            raise ImageRejected(_l("无法识别为图片（只接受 %(formats)s）。", formats=SHOWN_FORMATS)) from None
        except (OSError, ValueError, SyntaxError, EOFError):
            # Truncated or corrupt files raise any of these from the decoders.
            raise ImageRejected(_l("图片文件已损坏或不完整。")) from None
    finally:
        if decoded_pixels >= RELEASE_AFTER_PIXELS:
            release_freed_memory()  # the full decode and its resizes are freed by now
    return CleanImage(encoded, media_type, width, height, small, small_type)


def thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> tuple[bytes, str]:
    """A smaller copy of an image this module made (bytes, media type), for pages.

    For photos stored before thumbnails were kept with them; new ones carry their own."""
    image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        image.draft("RGB", _fit(image.size, side))  # decode at a reduced scale: much faster
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _thumbnail_of(_pixels_only(image), side)


def size_of(data: bytes) -> tuple[int, int]:
    """The pixel size (width, height) of an image this module made: its header is read, its
    pixels are not decoded (for a page's ``width``/``height`` attributes)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size
