"""Builders for the messy test corpus: every case of the cleaning taxonomy, made in a tmp folder.

`build_messy_corpus(root)` writes the files and returns {relative path: Expected(status, reason
fragment)} for every file that must get a manifest row, plus the non-image files that must not.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class Expected:
    status: str
    reason: str = ""  # a fragment the reason must contain ('' for ok rows)


def rich_photo(seed: int, width: int = 160, height: int = 120) -> Image.Image:
    """A photo-like picture: smooth colour fields, shapes and grain (rich content, many colours)."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).resize(
        (width, height), Image.BICUBIC
    )
    pixels = np.asarray(coarse, dtype=np.float32)
    pixels += rng.normal(0, 12, pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.integers(0, width - 10), rng.integers(0, height - 10)
        draw.ellipse(
            [x, y, x + rng.integers(8, 40), y + rng.integers(8, 40)],
            fill=tuple(int(v) for v in rng.integers(0, 255, 3)),
        )
    return image


def placeholder_picture(side: int = 320) -> Image.Image:
    """A "content unavailable" picture: flat grey, a small icon and one line of text."""
    image = Image.new("RGB", (side, side), (219, 219, 219))
    draw = ImageDraw.Draw(image)
    centre, radius = side // 2, side // 10
    draw.ellipse(
        [centre - radius, centre - radius - side // 10, centre + radius, centre + radius - side // 10],
        outline=(120, 120, 120),
        width=max(2, side // 80),
    )
    draw.line(
        [centre - radius, centre + radius - side // 10, centre + radius, centre - radius - side // 10],
        fill=(120, 120, 120),
        width=max(2, side // 80),
    )
    draw.text((centre - 55, centre + side // 8), "Content unavailable", fill=(90, 90, 90))
    return image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares width × height pixels (never allocated by the test)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def exif_rotated_jpeg(width: int = 200, height: int = 100) -> bytes:
    """A landscape-stored JPEG whose EXIF says "rotate 90° clockwise" (orientation 6): shown as portrait."""
    image = rich_photo(7, width, height)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image, "JPEG", quality=90, exif=exif.tobytes())


def write(root: Path, relpath: str | bytes, data: bytes) -> None:
    target = os.path.join(os.fsencode(root), relpath if isinstance(relpath, bytes) else os.fsencode(relpath))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as handle:
        handle.write(data)


NON_UTF8_NAME = b"foto_\xff\xfe.jpg"


def build_messy_corpus(root: Path) -> tuple[dict[str, Expected], list[str]]:
    """Write every case; return ({relpath (os.fsdecode'd): Expected}, [files that must get no row])."""
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, Expected] = {}

    def add(relpath: str, data: bytes, status: str, reason: str = "") -> None:
        write(root, relpath, data)
        expected[relpath] = Expected(status, reason)

    good_jpeg = encode(rich_photo(1), "JPEG", quality=90)
    good_png = encode(rich_photo(2), "PNG")
    # ---- broken files
    add("broken/zero.jpg", b"", "zero_byte", "0 bytes")
    add("broken/cut.jpg", good_jpeg[: len(good_jpeg) // 2], "truncated", "cut short")
    add("broken/cut.png", good_png[: len(good_png) // 2], "truncated", "cut short")
    add(
        "broken/login.jpg",
        b"<!DOCTYPE html>\n<html><head><title>Login - Instagram</title></head><body></body></html>",
        "not_an_image",
        "HTML",
    )
    add(
        "broken/error.png",
        json.dumps({"status": "fail", "message": "Please wait a few minutes"}).encode(),
        "not_an_image",
        "JSON",
    )
    add(
        "broken/noise.jpg",
        np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "not_an_image",
        "not a recognised image format",
    )
    add(
        "broken/drawing.svg",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>',
        "unsupported_format",
        "SVG",
    )
    add("broken/bomb.png", bomb_png(), "too_many_pixels", "100000×100000")
    add("broken/blank_white.png", encode(Image.new("RGB", (200, 150), "white"), "PNG"), "blank", "#FFFFFF")
    add(
        "broken/purple.jpg",
        encode(Image.new("RGB", (200, 150), (110, 40, 150)), "JPEG", quality=85),
        "blank",
        "single colour",
    )
    add("broken/tiny.png", encode(rich_photo(4, 20, 16), "PNG"), "too_small", "20×16")
    # ---- placeholders (a low-content picture x5) and a popular rich photo (x5): same frequency
    for i, side in enumerate((320, 320, 300, 400, 256)):
        fmt_options = {"quality": 70 + 5 * i} if i % 2 else {}
        data = encode(placeholder_picture(side), "JPEG" if i % 2 else "PNG", **fmt_options)
        add(f"blocked/unavailable_{i}.{'jpg' if i % 2 else 'png'}", data, "placeholder", "placeholder")
    popular = rich_photo(5, 240, 180)
    for i in range(5):
        data = encode(
            popular if i < 4 else popular.resize((200, 150)), "JPEG", quality=95 if i < 2 else 75 + i
        )
        add(f"popular/reshare_{i}.jpg", data, "ok")
    # ---- kept and handled correctly
    add("good/photo.jpg", good_jpeg, "ok")
    add("good/photo.png", good_png, "ok")
    add("good/cmyk.jpg", encode(rich_photo(8).convert("CMYK"), "JPEG", quality=90), "ok")
    add("good/gray.jpg", encode(rich_photo(9).convert("L"), "JPEG"), "ok")
    gradient16 = np.linspace(0, 65535, 160 * 120).reshape(120, 160) * np.random.default_rng(1).uniform(
        0.5, 1, (120, 160)
    )
    add("good/sixteen_bit.png", encode(Image.fromarray(gradient16.astype(np.uint16)), "PNG"), "ok")
    palette = rich_photo(10).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    add("good/palette_transparent.png", encode(palette, "PNG", transparency=0), "ok")
    rgba = rich_photo(11).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    add("good/alpha.png", encode(rgba, "PNG"), "ok")
    frames = [rich_photo(12), rich_photo(13)]
    add(
        "good/animated.gif",
        encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
        "ok",
    )
    add(
        "good/animated.webp",
        encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100),
        "ok",
    )
    add("good/still.webp", encode(rich_photo(14), "WEBP", quality=85), "ok")
    add("good/rotated.jpg", exif_rotated_jpeg(), "ok")
    add("good/png_named.jpg", encode(rich_photo(15), "PNG"), "ok")  # wrong extension
    add("good/jpeg_named.txt", encode(rich_photo(16), "JPEG"), "ok")  # image content, non-image extension
    add("good/no_extension", encode(rich_photo(17), "JPEG"), "ok")
    write(root, b"good/" + NON_UTF8_NAME, encode(rich_photo(18), "JPEG"))
    expected[os.fsdecode(b"good/" + NON_UTF8_NAME)] = Expected("ok")
    os.symlink(os.path.join(root, "good", "photo.jpg"), os.path.join(root, "good", "link_to_photo.jpg"))
    expected["good/link_to_photo.jpg"] = Expected("ok")
    # ---- unreadable (we run as root, so chmod 000 cannot simulate it: a broken symlink and a FIFO)
    # Its target would lie inside the folder, also when only broken/ is ingested: unreadable, not
    # outside_root.
    os.symlink(os.path.join(root, "broken", "nowhere.jpg"), os.path.join(root, "broken", "dangling.jpg"))
    expected["broken/dangling.jpg"] = Expected("unreadable", "broken symbolic link")
    os.mkfifo(os.path.join(root, "broken", "pipe.jpg"))
    expected["broken/pipe.jpg"] = Expected("unreadable", "named pipe")
    # ---- files that must not get a row
    write(root, "notes.txt", "Notas del scraping: ¡todo bien! 🎉\n".encode())
    write(root, "posts.json", b'{"posts": []}')
    write(root, "clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    write(root, "._photo.jpg", b"\x00\x05\x16\x07 AppleDouble resource fork")
    return expected, ["notes.txt", "posts.json", "clip.mp4", "._photo.jpg"]
