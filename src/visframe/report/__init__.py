"""Report: what a human reads about a run — plots, montages, tables, zero-shot labels, a sampling
sheet for coding, and one self-contained HTML page."""

from visframe.report.build import ReportFiles, build_report
from visframe.report.config import ReportConfig, resolve_report_config
from visframe.report.plots import plot_cluster_map

__all__ = ["ReportConfig", "ReportFiles", "build_report", "plot_cluster_map", "resolve_report_config"]
