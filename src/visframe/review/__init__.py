"""The browser coding app (`visframe-review`): code a finished run's images, check agreement, export.

Reads a run directory through visframe.run_dir.RunDir (manifest, assignments and, when
present, the report's sampling sheet, clusters.parquet for names and texts.parquet for search) and
keeps the codes in a SQLAlchemy store (SQLite WAL by default, PostgreSQL by URL).
"""

from visframe.review.app import create_app
from visframe.review.run_data import ReviewRun, load_run
from visframe.review.store import ReviewStore

__all__ = ["ReviewRun", "ReviewStore", "create_app", "load_run"]
