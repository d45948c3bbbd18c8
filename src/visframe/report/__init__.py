"""Report: what a human reads about a run — the named cluster gallery, plots, montages, tables, a
sampling sheet for coding, and one self-contained HTML page. It reads files and holds no model: the
descriptions (names, terms, zero-shot labels, medoids, timeline) come from visframe.describe."""

from visframe.report.build import ReportResult, build_report
from visframe.report.config import resolve_report_config
from visframe.report.plots import plot_cluster_map

__all__ = ["ReportResult", "build_report", "plot_cluster_map", "resolve_report_config"]
