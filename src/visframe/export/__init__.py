"""Carry a run into the tools researchers already use (`visframe-export RUN --to ...`).

- `embedding-atlas`: one Parquet that Apple's Embedding Atlas opens as it is (`embedding_atlas.py`).
- `fiftyone`: a FiftyOne dataset directory (`fiftyone_export.py`).
`safe_csv` holds the CSV writer every export shares (formula-like cells neutralised).
"""

# Where `visframe-export` writes inside a run directory by default.
EXPORT_DIR = "export"  # TODO(contracts): move to visframe.contracts beside REPORT_DIR
