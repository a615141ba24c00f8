"""Photo cleaning: type by content, metadata removed, orientation kept, size bounded."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, PngImagePlugin

from portal import images
from tests.conftest import skip_or_fail


def _exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "DistinctiveCameraMaker"  # Make
    exif[0x0110] = "PhoneModel-XSBN-42"  # Model
    if orientation:
        exif[0x0112] = orientation
    gps = {1: "N", 2: (21.0, 59.0, 30.5), 3: "E", 4: (100.0, 47.0, 52.1)}
    exif[0x8825] = gps  # GPSInfo IFD
    return exif


def _jpeg(size=(1200, 800), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, (10, 120, 200)).save(out, format="JPEG", **kwargs)
    return out.getvalue()


def test_exif_and_gps_are_removed():
    original = _jpeg(exif=_exif_with_gps())
    reopened = Image.open(io.BytesIO(original))
    assert reopened.getexif().get_ifd(0x8825)  # the test photo really carries a position
    assert b"PhoneModel-XSBN-42" in original

    cleaned = images.clean(original)
    assert cleaned.media_type == "image/jpeg"
    assert b"PhoneModel-XSBN-42" not in cleaned.data and b"Exif" not in cleaned.data
    result = Image.open(io.BytesIO(cleaned.data))
    assert not result.getexif()
    assert "exif" not in result.info and "icc_profile" not in result.info


def test_orientation_applied_before_metadata_goes():
    # Orientation 6: the camera was turned; a 1200×800 sensor image shows as 800×1200.
    cleaned = images.clean(_jpeg(exif=_exif_with_gps(orientation=6)))
    assert (cleaned.width, cleaned.height) == (800, 1200)


def test_large_images_are_scaled_down():
    cleaned = images.clean(_jpeg(size=(5000, 2500)))
    assert max(cleaned.width, cleaned.height) == images.MAX_SIDE
    assert Image.open(io.BytesIO(cleaned.data)).size == (cleaned.width, cleaned.height)


def test_png_with_transparency_stays_png_without_text_chunks():
    image = Image.new("RGBA", (50, 40), (255, 0, 0, 0))
    out = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-location-note")
    image.save(out, format="PNG", pnginfo=info)
    cleaned = images.clean(out.getvalue())
    assert cleaned.media_type == "image/png"
    assert b"secret-location-note" not in cleaned.data


def test_16_bit_grey_is_scaled_not_clipped():
    out = io.BytesIO()
    Image.new("I;16", (40, 30), 30000).save(out, format="PNG")  # 46 % grey
    grey = Image.open(io.BytesIO(images.clean(out.getvalue()).data)).getpixel((20, 15))
    assert all(abs(channel - 117) <= 3 for channel in grey), grey


def test_opaque_png_and_webp_become_jpeg():
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        Image.new("RGB", (30, 30), (0, 200, 0)).save(out, format=fmt)
        assert images.clean(out.getvalue()).media_type == "image/jpeg"


def test_heic_is_accepted():
    cleaned = images.clean(_heic(Image.new("RGB", (64, 48), (50, 50, 50))))
    assert cleaned.media_type == "image/jpeg" and (cleaned.width, cleaned.height) == (64, 48)


@pytest.mark.parametrize("data", [
    b"%PDF-1.4 not an image",
    b"GIF89a" + b"\x00" * 100,
    b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,  # a PNG signature and nothing after it
])
def test_other_content_refused_whatever_its_name(data):
    with pytest.raises(images.ImageRejected):
        images.clean(data)


def test_gif_is_refused_by_content():
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, format="GIF")
    with pytest.raises(images.ImageRejected, match="格式"):
        images.clean(out.getvalue())


def test_truncated_jpeg_refused():
    data = _jpeg()
    with pytest.raises(images.ImageRejected):
        images.clean(data[: len(data) // 3])


def test_too_large_and_empty_refused():
    with pytest.raises(images.ImageRejected, match="10 MB"):
        images.clean(b"\xff" * (images.MAX_UPLOAD_BYTES + 1))
    with pytest.raises(images.ImageRejected):
        images.clean(b"")


def test_pixel_bomb_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (10000, 10000)).save(out, format="PNG")  # 100 megapixels, a small file
    with pytest.raises(images.ImageRejected):
        images.clean(out.getvalue())


def test_thumbnail():
    cleaned = images.clean(_jpeg(size=(2000, 1000)))
    data, media_type = images.thumbnail(cleaned.data)
    assert media_type == "image/jpeg"
    assert max(Image.open(io.BytesIO(data)).size) <= images.THUMBNAIL_SIDE


# ---------------------------------------------------------------- metadata, every kind on every format
#
# Each file below carries one kind of metadata holding a marker of its own (a name and a phone
# number, as a real one might); the cleaned image and its thumbnail must not contain the marker's
# bytes anywhere, and Pillow must find no metadata in them.


def _heic(image: Image.Image, **metadata) -> bytes:
    """``image`` written as HEIC.  A missing pillow-heif or HEVC encoder skips locally and fails
    under PORTAL_TEST_STRICT=1 (CI): HEIC uploads must never go untested there."""
    try:
        import pillow_heif
    except ImportError:
        skip_or_fail("pillow-heif is not installed, so HEIC uploads are untested")
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    try:
        image.save(out, format="HEIF", **metadata)
    except (KeyError, OSError, ValueError) as exc:  # no HEVC encoder in this libheif build
        skip_or_fail(f"cannot write HEIC here, so HEIC uploads are untested: {exc}")
    return out.getvalue()


def _marker(kind: str) -> bytes:
    return f"Owner-{kind}-ZhangSan-13800138000".encode("ascii")


def _exif_bytes(kind: str) -> bytes:
    exif = Image.Exif()
    if kind == "EXIF":
        exif[0x010F] = _marker(kind).decode()  # Make
        exif[0x0110] = "PhoneModel-XSBN-42"  # Model
    else:  # GPS: the position and a datum that names the owner
        exif[0x8825] = {1: "N", 2: (21.0, 59.0, 30.5), 3: "E", 4: (100.0, 47.0, 52.1),
                        18: _marker(kind).decode()}  # GPSMapDatum
    return exif.tobytes()


def _xmp(kind: str) -> bytes:
    return (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>' + _marker(kind)
            + b'</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15f16(x) + _s15f16(y) + _s15f16(z)


# sRGB's primaries adapted to D50, as ICC matrix profiles store them.
_RED, _GREEN, _BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)


def _icc(description: bytes, *, swap_red_green: bool = False) -> bytes:
    """A small RGB matrix/TRC display profile (ICC v2) whose description is ``description``
    (where a phone puts its make and model).  With ``swap_red_green`` its red channel means
    sRGB's green and the other way round: a profile far from sRGB, whose conversion shows."""
    red, green = (_GREEN, _RED) if swap_red_green else (_RED, _GREEN)
    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(description) + 1) + description + b"\0"
            + b"\0" * 8 + b"\0" * 3 + b"\0" * 67)
    curve = b"curv\0\0\0\0" + struct.pack(">I", 1) + struct.pack(">H", 0x0233) + b"\0\0"  # γ 2.2
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", _xyz(*red)),
            (b"gXYZ", _xyz(*green)), (b"bXYZ", _xyz(*_BLUE)), (b"rTRC", curve),
            (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text\0\0\0\0Public domain\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0\0\0\0" + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB "
              + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 8 + b"XSBN" + b"M042" + b"\0" * 8
              + b"\0\0\0\0" + _s15f16(0.9642) + _s15f16(1.0) + _s15f16(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def _insert_after_soi(jpeg: bytes, segment: bytes) -> bytes:
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + segment + jpeg[2:]


def _iptc_segment(kind: str) -> bytes:
    """An APP13 Photoshop segment with an IPTC-IIM caption (2:120), as photo tools write it."""
    caption = _marker(kind)
    iim = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(iim)) + iim
    resource += b"\0" * (len(iim) % 2)
    payload = b"Photoshop 3.0\0" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def _picture(alpha: bool) -> Image.Image:
    image = Image.new("RGBA" if alpha else "RGB", (96, 64), (200, 60, 30, 255)[: 4 if alpha else 3])
    if alpha:
        image.paste((0, 0, 0, 0), (0, 0, 20, 20))  # a transparent corner: stays PNG
    return image


def _with_metadata(fmt: str, kind: str, alpha: bool = False) -> bytes:
    """A ``fmt`` file carrying metadata of ``kind`` that holds ``_marker(kind)``."""
    image = _picture(alpha)
    options: dict = {}
    if kind in ("EXIF", "GPS"):
        options["exif"] = _exif_bytes(kind)
    elif kind == "XMP":
        options["xmp"] = _xmp(kind)
    elif kind == "ICC":
        options["icc_profile"] = _icc(_marker(kind))
    elif kind == "COM":
        options["comment"] = _marker(kind)
    out = io.BytesIO()
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if kind == "tEXt":
            info.add_text("Comment", _marker(kind).decode())
        elif kind == "zTXt":
            info.add_text("Author", _marker(kind).decode(), zip=True)
        elif kind == "iTXt":
            info.add_itxt("Description", _marker(kind).decode(), lang="zh", tkey="说明")
        elif kind == "XMP":
            info.add_itxt("XML:com.adobe.xmp", options.pop("xmp").decode(), zip=False)
        image.save(out, format="PNG", pnginfo=info, **options)
    elif fmt == "HEIC":
        return _heic(image, **options)
    elif fmt == "MPO":
        second = Image.new("RGB", image.size, (10, 10, 200))
        image.save(out, format="MPO", save_all=True, append_images=[second], **options)
    else:
        image.save(out, format=fmt, **options)
    data = out.getvalue()
    if kind == "IPTC":
        data = _insert_after_soi(data, _iptc_segment(kind))
    return data


METADATA_KINDS = {
    "JPEG": ["EXIF", "GPS", "XMP", "IPTC", "COM", "ICC"],
    "MPO": ["EXIF", "GPS", "XMP", "IPTC", "COM", "ICC"],
    "PNG": ["EXIF", "GPS", "XMP", "ICC", "tEXt", "iTXt", "zTXt"],
    "WEBP": ["EXIF", "GPS", "XMP", "ICC"],
    "HEIC": ["EXIF", "GPS", "XMP", "ICC"],
}
CASES = [(fmt, kind, alpha) for fmt, kinds in METADATA_KINDS.items() for kind in kinds
         for alpha in ((False, True) if fmt in ("PNG", "WEBP", "HEIC") else (False,))]
# What Pillow reports of a plain JPEG it reads (the JFIF header): not metadata about anyone.
HARMLESS_INFO = {"jfif", "jfif_version", "jfif_unit", "jfif_density"}


def _carries(data: bytes, marker: bytes) -> bool:
    """The marker is in the file's bytes, or in what Pillow decodes of it (PNG deflates zTXt
    and iCCP)."""
    if marker in data:
        return True
    opened = Image.open(io.BytesIO(data))
    return (marker.decode() in repr(getattr(opened, "text", {}))
            or marker in opened.info.get("icc_profile", b""))


def _assert_pixels_only(data: bytes, marker: bytes) -> None:
    assert marker not in data
    assert marker.decode("ascii").encode("utf-16-be") not in data
    opened = Image.open(io.BytesIO(data))
    assert set(opened.info) <= HARMLESS_INFO, opened.info.keys()
    assert not opened.getexif()
    assert not getattr(opened, "text", {})
    assert opened.format in ("JPEG", "PNG")


@pytest.mark.parametrize(("fmt", "kind", "alpha"), CASES,
                         ids=[f"{f}-{k}{'-alpha' if a else ''}" for f, k, a in CASES])
def test_no_metadata_survives(fmt, kind, alpha):
    original = _with_metadata(fmt, kind, alpha)
    marker = _marker(kind)
    assert _carries(original, marker), "the test file does not carry its metadata"
    expected_format = {"HEIC": "HEIF"}.get(fmt, fmt)
    assert Image.open(io.BytesIO(original)).format == expected_format

    cleaned = images.clean(original)

    assert cleaned.media_type == ("image/png" if alpha else "image/jpeg")
    _assert_pixels_only(cleaned.data, marker)
    _assert_pixels_only(cleaned.thumbnail, marker)
    assert Image.open(io.BytesIO(cleaned.data)).size == (cleaned.width, cleaned.height) == (96, 64)


def test_mpo_is_accepted_as_its_first_picture():
    first, second = Image.new("RGB", (80, 60), (220, 20, 20)), Image.new("RGB", (80, 60), (0, 0, 220))
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second])
    cleaned = images.clean(out.getvalue())
    stored = Image.open(io.BytesIO(cleaned.data))
    assert stored.format == "JPEG" and getattr(stored, "n_frames", 1) == 1
    red, green, blue = stored.convert("RGB").getpixel((40, 30))
    assert red > 180 and blue < 60  # the first picture, not the second


@pytest.mark.parametrize("alpha", [False, True])
def test_a_colour_profile_is_applied_before_it_is_dropped(alpha):
    """Pixels tagged with a profile whose red is sRGB's green come out green: converted to
    sRGB, not merely stripped of the profile (which would leave them red)."""
    image = Image.new("RGBA" if alpha else "RGB", (40, 30), (230, 20, 20, 255)[: 4 if alpha else 3])
    if alpha:
        image.paste((0, 0, 0, 0), (0, 0, 5, 5))
    out = io.BytesIO()
    image.save(out, format="PNG", icc_profile=_icc(b"Wide-Gamut Test", swap_red_green=True))
    cleaned = images.clean(out.getvalue())
    assert cleaned.media_type == ("image/png" if alpha else "image/jpeg")
    stored = Image.open(io.BytesIO(cleaned.data))
    assert "icc_profile" not in stored.info
    red, green, _ = stored.convert("RGB").getpixel((30, 20))
    assert green > 150 and red < 120, (red, green)


def test_an_srgb_profile_leaves_the_colours_as_they_are():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (230, 20, 20)).save(out, format="JPEG", quality=95,
                                                   icc_profile=_icc(b"Plain sRGB"))
    stored = Image.open(io.BytesIO(images.clean(out.getvalue()).data))
    red, green, blue = stored.getpixel((20, 15))
    assert abs(red - 230) < 12 and green < 40 and blue < 40, (red, green, blue)


def test_an_unreadable_profile_is_dropped_and_the_photo_kept():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (230, 20, 20)).save(out, format="JPEG",
                                                   icc_profile=b"not-a-profile-" + _marker("ICC"))
    cleaned = images.clean(out.getvalue())
    _assert_pixels_only(cleaned.data, _marker("ICC"))


# ---------------------------------------------------------------- decoding within a budget


def test_a_large_jpeg_is_decoded_at_a_reduced_scale():
    """A 24 MP JPEG (72 MB decoded whole) is decoded by libjpeg at half scale or less: what is
    in memory before the resize is at most ~2 × MAX_SIDE a side."""
    big = Image.new("RGB", (6000, 4000), (90, 140, 30))
    out = io.BytesIO()
    big.save(out, format="JPEG", quality=70)
    del big
    decoded = images.decode(out.getvalue())
    assert decoded.size[0] <= 2 * images.MAX_SIDE and decoded.size[1] <= 2 * images.MAX_SIDE
    assert decoded.size[0] >= images.MAX_SIDE  # never below what the stored image needs
    assert max(images.clean(out.getvalue()).width, 1) == images.MAX_SIDE


def test_a_wide_jpeg_is_reduced_as_much_as_a_square_one():
    wide = Image.new("L", (12000, 1500), 128)
    out = io.BytesIO()
    wide.save(out, format="JPEG")
    assert images.decode(out.getvalue()).size[0] <= 2 * images.MAX_SIDE


def test_formats_decoded_whole_have_a_lower_pixel_bound():
    out = io.BytesIO()
    Image.new("1", (6000, 5000)).save(out, format="PNG")  # 30 MP: fine as a JPEG, not as a PNG
    with pytest.raises(images.ImageRejected, match="2500 万像素"):
        images.clean(out.getvalue())


def test_no_decode_while_every_slot_is_taken():
    data = _jpeg(size=(100, 80))
    with images.decode_slot():
        with pytest.raises(images.DecoderBusy):
            images.clean(data)
    assert images.clean(data).width == 100  # the slot is free again


_RSS_AFTER_DECODES = """
import ctypes, gc, io, threading
from PIL import Image, ImageDraw
from portal import images

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

big = Image.new("RGB", (6000, 6000), (90, 120, 60))
draw = ImageDraw.Draw(big)
for i in range(0, 6000, 500):
    draw.line([(i, 0), (6000 - i, 6000)], fill=(200, 180, 40), width=3)
out = io.BytesIO()
big.save(out, format="JPEG", quality=40)
data = out.getvalue()
del big, draw, out
gc.collect()
ctypes.CDLL("libc.so.6").malloc_trim(0)  # start from what making the test photo left
before = rss_mb()
for _ in range(3):  # in worker threads, as gunicorn runs them (each may get its own arena)
    thread = threading.Thread(target=images.clean, args=(data,))
    thread.start()
    thread.join()
gc.collect()
print(rss_mb() - before)
"""


def test_a_large_decode_hands_its_memory_back():
    """A worker that decoded large photos gives the memory back once they are done: glibc kept
    ~30 MB per thread's arena after a 36 MP JPEG, and a worker that decoded a flood of them
    stayed ~200 MB larger (bench/abuse.py).  In a fresh process, off glibc skipped."""
    import subprocess
    import sys
    from pathlib import Path

    if not images.release_freed_memory():
        pytest.skip("no glibc malloc_trim here")
    grown = subprocess.run([sys.executable, "-c", _RSS_AFTER_DECODES], capture_output=True,
                           text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    assert float(grown.stdout) < 15, f"{float(grown.stdout):.0f} MB kept after three decodes"


def test_the_resize_to_the_largest_side_is_bicubic(monkeypatch):
    """The photo is resized to MAX_SIDE with the cheaper bicubic filter (Lanczos took 70 % of
    a large photo's CPU); its size is the same."""
    filters = []
    original = Image.Image.thumbnail

    def recording(self, size, resample=Image.Resampling.BICUBIC, *args, **kwargs):
        filters.append((max(size), resample))
        return original(self, size, resample, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "thumbnail", recording)
    cleaned = images.clean(_jpeg((5200, 3000)))
    assert max(cleaned.width, cleaned.height) == images.MAX_SIDE
    assert (images.MAX_SIDE, Image.Resampling.BICUBIC) in filters


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="Linux nice")
def test_photos_are_decoded_on_a_thread_of_lower_priority(monkeypatch):
    """While a client floods the site with photos, the threads that serve everyone else's pages
    come first for the cores: the decode runs on the process's decoding thread at a higher
    nice value, and the request's own thread keeps its priority."""
    import os
    import threading

    seen = []
    original = images.decode

    def decode(data):
        seen.append((threading.get_native_id(),
                     os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        return original(data)

    monkeypatch.setattr(images, "decode", decode)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    images.clean(_jpeg())
    with pytest.raises(images.ImageRejected):  # a refusal still reaches the caller
        images.clean(b"not an image at all")
    assert len(seen) == 2 and seen[0][0] != threading.get_native_id()
    assert seen[0][1] == seen[1][1] == max(mine, images.DECODE_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
