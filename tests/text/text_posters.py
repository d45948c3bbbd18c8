"""Posters with known Spanish text, drawn with PIL and matplotlib's DejaVu fonts (deterministic)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"

# (background, ink, font, size, lines): the lines are what a perfect reader returns.
POSTERS = [
    (
        (106, 27, 154),
        (255, 255, 255),
        "DejaVuSans-Bold.ttf",
        34,
        ["NI UNA MENOS", "¿Dónde están?", "Justicia para ellas"],
    ),
    (
        (250, 248, 240),
        (20, 20, 20),
        "DejaVuSans.ttf",
        24,
        [
            "Comunicado de las colectivas",
            "Exigimos investigación",
            "y acompañamiento a las niñas.",
            "Marcha el 8 de marzo",
        ],
    ),
    ((18, 18, 18), (255, 235, 59), "DejaVuSerif-Bold.ttf", 40, ["#25N", "Vivas nos queremos"]),
]


def draw_poster(background, ink, font_file, size, lines, width=480, height=480) -> Image.Image:
    img = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONTS / font_file), size)
    step = int(size * 1.6)
    y = (height - step * len(lines)) // 2
    for line in lines:
        draw.text((int(width * 0.06), y), line, font=font, fill=ink)
        y += step
    return img


def write_posters(folder: Path) -> list[tuple[Path, str]]:
    """The posters as PNG files and the text each shows (lines joined by newlines)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (bg, ink, font, size, lines) in enumerate(POSTERS):
        path = folder / f"poster{i}.png"
        draw_poster(bg, ink, font, size, lines).save(path)
        out.append((path, "\n".join(lines)))
    return out


def normalise(text: str) -> str:
    """Case-folded, whitespace collapsed, accents kept (what the CER compares)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).casefold()).strip()


def cer(predicted: str, truth: str) -> float:
    from rapidfuzz.distance import Levenshtein

    truth = normalise(truth)
    return Levenshtein.distance(normalise(predicted), truth) / max(1, len(truth))
