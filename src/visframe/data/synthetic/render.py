"""Turn an `ImageSpec` into file bytes: paint its genre, vary it like a real upload, break it if planned."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from visframe.data.synthetic import drawing as d
from visframe.data.synthetic import vocab
from visframe.data.synthetic.genres import GENRES
from visframe.data.synthetic.painters_scene import PaintJob
from visframe.data.synthetic.plan import STREAM_IMAGE, ImageSpec

PLACEHOLDER_SIZE = 256


def image_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of image `index`: independent of every other image, so order-free."""
    return np.random.default_rng([seed, STREAM_IMAGE, index])


def paint(spec: ImageSpec, seed: int) -> Image.Image:
    """The intended picture of an image spec (before encoding and before any breakage)."""
    return paint_with_text(spec, seed)[0]


def paint_with_text(spec: ImageSpec, seed: int) -> tuple[Image.Image, list[d.DrawnLine]]:
    """The picture and the lines of text it shows (where they ended up after the upload variation)."""
    rng = image_rng(seed, spec.index)
    job = PaintJob(spec.width, spec.height, spec.headline, spec.account, spec.subject, spec.body)
    with d.recording_text() as drawn:
        img = GENRES[spec.label].painter(rng, job)
        lines = list(drawn)
        del drawn[:]
        img, lines = _upload_variation(img, rng, spec, lines)
        lines += drawn  # the stamped handle, drawn on the final canvas
    return img, lines


def _upload_variation(
    img: Image.Image, rng: np.random.Generator, spec: ImageSpec, lines: list[d.DrawnLine]
) -> tuple[Image.Image, list[d.DrawnLine]]:
    """What happens to any post on its way to the feed: re-crops, stamped handles, frames."""
    w, h = img.size
    if rng.random() < 0.2:  # zoomed re-crop
        zoom = rng.uniform(0.03, 0.12)
        dx, dy = rng.uniform(0, zoom * w), rng.uniform(0, zoom * h)
        img = img.crop((dx, dy, dx + w * (1 - zoom), dy + h * (1 - zoom))).resize((w, h), Image.BICUBIC)
        lines = d.map_lines(lines, lambda x, y: ((x - dx) / (1 - zoom), (y - dy) / (1 - zoom)), w, h)
    if rng.random() < 0.08:  # white repost frame
        pad = int(w * rng.uniform(0.03, 0.08))
        framed = Image.new("RGB", (w, h), (255, 255, 255))
        framed.paste(img.resize((w - 2 * pad, h - 2 * pad), Image.BILINEAR), (pad, pad))
        img = framed
        lines = d.map_lines(
            lines, lambda x, y: (pad + x * (w - 2 * pad) / w, pad + y * (h - 2 * pad) / h), w, h
        )
    if rng.random() < 0.08 and spec.account:  # a handle stamped by whoever posted it
        draw = ImageDraw.Draw(img)
        font = d.get_font("bold", max(7, h // 26))
        d.draw_line(
            draw,
            (w * 0.04, h * 0.02),
            "@" + spec.account,
            font,
            (255, 255, 255),
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
    return img, lines


def placeholder_bytes() -> bytes:
    """Instagram's grey "content unavailable" tile: the same bytes every time (no randomness)."""
    return _placeholder()[0]


def placeholder_text() -> str:
    """The text the placeholder tile shows, in reading order."""
    return _placeholder()[1]


@lru_cache(maxsize=1)
def _placeholder() -> tuple[bytes, str]:
    s = PLACEHOLDER_SIZE
    img = Image.new("RGB", (s, s), (219, 219, 219))
    draw = ImageDraw.Draw(img)
    cx, cy, r = s / 2, s * 0.38, s * 0.12
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(142, 142, 142), width=max(2, s // 64))
    draw.ellipse(
        (cx - r * 0.45, cy - r * 0.45, cx + r * 0.45, cy + r * 0.45),
        outline=(142, 142, 142),
        width=max(2, s // 64),
    )
    draw.line(
        (cx - r * 1.1, cy + r * 1.1, cx + r * 1.1, cy - r * 1.1), fill=(142, 142, 142), width=max(2, s // 50)
    )
    with d.recording_text() as drawn:
        _draw_placeholder(draw, s)
    return d.encode(img, "JPEG", 85), d.reading_order(drawn)


def _draw_placeholder(draw: ImageDraw.ImageDraw, s: int) -> None:
    d.draw_text_block(
        draw,
        "Contenido no disponible",
        (s * 0.1, s * 0.58, s * 0.9, s * 0.7),
        "bold",
        (100, 100, 100),
        max_size=s // 14,
    )
    d.draw_text_block(
        draw,
        "Esta publicación ya no está disponible o fue eliminada.",
        (s * 0.12, s * 0.7, s * 0.88, s * 0.85),
        "sans",
        (130, 130, 130),
        max_size=s // 22,
    )


def login_page_bytes(rng: np.random.Generator, spec: ImageSpec) -> bytes:
    token = "".join(d.pick(rng, "abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))
    return vocab.LOGIN_PAGE.format(token=token, next_path=f"/p/{spec.post_id}/").encode("utf-8")


def render_bytes(spec: ImageSpec, seed: int) -> bytes:
    """The bytes of an original (non-copy) image, including planned breakage."""
    return render_with_text(spec, seed)[0]


def render_with_text(spec: ImageSpec, seed: int) -> tuple[bytes, list[d.DrawnLine]]:
    """The bytes of an original (non-copy) image and the lines of text it shows (none when broken)."""
    if spec.broken_kind == "zero_byte":
        return b"", []
    if spec.broken_kind == "placeholder":
        return placeholder_bytes(), [d.DrawnLine(placeholder_text(), (0.0, 0.0, 1.0, 1.0))]
    if spec.broken_kind == "html":
        return login_page_bytes(image_rng(seed, spec.index), spec), []
    img, lines = paint_with_text(spec, seed)
    data = d.encode(img, spec.fmt, spec.quality)
    if spec.broken_kind == "truncated":
        # Cut well inside the entropy-coded data: the header parses, decoding fails.
        cut = image_rng(seed, spec.index).uniform(0.35, 0.7)
        return data[: int(len(data) * cut)], []
    return data, lines


def _near_duplicate_crop(spec: ImageSpec, seed: int, w: int, h: int) -> tuple[float, float, float] | None:
    """(frac, dx, dy) of a near-duplicate's crop, None for the other operations."""
    if spec.near_duplicate_op != "crop":
        return None
    rng = image_rng(seed, spec.index)
    frac = rng.uniform(0.02, 0.05)
    return frac, rng.uniform(0, frac * w), rng.uniform(0, frac * h)


def near_duplicate_bytes(spec: ImageSpec, source_bytes: bytes, seed: int) -> bytes:
    """A copy that went through someone's phone: re-encoded, slightly cropped, or resized."""
    img = Image.open(io.BytesIO(source_bytes)).convert("RGB")
    w, h = img.size
    crop = _near_duplicate_crop(spec, seed, w, h)
    if crop is not None:
        frac, dx, dy = crop
        img = img.crop((dx, dy, dx + w * (1 - frac), dy + h * (1 - frac))).resize((w, h), Image.BICUBIC)
    elif spec.near_duplicate_op == "resize":
        scale = image_rng(seed, spec.index).uniform(0.7, 0.9)
        img = img.resize((int(w * scale), int(h * scale)), Image.BICUBIC)
    return d.encode(img, "JPEG", spec.quality)


def near_duplicate_lines(spec: ImageSpec, source_lines: list[d.DrawnLine], seed: int) -> list[d.DrawnLine]:
    """The source's lines as the near-duplicate shows them (a crop may cut some off)."""
    w, h = spec.width, spec.height
    crop = _near_duplicate_crop(spec, seed, w, h)
    if crop is None:
        return list(source_lines)
    frac, dx, dy = crop
    return d.map_lines(source_lines, lambda x, y: ((x - dx) / (1 - frac), (y - dy) / (1 - frac)), w, h)
