"""`summary/index.html`: the sweep summary on one self-contained page (no script, no external request).

Every figure is embedded as a data URI, every table is an HTML table whose numbers are
right-aligned with the same decimals as its PNG, each header carries the metric's description
(from `visframe.evaluate.registry`) as a tooltip and in a glossary at the end, and each table links
to the CSV beside the page. All text from the jobs (labels, model names, overrides) is escaped and
passed through `visible_text`, so a hostile override or file name cannot inject markup or flip the
page's text direction. The page is logged to the sweep's parent MLflow run with the CSVs.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from visframe.evaluate.registry import SWEEP_TABLE_METRICS
from visframe.tracking.summary_figures import NO_CLUSTERS, column_format, describe_column
from visframe.utils.csv_safe import visible_text

INDEX_FILE = "index.html"
JOB_COLUMNS = ["job", "label", "status", "note", "model"]

_CSS = """
body{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:72rem;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}th,td{padding:.25rem .6rem;border-bottom:1px solid #e3e3e3}
th{text-align:left;background:#f4f4f4;cursor:help;vertical-align:bottom}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}img{max-width:100%;height:auto;border:1px solid #eee;margin:.4rem 0}
.meta{color:#555}dt{font-weight:600;margin-top:.3rem}dd{margin-left:1.2rem;color:#444}
"""


def _text(value: object) -> str:
    return html.escape(visible_text(value))


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def html_table(frame: pd.DataFrame) -> str:
    """`frame` as an HTML table: numbers right-aligned with fixed decimals, headers described."""
    columns = list(frame.columns)
    numeric = [_is_number(frame[c]) for c in columns]
    formats = [column_format(frame[c]) for c in columns]
    head = "".join(
        f'<th class="{"n" if n else ""}" title="{_text(describe_column(str(c)))}">{_text(c)}</th>'
        for c, n in zip(columns, numeric, strict=True)
    )
    rows = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="{"n" if n else ""}">{_text(fmt(v))}</td>'
            for v, fmt, n in zip(row, formats, numeric, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_text(Path(path).name)}" src="data:image/png;base64,{data}">'


def _jobs_table(jobs: pd.DataFrame) -> pd.DataFrame:
    metrics = [m for m in SWEEP_TABLE_METRICS if m in jobs.columns]
    return jobs[[c for c in JOB_COLUMNS if c in jobs.columns] + metrics]


def write_index(
    out_dir: Path, jobs: pd.DataFrame, sections: list[tuple[str, str, pd.DataFrame | None, list[Path]]],
    threshold: float,
) -> Path:
    """Write `out_dir/index.html` from the summary's sections (title, CSV stem, table, figures)."""
    out_dir = Path(out_dir)
    failed = int((jobs["status"] != "ok").sum())
    empty = int((jobs.get("note", pd.Series(dtype=str)) == NO_CLUSTERS).sum())
    swept = [c.removeprefix("override:") for c in jobs.attrs.get("varying", [])]
    parts = [
        "<h1>Sweep summary</h1>",
        (
            f'<p class="meta">{len(jobs)} jobs ({failed} failed, {empty} with no clusters); swept: {_text(", ".join(swept) or "nothing varied")}; '
            f"confidence threshold {threshold:g}. Every table is also a CSV beside this page.</p>"
        ),
    ]
    shown: set[str] = set()
    for title, stem, table, pictures in sections:
        parts.append(f"<h2>{_text(title)}</h2>")
        parts += [_image(p) for p in pictures if Path(p).exists()]
        if table is not None and not table.empty:
            parts.append(html_table(table))
            shown.update(map(str, table.columns))
        if (out_dir / f"{stem}.csv").exists():
            parts.append(f'<p><a href="{html.escape(stem)}.csv">{html.escape(stem)}.csv</a></p>')
    jobs_table = _jobs_table(jobs)
    parts += ["<h2>Jobs</h2>", html_table(jobs_table), '<p><a href="jobs.csv">jobs.csv</a> (every metric and override)</p>']
    shown.update(map(str, jobs_table.columns))
    glossary = [(c, describe_column(c)) for c in sorted(shown) if describe_column(c)]
    parts.append("<h2>Columns</h2><dl>" + "".join(f"<dt>{_text(c)}</dt><dd>{_text(d)}</dd>" for c, d in glossary) + "</dl>")
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        f"<title>Sweep summary</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    path = out_dir / INDEX_FILE
    path.write_text(page, encoding="utf-8")
    return path
