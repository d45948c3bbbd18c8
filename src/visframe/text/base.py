"""The one small interface every OCR backend follows, and what the stage makes of its lines.

A backend is any object with `name`, `cache_key` (a JSON-able dict: everything that changes what it
reads), `language` (an ISO 639 code when the backend reads a single known language, else None),
`workers` (processes that read with it at once) and `read(PIL.Image) -> list[TextLine]`; it must
pickle (a pool's workers each get a copy). `reading_order` sorts the lines as a reader takes them, and
`summarise` turns them into one row of texts.parquet.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels (axis-aligned)


@dataclass(frozen=True)
class TextLine:
    """One line of text a backend found: what it says, where it is, how sure the backend is (0..1)."""

    text: str
    box: Box
    confidence: float


class TextBackend(ABC):
    """Reads the lines of text in an image. Built by Hydra from `conf/text/<name>.yaml`."""

    name: str = "backend"
    language: str | None = None
    # How many processes read with it at once (`auto` = the cores, at most 8; visframe.text.pool):
    # how it runs, not what it reads, so never part of `cache_key`. A backend that holds state a copy
    # in another process would not share (a test's call counter) keeps the default, 1.
    workers: int | str = 1

    @property
    @abstractmethod
    def cache_key(self) -> dict[str, Any]:
        """Everything that decides what `read` returns (model files, versions, thresholds)."""

    @abstractmethod
    def read(self, image: Image.Image) -> list[TextLine]:
        """The lines of text in `image` (RGB), in any order; [] when there is none."""


def drop_specks(lines: Sequence[TextLine], min_chars: int) -> list[TextLine]:
    """Lines with at least `min_chars` letters or digits. Shapes (flowers, fists, the ♀ sign) are
    read as lone characters ("8", "Q", "心"); on the synthetic corpus those made all of RapidOCR's
    false "this image has text" calls at 256 px."""
    return [line for line in lines if sum(ch.isalnum() for ch in line.text) >= min_chars]


def reading_order(lines: Sequence[TextLine]) -> list[TextLine]:
    """Rows top to bottom, left to right inside a row. Two lines share a row when their vertical
    centres are within half the taller line's height (the synthetic generator orders its ground
    truth the same way, so a perfect read scores CER 0)."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda l: (l.box[1] + l.box[3]) / 2):
        if rows:
            last = rows[-1][-1]
            gap = abs((line.box[1] + line.box[3]) / 2 - (last.box[1] + last.box[3]) / 2)
            if gap <= 0.5 * max(line.box[3] - line.box[1], last.box[3] - last.box[1]):
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda l: l.box[0])]


def area_share(boxes: Sequence[Box], width: int, height: int) -> float:
    """The share of the image covered by the union of `boxes` (overlaps counted once)."""
    if not boxes or width <= 0 or height <= 0:
        return 0.0
    mask = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        c0, c1 = max(0, math.floor(x0)), min(width, math.ceil(x1))
        r0, r1 = max(0, math.floor(y0)), min(height, math.ceil(y1))
        if c1 > c0 and r1 > r0:
            mask[r0:r1, c0:c1] = True
    return float(mask.mean())


@dataclass(frozen=True)
class TextSummary:
    """What texts.parquet keeps of one image's lines."""

    text: str
    n_chars: int
    text_area_share: float
    mean_confidence: float


def summarise(lines: Sequence[TextLine], width: int, height: int) -> TextSummary:
    """Lines in reading order joined by newlines; characters without whitespace; covered share;
    mean line confidence (NaN when there are no lines)."""
    ordered = [line for line in reading_order(lines) if line.text.strip()]
    text = "\n".join(line.text.strip() for line in ordered)
    n_chars = sum(not ch.isspace() for ch in text)
    confidence = float(np.mean([line.confidence for line in ordered])) if ordered else math.nan
    return TextSummary(text, n_chars, area_share([line.box for line in ordered], width, height), confidence)
