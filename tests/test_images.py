"""Photo cleaning: type by content, metadata removed, orientation kept, size bounded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from portal import images


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


def test_opaque_png_and_webp_become_jpeg():
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        Image.new("RGB", (30, 30), (0, 200, 0)).save(out, format=fmt)
        assert images.clean(out.getvalue()).media_type == "image/jpeg"


def test_heic_is_accepted():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    try:
        Image.new("RGB", (64, 48), (50, 50, 50)).save(out, format="HEIF")
    except (KeyError, OSError, ValueError) as exc:  # no HEVC encoder in this libheif build
        pytest.skip(f"cannot write HEIC here: {exc}")
    cleaned = images.clean(out.getvalue())
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
