"""The text stage: what every unique image says (OCR), read once per image and cached.

    result = run(TextInputs(image_ids, paths), cfg.text, context)
    result.table     # texts.parquet's rows (contracts.TEXTS), or None with `text=none`
    result.skipped   # why there is no table

`settings` is the `text` config section: a backend's `_target_` (conf/text/ocr.yaml: RapidOCR with
the models its wheel bundles; tesseract.yaml) and its `workers` (processes reading here), or
`text=none`, which turns the stage off and says so. `inputs.reader` reads elsewhere instead: with
scale=sample_fit, `visframe.text.pool.dask_reader(cfg.scale)` reads on the Dask cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from visframe.stages import StageContext
from visframe.text.extract import TextResult, extract_texts, text_enabled
from visframe.text.pool import Reader

log = logging.getLogger(__name__)

SKIPPED_BY_CONFIG = (
    "text=none: the text in the images was not read (no texts.parquet; cluster terms come from "
    "captions and alt text only); run with text=ocr to read it"
)


@dataclass(frozen=True)
class TextInputs:
    image_ids: Sequence[str]
    paths: Sequence[str]  # one readable file per image id (the first path of each id is read)
    reader: Reader | None = None  # where the images are read (None: this machine's processes)


def run(inputs: TextInputs, settings: Any, context: StageContext) -> TextResult:
    """Read the text of each unique image (cached per image and backend); a skipped result when off."""
    if not text_enabled(settings):
        log.info("%s", SKIPPED_BY_CONFIG)
        return TextResult(None, "", 0, 0, 0, 0.0, skipped=SKIPPED_BY_CONFIG)
    result = extract_texts(
        list(inputs.image_ids),
        list(inputs.paths),
        settings,
        context.cache_dir,
        context.show_progress,
        reader=inputs.reader,
    )
    log.info(
        "Read the text of %d images (%d from cache, %d failed)",
        len(result.table),
        result.texts_from_cache,
        result.texts_failed,
    )
    return result


__all__ = ["SKIPPED_BY_CONFIG", "TextInputs", "TextResult", "run"]
