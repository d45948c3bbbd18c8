"""What the coders decided, as examples a model can learn from: the coded set and each code's labels.

The input is the review app's codes export (contracts.CODES: one row per applied code; an image a
coder saved with no code is one row with an empty `code`). An image is *coded* when some coder saved
it; for each code it is then a positive (the coders who saved it applied the code, or at least half
of them did when several disagree) or a negative (they looked and did not apply it). Images nobody
saved are unknown, never negatives: they are what the suggestions are for.

Descriptions come from the export's `code_description` and, for codes nobody has applied yet (which
the export cannot list), from a codebook mapping code → description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.errors import InputError

NEEDED = (C.IMAGE_ID, C.CODER, C.CODE)


@dataclass(frozen=True)
class CodedSet:
    """The images some coder saved, and per code which of them are positives."""

    image_ids: tuple[str, ...]
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # code → bool array aligned with image_ids
    descriptions: dict[str, str] = field(default_factory=dict)  # code → its description ('' when none)

    @property
    def codes(self) -> list[str]:
        """Every code of the codebook and the export, sorted."""
        return sorted(set(self.labels) | set(self.descriptions))

    def positives(self, code: str) -> int:
        found = self.labels.get(code)
        return int(found.sum()) if found is not None else 0

    def negatives(self, code: str) -> int:
        found = self.labels.get(code)
        return int((~found).sum()) if found is not None else len(self.image_ids)

    def label(self, code: str) -> np.ndarray:
        """The code's labels over the coded images (all False for a code nobody applied yet)."""
        found = self.labels.get(code)
        return found if found is not None else np.zeros(len(self.image_ids), dtype=bool)


def read_codes(path: str | Path) -> pd.DataFrame:
    """A codes export (CSV or Parquet), every id read as text (a hex image_id must not become a number)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path} not found", fix="export the codes from the review app (Exports → codes.csv)"
        )
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as error:
        raise InputError(
            f"{path} could not be read as a codes table: {error}",
            fix="give the codes.csv or codes.parquet the review app exports",
        ) from error
    missing = [c for c in NEEDED if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path} lacks column(s) {missing} of the codes export (has {list(frame.columns)})",
            fix="give the codes.csv the review app exports (contracts.CODES names its columns)",
        )
    return frame


def read_codebook(path: str | Path) -> dict[str, str]:
    """A codebook file: CSV with columns `code` and `code_description` (the export's names)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if C.CODE not in frame.columns:
        raise InputError(
            f"{path} has no {C.CODE!r} column",
            fix=f"a CSV with columns {C.CODE},{C.CODE_DESCRIPTION}: one row per code",
        )
    descriptions = (
        frame[C.CODE_DESCRIPTION] if C.CODE_DESCRIPTION in frame.columns else pd.Series("", index=frame.index)
    )
    return {
        str(c).strip(): str(d or "").strip() for c, d in zip(frame[C.CODE], descriptions) if str(c).strip()
    }


def _text(value) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA
        else str(value).strip()
    )


def coded_set(codes: pd.DataFrame, codebook: Mapping[str, str] | None = None) -> CodedSet:
    """The coded images and each code's labels from a codes export (and an optional codebook)."""
    missing = [c for c in NEEDED if c not in codes.columns]
    if missing:
        raise InputError(
            f"the codes table lacks column(s) {missing}", fix="pass the review app's codes export"
        )
    rows = pd.DataFrame(
        {
            C.IMAGE_ID: [_text(v) for v in codes[C.IMAGE_ID]],
            C.CODER: [_text(v) for v in codes[C.CODER]],
            C.CODE: [_text(v) for v in codes[C.CODE]],
        }
    )
    rows = rows[rows[C.IMAGE_ID] != ""]
    image_ids = tuple(sorted(rows[C.IMAGE_ID].unique()))
    position = {image_id: i for i, image_id in enumerate(image_ids)}
    # Coders who saved each image, and per code the coders who applied it there.
    savers = rows.drop_duplicates([C.IMAGE_ID, C.CODER]).groupby(C.IMAGE_ID)[C.CODER].nunique()
    applied = rows[rows[C.CODE] != ""].drop_duplicates().groupby([C.CODE, C.IMAGE_ID])[C.CODER].nunique()
    labels: dict[str, np.ndarray] = {}
    for (code, image_id), n_applied in applied.items():
        array = labels.setdefault(code, np.zeros(len(image_ids), dtype=bool))
        array[position[image_id]] = n_applied * 2 >= savers[image_id]  # at least half of its coders
    descriptions: dict[str, str] = {code: "" for code in labels}
    if C.CODE_DESCRIPTION in codes.columns:
        for code, description in zip(rows[C.CODE], codes.loc[rows.index, C.CODE_DESCRIPTION]):
            if code and _text(description) and not descriptions.get(code):
                descriptions[code] = _text(description)
    for code, description in (codebook or {}).items():
        if str(code).strip():
            descriptions[str(code).strip()] = str(description or "").strip() or descriptions.get(
                str(code).strip(), ""
            )
    return CodedSet(image_ids, labels, descriptions)


__all__ = ["CodedSet", "coded_set", "read_codebook", "read_codes"]
