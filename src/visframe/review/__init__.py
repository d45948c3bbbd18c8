"""The browser coding app (`visframe-review`): code a finished run's images, check agreement, export.

Reads a run directory (docs/ARCHITECTURE.md: manifest.parquet, assignments.parquet and, when the
report stage made them, report/sampling_sheet.csv and report/cluster_metadata.parquet) and keeps the
codes in a SQLAlchemy store (SQLite WAL by default, PostgreSQL by URL).
"""

from visframe.review.app import create_app
from visframe.review.run_data import ReviewRun, load_run
from visframe.review.store import ReviewStore

__all__ = ["ReviewRun", "ReviewStore", "create_app", "load_run"]
