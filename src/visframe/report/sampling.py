"""The sampling sheet for qualitative coding: per cluster, images drawn from three probability bands.

Bands: `top` (the n most probable members), `bottom` (the n least probable of the rest) and `middle`
(n drawn at random from what lies between, seeded per cluster so adding a cluster or changing another
cluster's size never changes this cluster's draw). A cluster smaller than top+middle+bottom gives
every member once, filling top first, then bottom, then middle.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.drawing.image import Image as XlImage
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from PIL import Image

from visframe.contracts import (
    ACCOUNT,
    ALT_TEXT,
    CAPTION,
    CLUSTER,
    CODE,
    CODER,
    HASHTAGS,
    IMAGE_ID,
    LIKES,
    MEMO,
    OUTLIER_SCORE,
    PATH,
    POST_ID,
    POSTED_AT,
    PROBABILITY,
)
from visframe.report.posts import rank_by_probability
from visframe.report.thumbnails import ThumbnailCache
from visframe.utils.csv_safe import to_csv_safe

BANDS = ("top", "middle", "bottom")
from visframe.contracts import BAND, BAND_RANK, MODEL

THUMBNAIL = "thumbnail"  # the sheet's own column: a thumbnail's path relative to report/
METADATA = [ACCOUNT, POST_ID, HASHTAGS, LIKES, POSTED_AT, CAPTION, ALT_TEXT]
CODING_COLUMNS = [CODE, MEMO, CODER]
# openpyxl refuses control characters that XML 1.0 can't hold; a caption can contain them.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def draw_sample(
    posts: pd.DataFrame,
    clusters: list[int],
    top: int,
    middle: int,
    bottom: int,
    seed: int,
    unique_images: bool,
    model: str,
) -> pd.DataFrame:
    """The sheet's rows: model, cluster, band, band_rank, image_id, path, probability, metadata…"""
    frames = []
    for cluster in clusters:
        ranked = rank_by_probability(posts[posts[CLUSTER] == cluster], descending=True)
        if unique_images:
            ranked = ranked.drop_duplicates(IMAGE_ID, keep="first")
        n = len(ranked)
        n_top = min(top, n)
        n_bottom = min(bottom, n - n_top)
        top_rows = ranked.iloc[:n_top]
        bottom_rows = ranked.iloc[n - n_bottom :] if n_bottom else ranked.iloc[:0]
        between = ranked.iloc[n_top : n - n_bottom]
        rng = np.random.default_rng([seed, cluster + 1])  # cluster >= -1, entropy must be >= 0
        picked = np.sort(rng.choice(len(between), size=min(middle, len(between)), replace=False))
        middle_rows = between.iloc[picked]
        # bottom band in ascending order: band_rank 1 is the least probable member.
        for band, rows in (("top", top_rows), ("middle", middle_rows), ("bottom", bottom_rows.iloc[::-1])):
            frames.append(rows.assign(**{BAND: band, BAND_RANK: np.arange(1, len(rows) + 1, dtype="int64")}))
    sheet = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    sheet[MODEL] = model
    if sheet.empty:
        sheet = pd.DataFrame(columns=[MODEL, CLUSTER, BAND, BAND_RANK, IMAGE_ID, PATH, PROBABILITY])
    meta = [c for c in METADATA if c in sheet.columns]
    columns = [
        MODEL,
        CLUSTER,
        BAND,
        BAND_RANK,
        IMAGE_ID,
        PATH,
        PROBABILITY,
        OUTLIER_SCORE,
        *meta,
    ]
    sheet = sheet[[c for c in columns if c in sheet.columns]].reset_index(drop=True)
    if HASHTAGS in sheet:
        sheet[HASHTAGS] = sheet[HASHTAGS].map(lambda tags: " ".join(f"#{t}" for t in tags))
    for column in CODING_COLUMNS:
        sheet[column] = pd.array([""] * len(sheet), dtype="string")
    return sheet


def attach_thumbnails(
    sheet: pd.DataFrame, thumbs: ThumbnailCache, report_dir: Path
) -> tuple[pd.DataFrame, list[Path]]:
    """Copy each sampled image's thumbnail to `report/thumbnails/` and add its relative path.

    The copies travel with the report (an MLflow artifact, a zip for coders); the cache may not.
    """
    target_dir = report_dir / "thumbnails"
    target_dir.mkdir(parents=True, exist_ok=True)
    made = thumbs.ensure_many(zip(sheet[IMAGE_ID], sheet[PATH]))
    written, relative, copied = [], [], set()
    for image_id in sheet[IMAGE_ID]:
        source = made.get(image_id)
        if source is None:
            relative.append("")
            continue
        target = target_dir / f"{image_id}.jpg"
        if image_id not in copied:  # a reshared image can be sampled in two clusters
            shutil.copyfile(source, target)
            copied.add(image_id)
            written.append(target)
        relative.append(f"thumbnails/{image_id}.jpg")
    position = sheet.columns.get_loc(PATH) + 1
    sheet = sheet.copy()
    sheet.insert(position, THUMBNAIL, pd.array(relative, dtype="string"))
    return sheet, written


def write_csv(sheet: pd.DataFrame, path: Path) -> Path:
    """The sheet as UTF-8 CSV in which no cell is a formula: a caption, account or memo starting with
    = + - @ tab or CR gets a leading single quote (OWASP; `visframe.utils.csv_safe`)."""
    to_csv_safe(sheet, path)
    return path


def write_xlsx(sheet: pd.DataFrame, path: Path, report_dir: Path, thumb_size: int | None) -> Path:
    """The sheet as XLSX: every value a literal (a caption starting with '=' is text, never a formula),
    a bold frozen header, and, when `thumb_size` is set, each row's thumbnail embedded in its row."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = "sample"
    columns = list(sheet.columns)
    image_column = 1 if thumb_size else 0
    header = (["image"] if image_column else []) + columns
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = ws.cell(row=2, column=1 + image_column)
    for r, values in enumerate(sheet.itertuples(index=False), start=2):
        for c, value in enumerate(values, start=1 + image_column):
            cell = ws.cell(row=r, column=c, value=_excel_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
        if image_column and THUMBNAIL in sheet and values[columns.index(THUMBNAIL)]:
            _embed_thumbnail(ws, report_dir / values[columns.index(THUMBNAIL)], r, thumb_size)
    widths = {CAPTION: 60, ALT_TEXT: 40, HASHTAGS: 30, MEMO: 40, PATH: 40, IMAGE_ID: 19}
    for c, name in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(c)].width = widths.get(name, 14)
    if image_column:
        ws.column_dimensions["A"].width = thumb_size / 7 + 2  # Excel width units are ~7 px
    workbook.save(path)
    return path


def _embed_thumbnail(ws, path: Path, row: int, size: int) -> None:
    with Image.open(path) as image:
        image = image.convert("RGB")
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    buffer.seek(0)
    height = image.height
    ws.add_image(XlImage(buffer), f"A{row}")
    ws.row_dimensions[row].height = height * 0.75 + 4  # row height is in points (0.75 pt per px)


def _excel_value(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        return (value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value).to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return _ILLEGAL_XML.sub("", value)
    return value
