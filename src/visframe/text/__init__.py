"""The text stage: what the images say (OCR), one row per unique image in texts.parquet.

    from visframe.text import extract_texts, text_enabled
    if text_enabled(cfg.text):
        result = extract_texts(image_ids, paths, cfg.text, cfg.paths.cache_dir, cfg.show_progress)

Backends (conf/text/): `ocr` (RapidOCR, default models bundled in its wheel, offline), `tesseract`
(pytesseract over the Debian binary), `none` (the stage is off). Each follows `TextBackend`:
`read(PIL.Image) -> list[TextLine(text, box, confidence)]`.
"""

from visframe.text.base import TextBackend, TextLine, reading_order, summarise
from visframe.text.extract import TextResult, build_backend, extract_texts, text_config, text_enabled

__all__ = [
    "TextBackend",
    "TextLine",
    "TextResult",
    "build_backend",
    "extract_texts",
    "reading_order",
    "summarise",
    "text_config",
    "text_enabled",
]
