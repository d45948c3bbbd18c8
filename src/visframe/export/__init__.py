"""Carry a run into the tools researchers already use (`visframe-export RUN --to ...`).

- `embedding-atlas`: one Parquet that Apple's Embedding Atlas opens as it is (`embedding_atlas.py`).
- `fiftyone`: a FiftyOne dataset directory (`fiftyone_export.py`).
CSV cells are written through `visframe.utils.csv_safe` (formula-like cells neutralised).
"""

# Where `visframe-export` writes inside a run directory by default.
from visframe.contracts import EXPORT_DIR  # noqa: F401 - re-exported
