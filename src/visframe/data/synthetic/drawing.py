"""Drawing helpers for the genre painters: DejaVu fonts, fitted text, colour fields, flat shapes, encoding.

Everything here is PIL + numpy and takes an explicit `numpy.random.Generator`, so an image is a pure
function of its random stream (no global state, safe in worker processes).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

Color = tuple[int, int, int]

# DejaVu covers Spanish (á é í ó ú ü ñ ¡ ¿) and the ♀ sign; matplotlib ships it, so no extra fonts.
FONT_FILES = {
    "sans": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif_bold": "DejaVuSerif-Bold.ttf",
    "bold_oblique": "DejaVuSans-BoldOblique.ttf",
    "mono": "DejaVuSansMono.ttf",
}

PURPLES: tuple[Color, ...] = (
    (106, 27, 154),
    (123, 31, 162),
    (142, 36, 170),
    (74, 20, 140),
    (156, 39, 176),
    (94, 53, 177),
    (171, 71, 188),
    (88, 24, 120),
)
GREENS: tuple[Color, ...] = ((0, 128, 64), (46, 125, 50), (27, 94, 32), (56, 142, 60))
PINKS: tuple[Color, ...] = ((216, 27, 96), (236, 64, 122), (240, 98, 146), (194, 24, 91))
DARKS: tuple[Color, ...] = ((18, 18, 18), (33, 33, 33), (28, 20, 36), (10, 10, 14))
LIGHTS: tuple[Color, ...] = (
    (250, 248, 240),
    (255, 255, 255),
    (245, 240, 225),
    (240, 236, 246),
    (252, 246, 232),
)
ORANGES: tuple[Color, ...] = ((239, 108, 0), (245, 124, 0), (255, 143, 0), (230, 81, 0))
REDS: tuple[Color, ...] = ((198, 40, 40), (183, 28, 28), (211, 47, 47))
PASTELS: tuple[Color, ...] = (
    (225, 190, 231),
    (248, 187, 208),
    (255, 224, 178),
    (200, 230, 201),
    (255, 245, 157),
    (209, 196, 233),
    (179, 229, 252),
)
SKINS: tuple[Color, ...] = (
    (241, 194, 125),
    (224, 172, 105),
    (198, 134, 66),
    (141, 85, 36),
    (255, 219, 172),
    (234, 192, 134),
    (176, 120, 80),
    (160, 110, 70),
)
HAIRS: tuple[Color, ...] = (
    (30, 20, 15),
    (60, 40, 25),
    (90, 60, 35),
    (20, 20, 20),
    (120, 80, 50),
    (130, 50, 120),
    (40, 30, 60),
    (15, 12, 10),
)
CLOTHES: tuple[Color, ...] = (
    *PURPLES[:4],
    *DARKS[:2],
    (240, 240, 240),
    GREENS[0],
    PINKS[1],
    (60, 80, 120),
    (120, 120, 120),
    (90, 60, 120),
)


def pick(rng: np.random.Generator, options: Sequence):
    """One element of a sequence, drawn from `rng`."""
    return options[int(rng.integers(len(options)))]


def jitter(rng: np.random.Generator, color: Color, amount: int = 14) -> Color:
    """A colour moved a little in each channel, so no two posts share exact palettes."""
    delta = rng.integers(-amount, amount + 1, size=3)
    return tuple(min(255, max(0, int(c) + int(x))) for c, x in zip(color, delta))  # type: ignore


def luminance(color: Color) -> float:
    return 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]


def text_color_on(rng: np.random.Generator, bg: Color) -> Color:
    """A readable text colour for a background: white/cream on dark, black/purple/red on light."""
    if luminance(bg) < 140:
        return pick(rng, ((255, 255, 255), (255, 255, 255), (250, 240, 220), (255, 235, 59)))
    return pick(rng, ((15, 15, 15), (15, 15, 15), PURPLES[3], REDS[1]))


# --- fonts and text ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def fonts_dir() -> Path:
    """matplotlib's bundled TrueType folder; a clear error if the DejaVu files are missing."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    missing = [name for name in FONT_FILES.values() if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"DejaVu fonts {missing} not found in {path}; the synthetic corpus needs the fonts that "
            "matplotlib ships. Reinstall it: `pip install --force-reinstall matplotlib`."
        )
    return path


def font_path(face: str) -> Path:
    return fonts_dir() / FONT_FILES[face]


@lru_cache(maxsize=2048)
def get_font(face: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(face)), size=max(4, int(size)))


def line_height(font: ImageFont.FreeTypeFont, spacing: float) -> int:
    ascent, descent = font.getmetrics()
    return round((ascent + descent) * spacing)


def wrap_lines(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Greedy word wrap of each "\n"-separated paragraph; a word longer than the line stays whole
    (the fitter then shrinks the font)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            trial = f"{current} {word}" if current else word
            if current and font.getlength(trial) > max_width:
                lines.append(current)
                current = word
            else:
                current = trial
        lines.append(current)
    return lines or [""]


def fit_text(
    text: str, face: str, max_w: float, max_h: float, max_size: int, min_size: int = 6, spacing: float = 1.1
) -> tuple[ImageFont.FreeTypeFont, tuple[str, ...]]:
    """The largest font size (binary search) whose wrapped block fits in max_w × max_h."""
    # Whole pixels and rounded spacing, so the many posts sharing a slogan hit the cache.
    return _fit_text(text, face, int(max_w), int(max_h), int(max_size), int(min_size), round(spacing, 2))


@lru_cache(maxsize=8192)
def _fit_text(
    text: str, face: str, max_w: int, max_h: int, max_size: int, min_size: int, spacing: float
) -> tuple[ImageFont.FreeTypeFont, tuple[str, ...]]:
    lo, hi = min_size, max(min_size, max_size)
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        font = get_font(face, mid)
        lines = wrap_lines(text, font, max_w)
        widest = max(font.getlength(line) for line in lines)
        if widest <= max_w and line_height(font, spacing) * len(lines) <= max_h:
            best = (font, tuple(lines))
            lo = mid + 1
        else:
            hi = mid - 1
    if best is None:
        font = get_font(face, min_size)
        best = (font, tuple(wrap_lines(text, font, max_w)))
    return best


def draw_text_block(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: tuple[float, float, float, float],
    face: str,
    fill: Color,
    max_size: int,
    min_size: int = 6,
    align: str = "center",
    valign: str = "center",
    spacing: float = 1.1,
    stroke: int = 0,
    stroke_fill: Color | None = None,
    highlight: Color | None = None,
) -> float:
    """Draw `text` wrapped and sized to fit `box`; returns the y just below the last line."""
    x0, y0, x1, y1 = box
    font, lines = fit_text(text, face, x1 - x0, y1 - y0, max_size, min_size, spacing)
    step = line_height(font, spacing)
    total = step * len(lines)
    y = y0 + {"top": 0, "center": (y1 - y0 - total) / 2, "bottom": y1 - y0 - total}[valign]
    pad = max(1, step // 8)
    for line in lines:
        width = font.getlength(line)
        x = {"left": x0, "center": x0 + (x1 - x0 - width) / 2, "right": x1 - width}[align]
        if highlight is not None:
            draw.rectangle((x - pad * 2, y, x + width + pad * 2, y + step - pad), fill=highlight)
        draw_line(
            draw, (x, y), line, font, fill, stroke_width=stroke, stroke_fill=stroke_fill if stroke else None
        )
        y += step
    return y


# --- the text an image shows (OCR ground truth) -----------------------------------------------

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the canvas's pixels


@dataclass(frozen=True)
class DrawnLine:
    """One line of text drawn on the canvas, with its ink box."""

    text: str
    box: Box


_DRAWN: ContextVar[list[DrawnLine] | None] = ContextVar("visframe_synthetic_drawn_text", default=None)


@contextmanager
def recording_text() -> Iterator[list[DrawnLine]]:
    """Collect every line `draw_line` draws while the block runs (per thread/process, no globals leak)."""
    drawn: list[DrawnLine] = []
    token = _DRAWN.set(drawn)
    try:
        yield drawn
    finally:
        _DRAWN.reset(token)


def draw_line(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: Color,
    stroke_width: int = 0,
    stroke_fill: Color | None = None,
) -> None:
    """`draw.text` for one line, recorded (text + ink box) when a `recording_text` block is open."""
    draw.text(xy, text, font=font, fill=fill, stroke_width=stroke_width, stroke_fill=stroke_fill)
    drawn = _DRAWN.get()
    if drawn is not None and text.strip():
        box = draw.textbbox(xy, text, font=font, stroke_width=stroke_width)
        drawn.append(DrawnLine(text.strip(), tuple(float(v) for v in box)))


def map_lines(
    lines: Sequence[DrawnLine],
    transform: Callable[[float, float], tuple[float, float]],
    width: float,
    height: float,
) -> list[DrawnLine]:
    """Lines moved by a crop/resize `transform` of points; a line whose centre leaves the canvas is
    dropped."""
    kept = []
    for line in lines:
        x0, y0 = transform(line.box[0], line.box[1])
        x1, y1 = transform(line.box[2], line.box[3])
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if 0 <= cx < width and 0 <= cy < height:
            kept.append(DrawnLine(line.text, (x0, y0, x1, y1)))
    return kept


def reading_order(lines: Sequence[DrawnLine]) -> str:
    """The lines as a reader takes them: rows top to bottom (a row = lines whose vertical centres are
    within half a line height of each other), left to right inside a row, joined by newlines."""
    rows: list[list[DrawnLine]] = []
    for line in sorted(lines, key=lambda l: (l.box[1] + l.box[3]) / 2):
        centre, height = (line.box[1] + line.box[3]) / 2, line.box[3] - line.box[1]
        if rows:
            last = rows[-1][-1]
            if abs(centre - (last.box[1] + last.box[3]) / 2) <= 0.5 * max(height, last.box[3] - last.box[1]):
                rows[-1].append(line)
                continue
        rows.append([line])
    return "\n".join(" ".join(l.text for l in sorted(row, key=lambda l: l.box[0])) for row in rows)


# --- colour fields and photo texture ----------------------------------------------------------


def solid(w: int, h: int, color: Color) -> Image.Image:
    return Image.new("RGB", (w, h), color)


def linear_gradient(w: int, h: int, top: Color, bottom: Color, horizontal: bool = False) -> Image.Image:
    steps = w if horizontal else h
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    ramp = (np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t).astype(np.uint8)
    if horizontal:
        arr = np.broadcast_to(ramp[None, :, :], (h, w, 3))
    else:
        arr = np.broadcast_to(ramp[:, None, :], (h, w, 3))
    return Image.fromarray(np.ascontiguousarray(arr))


def smooth_field(
    rng: np.random.Generator, w: int, h: int, colors: Sequence[Color], cells: int = 5, amount: int = 20
) -> Image.Image:
    """Low-frequency colour clouds: a small random grid of palette colours upscaled bicubically."""
    gw, gh = max(2, cells), max(2, round(cells * h / w))
    idx = rng.integers(len(colors), size=(gh, gw))
    grid = np.asarray(colors, np.int16)[idx] + rng.integers(-amount, amount + 1, size=(gh, gw, 3))
    small = Image.fromarray(np.clip(grid, 0, 255).astype(np.uint8))
    return small.resize((w, h), Image.BICUBIC)


def soften(img: Image.Image, factor: int) -> Image.Image:
    """A cheap strong blur (down- then up-sampling), e.g. for out-of-focus backgrounds and smoke."""
    w, h = img.size
    return img.resize((max(1, w // factor), max(1, h // factor)), Image.BILINEAR).resize(
        (w, h), Image.BICUBIC
    )


GRAIN_LEVELS = (3, 5, 7, 9, 11, 13, 15)  # grain sigma, in 8-bit levels
VIGNETTE_LEVELS = (0.0, 0.12, 0.22, 0.32, 0.45)


@lru_cache(maxsize=16)
def _grain_tile(sigma: int, size: int) -> Image.Image:
    """A fixed tile of grain centred on 128: luminance noise shared by the channels + weaker colour noise.

    Drawing fresh normals for every pixel was most of a photo's cost; a random window of a fixed tile
    is as good for grain, is applied by one C call, and stays a pure function of the image's stream.
    """
    z = np.random.default_rng(20190308 + sigma).standard_normal((size, size, 4), dtype=np.float32)
    arr = 128 + z[:, :, :1] * sigma + z[:, :, 1:] * (sigma * 0.4)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


@lru_cache(maxsize=32)
def _vignette(w: int, h: int, strength: float) -> Image.Image:
    ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    falloff = 255 * (1 - strength * np.clip((xs * xs + ys * ys) / 2, 0, 1))
    return Image.fromarray(np.repeat(falloff[:, :, None], 3, axis=2).astype(np.uint8))


def photo_finish(
    img: Image.Image,
    rng: np.random.Generator,
    grain: tuple[float, float] = (4, 12),
    blur: float = 0.5,
    vignette: float | None = None,
) -> Image.Image:
    """Make a flat drawing read as a photo: lens softness, sensor grain, vignette, exposure/colour cast."""
    w, h = img.size
    if blur > 0:
        img = img.resize((int(w * (1 - blur * 0.35)), int(h * (1 - blur * 0.35))), Image.BILINEAR)
        img = img.resize((w, h), Image.BILINEAR)
    gain = rng.uniform(0.85, 1.12, size=3) * rng.uniform(0.85, 1.1)
    img = img.point([min(255, int(i * g)) for g in gain for i in range(256)])
    levels = [s for s in GRAIN_LEVELS if grain[0] <= s <= grain[1]] or [GRAIN_LEVELS[0]]
    sigma = levels[int(rng.integers(len(levels)))]
    tile = _grain_tile(sigma, max(512, 256 * -(-(max(w, h) + 64) // 256)))
    ox, oy = (int(v) for v in rng.integers(0, tile.size[0] - max(w, h), size=2))
    img = ImageChops.add(img, tile.crop((ox, oy, ox + w, oy + h)), scale=1.0, offset=-128)
    strength = VIGNETTE_LEVELS[int(rng.integers(1, len(VIGNETTE_LEVELS)))] if vignette is None else vignette
    if strength > 0:
        img = ImageChops.multiply(img, _vignette(w, h, float(strength)))
    return img


# --- flat shapes --------------------------------------------------------------------------------


def draw_fist(
    draw: ImageDraw.ImageDraw,
    cx: float,
    cy: float,
    size: float,
    fill: Color,
    outline: Color | None = None,
    width: int = 0,
) -> None:
    """A raised fist from polygons: forearm, palm, four knuckles, thumb across."""
    s = size
    ow = {"outline": outline, "width": width} if outline else {}
    draw.polygon(
        [
            (cx - 0.22 * s, cy + 0.2 * s),
            (cx + 0.22 * s, cy + 0.2 * s),
            (cx + 0.18 * s, cy + 0.95 * s),
            (cx - 0.18 * s, cy + 0.95 * s),
        ],
        fill=fill,
        **ow,
    )
    draw.rounded_rectangle(
        (cx - 0.32 * s, cy - 0.25 * s, cx + 0.32 * s, cy + 0.3 * s),
        radius=max(1, int(0.1 * s)),
        fill=fill,
        **ow,
    )
    knuckle_w = 0.16 * s
    for i in range(4):
        x0 = cx - 0.32 * s + i * knuckle_w
        draw.rounded_rectangle(
            (x0, cy - 0.5 * s, x0 + knuckle_w, cy - 0.15 * s), radius=max(1, int(0.07 * s)), fill=fill, **ow
        )
    draw.polygon(
        [
            (cx - 0.34 * s, cy - 0.05 * s),
            (cx + 0.12 * s, cy - 0.12 * s),
            (cx + 0.14 * s, cy + 0.02 * s),
            (cx - 0.3 * s, cy + 0.12 * s),
        ],
        fill=fill,
        **ow,
    )


def draw_flower(
    draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, petal: Color, center: Color, n_petals: int = 6
) -> None:
    for k in range(n_petals):
        a = 2 * np.pi * k / n_petals
        px, py = cx + np.cos(a) * r * 0.62, cy + np.sin(a) * r * 0.62
        draw.ellipse((px - r * 0.45, py - r * 0.45, px + r * 0.45, py + r * 0.45), fill=petal)
    draw.ellipse((cx - r * 0.35, cy - r * 0.35, cx + r * 0.35, cy + r * 0.35), fill=center)


def draw_venus(
    draw: ImageDraw.ImageDraw,
    cx: float,
    cy: float,
    r: float,
    color: Color,
    width: int,
    fist: Color | None = None,
) -> None:
    """♀ drawn as shapes (circle + cross), optionally with a fist inside: the feminist emblem."""
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=color, width=width)
    draw.line((cx, cy + r, cx, cy + 2.1 * r), fill=color, width=width)
    draw.line((cx - 0.55 * r, cy + 1.6 * r, cx + 0.55 * r, cy + 1.6 * r), fill=color, width=width)
    if fist is not None:
        draw_fist(draw, cx, cy - 0.05 * r, r * 0.9, fist)


def draw_heart(draw: ImageDraw.ImageDraw, cx: float, cy: float, s: float, fill: Color) -> None:
    draw.ellipse((cx - s, cy - s * 0.8, cx, cy + s * 0.2), fill=fill)
    draw.ellipse((cx, cy - s * 0.8, cx + s, cy + s * 0.2), fill=fill)
    draw.polygon([(cx - s * 0.97, cy - s * 0.15), (cx + s * 0.97, cy - s * 0.15), (cx, cy + s)], fill=fill)


def draw_person(
    draw: ImageDraw.ImageDraw,
    rng: np.random.Generator,
    x: float,
    feet: float,
    height: float,
    clothing: Color,
    skin: Color,
    hair: Color,
    raised_arm: bool = False,
) -> None:
    """A standing figure seen in a crowd: head, hair, torso; optionally one arm raised."""
    head = height * 0.13
    top = feet - height
    body_w = height * 0.2
    draw.rounded_rectangle(
        (x - body_w, top + head * 1.8, x + body_w, feet), radius=max(1, int(body_w * 0.5)), fill=clothing
    )
    if raised_arm:
        arm = max(1, int(height * 0.05))
        draw.line(
            (x + body_w * 0.7, top + head * 2.4, x + body_w * 1.4, top - head * 0.4), fill=clothing, width=arm
        )
        draw.ellipse(
            (x + body_w * 1.4 - arm, top - head * 0.4 - arm, x + body_w * 1.4 + arm, top - head * 0.4 + arm),
            fill=skin,
        )
    draw.ellipse((x - head, top, x + head, top + head * 2.1), fill=skin)
    draw.chord((x - head * 1.1, top - head * 0.15, x + head * 1.1, top + head * 1.6), 180, 360, fill=hair)


def draw_face(
    draw: ImageDraw.ImageDraw,
    rng: np.random.Generator,
    cx: float,
    cy: float,
    rx: float,
    skin: Color,
    hair: Color,
    long_hair: bool = True,
) -> None:
    """A frontal face: hair mass, face ellipse, fringe, eyes, brows, nose, mouth."""
    ry = rx * 1.28
    if long_hair:
        draw.rounded_rectangle(
            (cx - rx * 1.25, cy - ry * 1.15, cx + rx * 1.25, cy + ry * 1.5), radius=int(rx * 0.9), fill=hair
        )
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=skin)
    draw.chord((cx - rx * 1.08, cy - ry * 1.12, cx + rx * 1.08, cy + ry * 0.15), 180, 360, fill=hair)
    eye_y = cy + ry * 0.05
    eye = max(1.0, rx * 0.11)
    dark = (35, 25, 20)
    for side in (-1, 1):
        ex = cx + side * rx * 0.38
        draw.ellipse((ex - eye * 1.4, eye_y - eye, ex + eye * 1.4, eye_y + eye), fill=(245, 245, 240))
        draw.ellipse((ex - eye * 0.8, eye_y - eye * 0.8, ex + eye * 0.8, eye_y + eye * 0.8), fill=dark)
        draw.line(
            (ex - eye * 1.8, eye_y - eye * 2.4, ex + eye * 1.6, eye_y - eye * 2.7),
            fill=hair,
            width=max(1, int(eye * 0.7)),
        )
    shade = tuple(max(0, c - 35) for c in skin)
    draw.line((cx, eye_y + eye, cx - rx * 0.06, cy + ry * 0.42), fill=shade, width=max(1, int(eye * 0.5)))
    mouth = pick(rng, ((170, 60, 70), (150, 70, 70), (120, 30, 90)))
    draw.chord((cx - rx * 0.32, cy + ry * 0.48, cx + rx * 0.32, cy + ry * 0.72), 0, 180, fill=mouth)


# --- encoding -------------------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    """Deterministic bytes: no timestamps or optional metadata in either format."""
    buf = io.BytesIO()
    if fmt == "PNG":
        img.save(buf, format="PNG", compress_level=6)
    else:
        img.convert("RGB").save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()
