"""Carry a run into the tools researchers already use (`visframe-export RUN --to ...`).

- `embedding-atlas`: one Parquet that Apple's Embedding Atlas opens as it is, with an app state that
  colours the map by cluster and a labels table that names the clusters on it (`embedding_atlas.py`).
- `fiftyone`: `samples.json` (what `fo.Dataset.from_json` reads: every column a real sample field)
  and `load_fiftyone.py`, which also puts the run's map in FiftyOne's Embeddings panel (`fiftyone_export.py`).
CSV cells are written through `visframe.utils.csv_safe` (formula-like cells neutralised).
"""

# Where `visframe-export` writes inside a run directory by default.
from visframe.contracts import EXPORT_DIR  # noqa: F401 - re-exported
