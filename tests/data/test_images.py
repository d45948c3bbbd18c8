"""`load_rgb`: the pixels every stage sees (rotation, first frame, alpha on white, odd modes) and sniffing."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from data_corpus import bomb_png, encode, exif_rotated_jpeg, rich_photo, write
from PIL import Image

from visframe.data.images import TooManyPixelsError, load_rgb, sniff, to_rgb


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return float(
        np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b.convert("RGB"), dtype=np.float32)).mean()
    )


def test_exif_orientation_is_applied(tmp_path):
    write(tmp_path, "r.jpg", exif_rotated_jpeg(200, 100))
    image = load_rgb(tmp_path / "r.jpg")
    assert image.size == (100, 200)
    upright = rich_photo(7, 200, 100).transpose(Image.Transpose.ROTATE_270)  # orientation 6 = 90° clockwise
    assert mean_abs_diff(image, upright) < 15  # JPEG noise; a wrong rotation differs by ~68
    assert mean_abs_diff(image, rich_photo(7, 200, 100).transpose(Image.Transpose.ROTATE_90)) > 30


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animations_give_their_first_frame(tmp_path, fmt):
    first, second = Image.new("RGB", (64, 48), (220, 20, 20)), Image.new("RGB", (64, 48), (20, 20, 220))
    write(tmp_path, "anim", encode(first, fmt, save_all=True, append_images=[second], duration=100, loop=0))
    with Image.open(tmp_path / "anim") as raw:
        assert raw.n_frames == 2
    pixel = load_rgb(tmp_path / "anim").getpixel((10, 10))
    assert pixel[0] > 180 and pixel[2] < 60


def test_transparency_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (40, 40), (200, 0, 0, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 20, 40))  # left half: fully transparent black
    write(tmp_path, "a.png", encode(rgba, "PNG"))
    image = load_rgb(tmp_path / "a.png")
    assert image.getpixel((5, 5)) == (255, 255, 255) and image.getpixel((30, 5)) == (200, 0, 0)
    palette = Image.new("P", (40, 40), 1)
    palette.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    palette.paste(0, (0, 0, 20, 40))
    write(tmp_path, "p.png", encode(palette, "PNG", transparency=0))
    image = load_rgb(tmp_path / "p.png")
    assert image.getpixel((5, 5)) == (255, 255, 255) and image.getpixel((30, 5)) == (10, 200, 10)
    gray_alpha = Image.new("LA", (10, 10), (0, 0))
    assert to_rgb(gray_alpha).getpixel((0, 0)) == (255, 255, 255)


def test_cmyk_grayscale_and_16_bit(tmp_path):
    photo = rich_photo(3)
    write(tmp_path, "cmyk.jpg", encode(photo.convert("CMYK"), "JPEG", quality=95))
    with Image.open(tmp_path / "cmyk.jpg") as raw:
        assert raw.mode == "CMYK"
    assert mean_abs_diff(load_rgb(tmp_path / "cmyk.jpg"), photo) < 6

    write(tmp_path, "gray.png", encode(photo.convert("L"), "PNG"))
    gray = np.asarray(load_rgb(tmp_path / "gray.png"))
    assert (gray[..., 0] == gray[..., 2]).all()

    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (32, 1))
    write(tmp_path, "deep.png", encode(Image.fromarray(ramp), "PNG"))
    with Image.open(tmp_path / "deep.png") as raw:
        assert raw.mode.startswith("I")
    deep = np.asarray(load_rgb(tmp_path / "deep.png"))[..., 0].astype(int)
    # Scaled, not clipped: PIL's plain convert would make everything above 255/65535 white.
    assert abs(deep[0] - (ramp[0] / 257).round()).max() <= 1
    assert (deep[0] == 255).sum() <= 2


def test_returned_image_outlives_the_file_and_is_thread_safe(tmp_path):
    for i in range(8):
        write(tmp_path, f"{i}.png", encode(rich_photo(i, 64, 48), "PNG"))
    results: dict[int, tuple] = {}

    def work(i: int) -> None:
        results[i] = load_rgb(tmp_path / f"{i}.png").getpixel((0, 0))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: rich_photo(i, 64, 48).getpixel((0, 0)) for i in range(8)}


def test_pixel_limit_refuses_before_decoding(tmp_path):
    write(tmp_path, "bomb.png", bomb_png(50_000, 40_000))
    with pytest.raises(TooManyPixelsError, match="2,000,000,000 pixels"):
        load_rgb(tmp_path / "bomb.png", max_pixels=10**8)
    # PIL's own decompression-bomb limit applies even without max_pixels.
    with pytest.raises(TooManyPixelsError):
        load_rgb(tmp_path / "bomb.png")


def test_draft_mode_decodes_smaller_keeping_the_aspect(tmp_path):
    write(tmp_path, "big.jpg", encode(rich_photo(1, 1600, 1200), "JPEG"))
    small = load_rgb(tmp_path / "big.jpg", draft_size=256)
    assert small.size[0] >= 256 and small.size[0] / small.size[1] == pytest.approx(4 / 3, rel=0.01)


@pytest.mark.parametrize(
    ("head", "kind", "fmt"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image", "PNG"),
        (b"GIF89a\x01\x00", "image", "GIF"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image", "WEBP"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "unsupported_image", "HEIF"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00", "video", "mp42"),
        (b"  <!DOCTYPE html><html>", "html", None),
        (b"\xef\xbb\xbf<html lang='es'><head>", "html", None),
        (b'{"error": "rate limited"}', "json", None),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported_image", "SVG"),
        (b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>", "xml", None),
        ("Hola, ¿qué tal? 🎉".encode(), "text", None),
        (b"%PDF-1.7", "pdf", None),
        (b"PK\x03\x04", "archive", None),
        (bytes(range(256)) * 4, "binary", None),
    ],
)
def test_sniff_by_content(head, kind, fmt):
    result = sniff(head)
    assert (result.kind, result.format) == (kind, fmt)
