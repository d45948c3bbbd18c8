"""Montages: each cluster's most and least typical images (by membership probability) in one PNG.

The table behind them (`samples.parquet`, the study's Appendix 5) is built first; the picture only
draws it, in table order, so the first tile is always the first `top` row.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from visframe import contracts as C
from visframe.report.posts import NOISE, cluster_label, rank_by_probability
from visframe.report.thumbnails import ThumbnailCache

SAMPLE_COLUMNS = [
    "model",
    C.IMAGE_ID,
    "path",
    C.CLUSTER,
    C.PROBABILITY,
    C.OUTLIER_SCORE,
    "rank_kind",
    "rank",
    "account",
]


def select_montage_samples(
    posts: pd.DataFrame, clusters: list[int], top_k: int, unique_images: bool, model: str
) -> pd.DataFrame:
    """Per cluster the top-k rows by probability (rank 1 = highest) and the bottom-k (rank 1 = lowest).

    A cluster with fewer than 2k images shows each image once: the bottom band takes only images
    not already in the top band.
    """
    frames = []
    for cluster in clusters:
        members = posts[posts[C.CLUSTER] == cluster]
        ranked = rank_by_probability(members, descending=True)
        if unique_images:
            ranked = ranked.drop_duplicates(C.IMAGE_ID, keep="first")
        top = ranked.head(top_k)
        rest = ranked.iloc[len(top) :]
        bottom = rank_by_probability(rest, descending=False).head(top_k)
        for kind, rows in (("top", top), ("bottom", bottom)):
            frame = rows.assign(rank_kind=kind, rank=np.arange(1, len(rows) + 1, dtype="int64"))
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    samples = pd.concat(frames, ignore_index=True)
    samples["model"] = model
    if "account" not in samples:
        samples["account"] = pd.Series([None] * len(samples), dtype="string")
    return samples[SAMPLE_COLUMNS].reset_index(drop=True)


def font(size: int, mono: bool = False, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu from matplotlib's own data: present wherever matplotlib is, full Spanish coverage.

    One font object per thread: a FreeType face must not be shared between threads."""
    return _font(size, mono, bold, threading.get_ident())


@lru_cache(maxsize=64)
def _font(size: int, mono: bool, bold: bool, _thread: int) -> ImageFont.FreeTypeFont:
    name = "DejaVuSansMono.ttf" if mono else ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


@dataclass(frozen=True)
class MontageLayout:
    """Pixel geometry of a montage, shared by the renderer and the tests that read tiles back."""

    thumb: int
    columns: int
    n_top: int
    n_bottom: int
    margin: int = 10
    gap: int = 8
    title_height: int = 34
    header_height: int = 24
    caption_height: int = 48

    @property
    def cell_width(self) -> int:
        return self.thumb + self.gap

    @property
    def cell_height(self) -> int:
        return self.thumb + self.caption_height + self.gap

    def rows(self, n: int) -> int:
        return max(1, -(-n // self.columns))

    def section_top(self, section: str) -> int:
        top = self.margin + self.title_height
        if section == "bottom":
            top += self.header_height + self.rows(self.n_top) * self.cell_height
        return top

    def thumb_box(self, section: str, index: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the square that holds tile `index` of `section`."""
        row, col = divmod(index, self.columns)
        left = self.margin + col * self.cell_width
        top = self.section_top(section) + self.header_height + row * self.cell_height
        return left, top, left + self.thumb, top + self.thumb

    @property
    def size(self) -> tuple[int, int]:
        width = 2 * self.margin + self.columns * self.cell_width - self.gap
        height = self.section_top("bottom") + self.header_height + self.rows(self.n_bottom) * self.cell_height
        return width, height + self.margin


def paste_centered(canvas: Image.Image, image: Image.Image, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    x = left + (right - left - image.width) // 2
    y = top + (bottom - top - image.height) // 2
    canvas.paste(image, (x, y))


def fit_text(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int) -> str:
    """`text`, shortened with an ellipsis until it fits `width` pixels (captions never overlap)."""
    if draw.textlength(text, font=face) <= width:
        return text
    while text and draw.textlength(text + "…", font=face) > width:
        text = text[:-1]
    return text + "…"


def render_montage(
    samples: pd.DataFrame,
    cluster: int,
    n_posts: int,
    thumbs: ThumbnailCache,
    columns: int,
    path: Path,
    name: str | None = None,
) -> Path:
    """Draw one cluster's top and bottom tiles, captioned with image_id, probability and account;
    the title is the cluster's name from describe (else "cluster 3") and its size."""
    top = samples[samples["rank_kind"] == "top"].sort_values("rank")
    bottom = samples[samples["rank_kind"] == "bottom"].sort_values("rank")
    columns = max(1, min(columns, max(len(top), len(bottom), 1)))
    layout = MontageLayout(thumbs.size, columns, len(top), len(bottom))
    canvas = Image.new("RGB", layout.size, "white")
    draw = ImageDraw.Draw(canvas)
    width = layout.size[0] - 2 * layout.margin
    title = f"{name or cluster_label(cluster)} · {n_posts} posts"
    draw.text(
        (layout.margin, layout.margin),
        fit_text(draw, title, font(18, bold=True), width),
        fill="black",
        font=font(18, bold=True),
    )
    caption_width = layout.thumb
    small = max(8, min(11, layout.thumb // 15))
    for section, rows, header in zip(
        ("top", "bottom"), (top, bottom), _headers(cluster, samples, len(top), len(bottom))
    ):
        y = layout.section_top(section)
        draw.text((layout.margin, y + 4), header, fill=(60, 60, 60), font=font(13))
        if rows.empty:
            draw.text(
                (layout.margin, y + layout.header_height + 4),
                "no further images",
                fill=(120, 120, 120),
                font=font(12),
            )
        for index, row in enumerate(rows.itertuples(index=False)):
            box = layout.thumb_box(section, index)
            draw.rectangle(box, fill=(242, 242, 242))
            paste_centered(canvas, thumbs.open(row.image_id, row.path), box)
            lines = [
                (row.image_id, font(small, mono=True)),
                (_probability_text(row.probability, row.outlier_score), font(small)),
                (_account_text(row.account), font(small)),
            ]
            ty = box[3] + 3
            for text, face in lines:
                draw.text((box[0], ty), fit_text(draw, text, face, caption_width), fill="black", font=face)
                ty += small + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    # compress_level 1: ~40% faster than the default 6 for a few % more bytes; 100 montages add up.
    canvas.save(path, format="PNG", compress_level=1)
    return path


def _headers(cluster: int, samples: pd.DataFrame, n_top: int, n_bottom: int) -> tuple[str, str]:
    if cluster == NOISE:
        # HDBSCAN gives every noise point probability 0: the order comes from the outlier score.
        if samples[C.OUTLIER_SCORE].notna().any():
            return (
                f"least outlying noise (lowest outlier score, {n_top})",
                f"most outlying noise (highest outlier score, {n_bottom})",
            )
        return f"noise, first {n_top} by image_id", f"noise, last {n_bottom} by image_id"
    return f"highest probability (top {n_top})", f"lowest probability (bottom {n_bottom})"


def _probability_text(probability: float, outlier: float) -> str:
    text = f"p={probability:.3f}"
    if outlier is not None and not pd.isna(outlier):
        text += f"  out={outlier:.2f}"
    return text


def _account_text(account: object) -> str:
    if account is None or pd.isna(account) or str(account) == "":
        return "account unknown"
    return f"@{str(account).lstrip('@')}"


def montage_filename(cluster: int) -> str:
    return f"cluster_{cluster}.png"
