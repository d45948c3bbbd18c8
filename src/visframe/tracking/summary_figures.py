"""The sweep summary's pictures: legible tables, the confidence plot per job, parameter curves.

Tables are drawn cell by cell from measured text extents (not `ax.table`, which sizes columns
evenly and printed "clusterer.min_cluster_size" over "share_probability_ge_0.85"): each column is
as wide as its widest cell or header line, headers are wrapped at underscores (a legend under the
table gives each column's full name and, from `visframe.evaluate.registry`, what it measures),
numbers are right-aligned with a fixed number of decimals per column, text is left-aligned.

The confidence plot answers "which model / setting is confident, and how confident": one box per
job (5th-95th percentile whiskers, quartile box, median line, mean marker) of the membership
probabilities of its clustered points, boxes grouped by model (colour, gap between groups) and
ordered by the swept parameter, the share >= `evaluation.confidence_threshold` printed above each
box and the threshold drawn across. A second figure draws that share and the noise share over the
swept parameter, one line per model. Every number comes from confidence_by_job.csv. A job that found
no cluster keeps its place in both: a shaded column labelled "no clusters" instead of a box, a red ×
on the share panel (its noise share, 1, is drawn as any other), so a setting that clustered nothing
is seen, not silently missing.
"""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from visframe.evaluate.registry import describe_metrics

DPI = 130
FONT_SIZE = 8
PAD_X, PAD_Y = 10, 5  # pixels around each cell's text
HEADER_WIDTH = 12  # characters per header line before it wraps
MAX_HEADER_LINES = 3
MAX_CELL_CHARS = 48
PARAMETER_SERIES = ("n_clusters", "silhouette", "noise_share", "dbcv")
MAX_LINES_PER_PARAMETER = 4  # another swept parameter with more values gives dots, not lines
MODEL_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")

# The `note` of a finished job whose every image is noise (its probability metrics are undefined).
NO_CLUSTERS = "no clusters"
# Columns the summary derives (not in the metric registry).
DERIVED = {
    "model": "the embedding model (model.name)",
    "noise_share": "share of all points labelled noise (noise_fraction)",
    "mean_probability": "mean membership probability of all clustered points",
    "share_ge_threshold": "share of clustered points with probability >= the threshold",
    "n_points": "points (clean images) the job clustered or left as noise",
    "n_clustered": "points in a cluster (noise excluded)",
    "median": "median membership probability of the clustered points",
    "mean": "mean membership probability of the clustered points",
    "q25": "25th percentile of the clustered points' membership probability (q05, q75, q95 alike)",
    "q75": "75th percentile of the clustered points' membership probability",
    "min_cluster_size": "HDBSCAN's smallest cluster size (clusterer.min_cluster_size)",
    "label": "the job's swept values",
    "job": "the job's number in the sweep (its directory)",
    "status": "ok, or failed (no metrics.json)",
    "note": "'no clusters' when every image of the job is noise: its probability metrics are undefined",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_CONFIG_KEY = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+$")


def config_leaf(column: str) -> str:
    """`clusterer.min_cluster_size` → `min_cluster_size`; other names (`share_…_ge_0.85`) unchanged."""
    return column.rsplit(".", 1)[-1] if _CONFIG_KEY.match(column) else column


def describe_column(column: str) -> str:
    """What a summary column holds: the registry's description, the summary's own, or ''."""
    name = config_leaf(column)
    if name.startswith("share_probability_ge_"):
        return f"share of clustered points with membership probability >= {name.rsplit('_', 1)[-1]}"
    if name != column:
        return "the swept parameter"
    return describe_metrics().get(name) or DERIVED.get(name) or ""


# ------------------------------------------------------------------------------------ tables


def header_lines(column: str) -> list[str]:
    """A column's header as at most 3 short lines, wrapped at underscores and dots."""
    words = config_leaf(column).replace("_", " ")
    lines = textwrap.wrap(words, HEADER_WIDTH, break_long_words=True) or [column]
    if len(lines) > MAX_HEADER_LINES:
        lines = lines[: MAX_HEADER_LINES - 1] + [lines[MAX_HEADER_LINES - 1][: HEADER_WIDTH - 1] + "…"]
    return lines


def column_format(series: pd.Series):
    """A formatter giving every number of the column the same decimals: 0 for counts and integer
    settings, 1 from 1000 on, else 3."""
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else _clip(str(v))
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    count = pd.api.types.is_integer_dtype(series) or str(series.name).startswith("n_")
    if finite.size == 0 or count or (np.all(finite == np.round(finite)) and np.abs(finite).max() >= 2):
        decimals = 0  # counts and integer settings; a probability column of 1.0s keeps its decimals
    else:
        decimals = 1 if np.abs(finite).max() >= 1000 else 3
    return lambda v: "–" if v is None or not np.isfinite(float(v)) else f"{float(v):,.{decimals}f}"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def table_png(frame: pd.DataFrame, path: Path, title: str) -> Path:
    """`frame` drawn as a table in which no two texts overlap, with a legend of its columns."""
    from matplotlib.font_manager import FontProperties

    plt = _plt()
    fig = plt.figure(dpi=DPI)
    renderer = fig.canvas.get_renderer()
    font, bold = FontProperties(size=FONT_SIZE), FontProperties(size=FONT_SIZE, weight="bold")
    title_font = FontProperties(size=FONT_SIZE + 3)

    def extent(text: str, prop) -> tuple[float, float]:
        width, height, _ = renderer.get_text_width_height_descent(text or " ", prop, ismath=False)
        return width, height

    columns = list(frame.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in columns]
    formats = [column_format(frame[c]) for c in columns]
    cells = [[fmt(v) for fmt, v in zip(formats, row, strict=True)] for row in frame.itertuples(index=False)]
    headers = [header_lines(str(c)) for c in columns]
    line_height = extent("Hg", font)[1] * 1.3
    widths = [
        max([extent(line, bold)[0] for line in header] + [extent(row[i], font)[0] for row in cells]) + 2 * PAD_X
        for i, header in enumerate(headers)
    ]
    table_width = sum(widths)
    header_height = max(len(h) for h in headers) * line_height + 2 * PAD_Y
    row_height = line_height + 2 * PAD_Y
    legend = [(" ".join(h), str(c), describe_column(str(c))) for h, c in zip(headers, columns, strict=True)]
    legend_lines = _legend_lines(legend, max(table_width, 560), extent("x" * 20, font)[0] / 20)
    title_height = extent(title, title_font)[1] + 14
    width = max(table_width, extent(title, title_font)[0], max((extent(t, font)[0] for t in legend_lines), default=0)) + 24
    height = title_height + header_height + row_height * max(len(cells), 1) + line_height * (len(legend_lines) + 1) + 24
    fig.set_size_inches(width / DPI, height / DPI)

    def put(x: float, y: float, text: str, prop, ha: str = "left", va: str = "top") -> None:
        fig.text(x / width, 1 - y / height, text, fontproperties=prop, ha=ha, va=va, parse_math=False)

    def rule(y: float, weight: float = 0.8) -> None:
        fig.add_artist(plt.Line2D([12 / width, (12 + table_width) / width], [1 - y / height] * 2,
                                  color="#333333", linewidth=weight))  # fmt: skip

    put(12, 8, title, title_font)
    top = title_height + 4
    rule(top, 1.2)
    x = 12.0
    for i, header in enumerate(headers):  # headers sit on the rule below them, aligned like their numbers
        for k, line in enumerate(header):
            y = top + header_height - PAD_Y - (len(header) - k) * line_height
            put(x + widths[i] - PAD_X if numeric[i] else x + PAD_X, y, line, bold, ha="right" if numeric[i] else "left")
        x += widths[i]
    y = top + header_height
    rule(y)
    for r, row in enumerate(cells):
        if r % 2:
            fig.add_artist(plt.Rectangle((12 / width, 1 - (y + row_height) / height), table_width / width,
                                         row_height / height, color="#f2f2f2", zorder=-1))  # fmt: skip
        x = 12.0
        for i, text in enumerate(row):
            put(x + widths[i] - PAD_X if numeric[i] else x + PAD_X, y + PAD_Y, text, font, ha="right" if numeric[i] else "left")
            x += widths[i]
        y += row_height
    rule(y, 1.2)
    for k, line in enumerate(legend_lines):
        put(12, y + line_height * (k + 0.6), line, font)
    fig.savefig(path, dpi=DPI, facecolor="white")
    plt.close(fig)
    return Path(path)


def _legend_lines(legend: list[tuple[str, str, str]], width_px: float, char_px: float) -> list[str]:
    """'header: full.column.name — description', wrapped to the table's width."""
    chars = max(60, int(width_px / char_px))
    lines = ["Columns:"]
    for header, column, description in legend:
        name = column if header.replace(" ", "_") == column else f"{header} = {column}"
        text = f"{name}: {description}" if description else name
        if text == header:
            continue
        lines += textwrap.wrap(text, chars, initial_indent="  ", subsequent_indent="      ")
    return lines if len(lines) > 1 else []


# ------------------------------------------------------------------------------------ curves


def parameter_plot(table: pd.DataFrame, parameter: str, path: Path) -> Path:
    """n_clusters, silhouette, noise share (and DBCV) over `parameter`, one line per model/setting.

    Lines join the jobs of one model and one value of each other swept parameter that has at most
    `MAX_LINES_PER_PARAMETER` values; with more (an Optuna study), each model's jobs are dots only,
    since joining jobs whose other settings differ would draw a trend that is not there.
    """
    from matplotlib.ticker import MaxNLocator

    plt = _plt()
    series = [c for c in PARAMETER_SERIES if c in table.columns and table[c].notna().any()]
    fig, axes = plt.subplots(1, max(1, len(series)), figsize=(3.4 * max(1, len(series)), 3.2), squeeze=False)
    others = [c for c in table.columns if c not in PARAMETER_SERIES and c not in ("model", parameter)]
    keys = ["model"] * ("model" in table.columns) + [c for c in others if table[c].nunique() <= MAX_LINES_PER_PARAMETER]
    dots_only = len(keys) < len(others) + ("model" in table.columns)
    groups = table.groupby(keys, dropna=False, sort=False) if keys else [((), table)]
    for number, (name, group) in enumerate(groups):
        values = name if isinstance(name, tuple) else (name,)
        label = _legend_label(" ".join(str(v) if k == "model" else f"{config_leaf(k)}={_format_value(v)}"
                                       for k, v in zip(keys, values, strict=True)) or "all jobs")  # fmt: skip
        group = group.sort_values(parameter)
        for ax, column in zip(axes[0], series, strict=True):
            ax.plot(group[parameter], group[column], marker="o", linestyle="none" if dots_only else "-",
                    label=label, color=_colour(number))  # fmt: skip
    integer = pd.api.types.is_integer_dtype(table[parameter]) or bool((table[parameter] % 1 == 0).all())
    for ax, column in zip(axes[0], series, strict=True):
        ax.set_xlabel(parameter)
        ax.set_title(column, fontsize=10)
        ax.grid(alpha=0.3)
        if integer:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=max(1, min(4, len(labels))), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.05 * math.ceil(len(labels) / 4), 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Path(path)


def _legend_label(value) -> str:
    """A legend entry for a model / setting; never empty (matplotlib drops empty labels)."""
    text = _clip(str(value)).strip()
    return text if text and text.lower() != "nan" else "(no model name)"


def _colour(number: int) -> str:
    return MODEL_COLOURS[number % len(MODEL_COLOURS)]


def agreement_png(ari: pd.DataFrame, nmi: pd.DataFrame, path: Path) -> Path:
    plt = _plt()
    n = len(ari)
    size = max(4.0, 0.55 * n + 3.0)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size, size))
    for ax, matrix, name in zip(axes, (ari, nmi), ("ARI", "NMI"), strict=True):
        image = ax.imshow(matrix.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(n), [_clip(str(c)) for c in matrix.columns], rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(n), [_clip(str(c)) for c in matrix.index], fontsize=7)
        for i in range(n):
            for j in range(n):
                value = matrix.iat[i, j]
                if np.isfinite(value):
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if value < 0.6 else "black")  # fmt: skip
        ax.set_title(f"{name} between clusterings (same images)", fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Path(path)


# ------------------------------------------------------------------------------------ confidence


def _tick_label(row: pd.Series, parameters: list[str]) -> str:
    if not parameters:
        return _legend_label(row["model"])
    return "\n".join(_format_value(row[p]) for p in parameters)  # one line per parameter, as in the x label


def _format_value(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _clip(str(value))


NO_CLUSTERS_COLOUR = "#b3261e"


def confidence_figures(by_job: pd.DataFrame, parameters: list[str], threshold: float, out_dir: Path) -> list[Path]:
    """confidence_by_job.png (a box per job) and confidence_lines.png; [] when no job finished."""
    no_clusters = by_job["note"].eq(NO_CLUSTERS) if "note" in by_job else pd.Series(False, index=by_job.index)
    data = by_job[(by_job["n_clustered"].fillna(0) > 0) | no_clusters].reset_index(drop=True)
    if data.empty:
        return []
    return [
        _confidence_boxes(data, parameters, threshold, Path(out_dir) / "confidence_by_job.png"),
        _confidence_lines(data, parameters, threshold, Path(out_dir) / "confidence_lines.png"),
    ]


def _empty(data: pd.DataFrame) -> np.ndarray:
    """Which rows are jobs that found no cluster (nothing to draw a box of)."""
    return (data["n_clustered"].fillna(0) <= 0).to_numpy()


def _confidence_boxes(data: pd.DataFrame, parameters: list[str], threshold: float, path: Path) -> Path:
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory

    plt = _plt()
    models = list(dict.fromkeys(data["model"]))
    positions, position, previous = [], 0.0, None
    for model in data["model"]:
        position += 1.6 if previous is not None and model != previous else 1.0
        positions.append(position)
        previous = model
    lines = max(1, len(parameters))
    labels = [_tick_label(r, parameters) for _, r in data.iterrows()]
    empty = _empty(data)
    # Wide enough per box for its longest tick line (~0.08 in per character at 10 pt): never rotated.
    per_box = max(0.62, 0.085 * max(len(line) for label in labels for line in label.split("\n")))
    fig, ax = plt.subplots(figsize=(max(7.5, per_box * positions[-1] + 3.4), 4.4 + 0.18 * lines))
    drawn = [i for i in range(len(data)) if not empty[i]]
    stats = [
        {"whislo": r["q05"], "q1": r["q25"], "med": r["median"], "q3": r["q75"], "whishi": r["q95"], "mean": r["mean"],
         "fliers": [], "label": labels[i]}
        for i, (_, r) in enumerate(data.iterrows()) if not empty[i]
    ]  # fmt: skip
    colour_of = {model: _colour(i) for i, model in enumerate(models)}
    if stats:
        boxes = ax.bxp(stats, positions=[positions[i] for i in drawn], widths=0.6, showmeans=True, showfliers=False,
                       patch_artist=True, medianprops={"color": "black"},
                       meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black", "markersize": 4})  # fmt: skip
        for patch, i in zip(boxes["boxes"], drawn, strict=True):
            patch.set_facecolor(colour_of[data["model"].iloc[i]])
            patch.set_alpha(0.75)
    for i in np.flatnonzero(empty):  # the job is there, labelled, where its box would be
        ax.axvspan(positions[i] - 0.3, positions[i] + 0.3, color=NO_CLUSTERS_COLOUR, alpha=0.08, linewidth=0)
        ax.text(positions[i], 0.5, NO_CLUSTERS, rotation=90, ha="center", va="center", fontsize=8,
                color=NO_CLUSTERS_COLOUR)
    ax.set_xticks(positions, labels)
    above = blended_transform_factory(ax.transData, ax.transAxes)
    for x, share, none in zip(positions, data["share_ge_threshold"], empty, strict=True):
        ax.text(x, 1.015, "–" if none else f"{share:.0%}", transform=above, ha="center", va="bottom", fontsize=7,
                color=NO_CLUSTERS_COLOUR if none else "black")
    ax.axhline(threshold, color="#555555", linestyle="--", linewidth=1)
    ax.set_ylim(0, 1.03)  # a box at probability 1 stays visible above the frame's edge
    ax.set_xlim(positions[0] - 0.8, positions[-1] + 0.8)
    ax.set_ylabel("membership probability\n(clustered points)")
    names = [config_leaf(p) for p in parameters]
    ax.set_xlabel(names[0] if len(names) == 1 else f"{' / '.join(names)} (tick lines top to bottom)" if names else "model")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"Membership probability of the clustered points, per job\n"
                 f"box 25-75 %, whiskers 5-95 %, ◆ mean; above each box: share ≥ {threshold:g} (dashed line)",
                 fontsize=9, pad=16)  # fmt: skip
    handles = [Patch(facecolor=colour_of[m], alpha=0.75, label=_legend_label(m)) for m in models]
    if empty.any():
        handles.append(Patch(facecolor=NO_CLUSTERS_COLOUR, alpha=0.15, label=f"{NO_CLUSTERS} (all noise)"))
    ax.legend(handles=handles, title="model", fontsize=8, title_fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _confidence_lines(data: pd.DataFrame, parameters: list[str], threshold: float, path: Path) -> Path:
    plt = _plt()
    x_name = parameters[0] if parameters else None
    numeric = x_name is not None and pd.api.types.is_numeric_dtype(data[x_name])
    categories = list(dict.fromkeys(data[x_name] if x_name else data["model"]).keys())
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    panels = (("share_ge_threshold", f"share of clustered points with probability ≥ {threshold:g}"),
              ("noise_share", "noise share (all points)"))  # fmt: skip
    for number, (model, group) in enumerate(data.groupby("model", sort=False)):
        group = group.sort_values(x_name) if numeric else group
        if numeric:
            xs = group[x_name].to_numpy(dtype=float)
        else:
            xs = [categories.index(v) for v in (group[x_name] if x_name else group["model"])]
        for ax, (column, _) in zip(axes, panels, strict=True):
            ax.plot(xs, group[column], marker="o", color=_colour(number), label=_legend_label(model))
        empty = _empty(group)
        if empty.any():  # no share to draw: a red × on the axis, so the setting is not missing
            where = np.asarray(xs, dtype=float)[empty]
            axes[0].plot(where, np.zeros(len(where)), linestyle="none", marker="x", markersize=8,
                         color=NO_CLUSTERS_COLOUR, label=f"{NO_CLUSTERS} (all noise)")
            for x in where:
                axes[0].annotate(NO_CLUSTERS, (x, 0), textcoords="offset points", xytext=(0, 8), ha="center",
                                 fontsize=7, color=NO_CLUSTERS_COLOUR)
    for ax, (_, title) in zip(axes, panels, strict=True):
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(config_leaf(x_name) if x_name else "model")
        ax.grid(alpha=0.3)
        if not numeric:
            ax.set_xticks(range(len(categories)), [_clip(str(c)) for c in categories],
                          rotation=30 if len(categories) > 4 else 0, ha="right" if len(categories) > 4 else "center")  # fmt: skip
            ax.set_xlim(-0.5, len(categories) - 0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))  # one "no clusters" entry, however many models had one
    fig.legend(list(unique.values()), list(unique), title="model", loc="center right", fontsize=8, title_fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 0.83, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
