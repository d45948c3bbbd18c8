"""The report's plots: cluster map, cluster sizes, per-cluster confidence, zero-shot label heatmap,
posts over time (small multiples).

All plots share one colour per cluster (by size rank), noise is always grey, and every plot stays
readable with 50+ clusters: labels are pushed apart until none overlap, figures grow with the number
of clusters, and legends name only the largest clusters.
"""

from __future__ import annotations

import colorsys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the report renders files, never windows (also on machines without a display)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from visframe import contracts as C
from visframe.describe.timeline import FREQUENCY
from visframe.report.posts import NOISE, cluster_order

NOISE_COLOUR = "#b0b0b0"
DPI = 120


def cluster_colours(clusters: list[int]) -> dict[int, tuple[float, float, float]]:
    """Distinct colours for clusters in the given order: tab10/tab20 first, then golden-ratio hues."""
    base = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("tab20").colors)[1::2]
    base = [c for c in base if not np.allclose(c, plt.get_cmap("tab10").colors[7])]  # tab10 grey ≈ noise
    colours: dict[int, tuple[float, float, float]] = {}
    index = 0
    for cluster in clusters:
        if cluster == NOISE:
            colours[cluster] = matplotlib.colors.to_rgb(NOISE_COLOUR)
            continue
        if index < len(base):
            colours[cluster] = tuple(base[index])  # type: ignore[assignment]
        else:
            hue = (index * 0.618033988749895) % 1.0
            lightness = (0.35, 0.5, 0.65)[index % 3]
            colours[cluster] = colorsys.hls_to_rgb(hue, lightness, 0.75)
        index += 1
    return colours


def plot_cluster_map(
    assignments: pd.DataFrame,
    path: str | Path,
    title: str = "cluster map",
    legend_max_clusters: int = 20,
    names: dict[int, str] | None = None,
) -> Path:
    """The 2-D map (`x`, `y`) with clusters coloured, noise grey, ids at cluster centroids and a
    legend of the largest clusters with their names (from describe) and sizes."""
    path = Path(path)
    points = assignments.dropna(subset=["x", "y"])
    order = cluster_order(points)
    colours = cluster_colours(order)
    sizes = points[C.CLUSTER].value_counts()
    fig, ax = plt.subplots(figsize=(11, 8), dpi=DPI)
    marker = float(np.clip(15000.0 / max(len(points), 1), 1.0, 24.0))
    noise = points[points[C.CLUSTER] == NOISE]
    ax.scatter(
        noise["x"], noise["y"], s=marker * 0.6, c=NOISE_COLOUR, alpha=0.5, linewidths=0, rasterized=True
    )
    clustered = points[points[C.CLUSTER] != NOISE]
    ax.scatter(
        clustered["x"],
        clustered["y"],
        s=marker,
        c=[colours[k] for k in clustered[C.CLUSTER]],
        alpha=0.8,
        linewidths=0,
        rasterized=True,
    )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    clusters = [k for k in order if k != NOISE]
    if clusters:
        centroids = clustered.groupby(C.CLUSTER)[["x", "y"]].median()
        fontsize = 10 if len(clusters) <= 30 else 8 if len(clusters) <= 80 else 6
        texts = [
            ax.text(
                centroids.loc[k, "x"],
                centroids.loc[k, "y"],
                str(k),
                fontsize=fontsize,
                ha="center",
                va="center",
                weight="bold",
                color="black",
                path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")],
            )
            for k in clusters
        ]
        _repel_labels(fig, ax, texts, centroids.loc[clusters].to_numpy(dtype=float))
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=colours[k],
            markersize=7,
            label=_legend_label(k, sizes[k], names),
        )
        for k in clusters[:legend_max_clusters]
    ]
    if NOISE in sizes.index:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                color=NOISE_COLOUR,
                markersize=7,
                label=f"noise  (n={sizes[NOISE]})",
            )
        )
    hidden = len(clusters) - min(len(clusters), legend_max_clusters)
    legend_title = f"{len(clusters)} clusters" + (
        f"\n(largest {legend_max_clusters} listed)" if hidden else ""
    )
    ax.legend(
        handles=handles,
        title=legend_title,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title_fontsize=9,
        frameon=False,
    )
    return _save(fig, path)


def _repel_labels(fig, ax, texts, anchors: np.ndarray, iterations: int = 400, pad: float = 2.0) -> None:
    """Move overlapping labels apart (in pixels) until none overlap; draw a leader line to any label
    that moved off its centroid. Cheap O(n²) per step: fine for the few hundred clusters a map has."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    half = np.array([[b.width / 2 + pad, b.height / 2 + pad] for b in boxes])
    start = ax.transData.transform(anchors)
    centre = start.copy()
    frame = ax.get_window_extent(renderer)
    n = len(texts)
    tie = np.sign(np.arange(n)[:, None] - np.arange(n)[None, :]).astype(float)
    for _ in range(iterations):
        delta = centre[:, None, :] - centre[None, :, :]
        overlap = half[:, None, :] + half[None, :, :] - np.abs(delta)
        hit = (overlap[..., 0] > 0) & (overlap[..., 1] > 0)
        np.fill_diagonal(hit, False)
        if not hit.any():
            break
        direction = np.where(delta == 0, tie[..., None], np.sign(delta))
        along_x = overlap[..., 0] < overlap[..., 1]  # push along the axis that needs the smaller move
        push = np.zeros_like(delta)
        push[..., 0] = np.where(hit & along_x, direction[..., 0] * overlap[..., 0] / 2, 0)
        push[..., 1] = np.where(hit & ~along_x, direction[..., 1] * overlap[..., 1] / 2, 0)
        centre += push.sum(axis=1) * 0.6
        centre[:, 0] = np.clip(centre[:, 0], frame.x0 + half[:, 0], frame.x1 - half[:, 0])
        centre[:, 1] = np.clip(centre[:, 1], frame.y0 + half[:, 1], frame.y1 - half[:, 1])
    inverse = ax.transData.inverted()
    moved = np.hypot(*(centre - start).T) > 4
    positions = inverse.transform(centre)
    for text, (x, y), anchor, far in zip(texts, positions, anchors, moved):
        text.set_position((x, y))
        if far:
            ax.plot([anchor[0], x], [anchor[1], y], color="black", linewidth=0.5, alpha=0.6, zorder=2)


def _legend_label(cluster: int, size: int, names: dict[int, str] | None, width: int = 48) -> str:
    name = (names or {}).get(int(cluster))
    label = f"{cluster}  (n={size})"
    return f"{label}  {textwrap.shorten(name, width, placeholder='…')}" if name else label


def plot_cluster_sizes(posts: pd.DataFrame, path: Path) -> Path:
    """Horizontal bars, largest cluster on top, noise grey at the bottom, counts at the bar ends."""
    order = cluster_order(posts)
    sizes = posts[C.CLUSTER].value_counts()
    colours = cluster_colours(order)
    fig, ax = plt.subplots(figsize=(8, _height(len(order))), dpi=DPI)
    y = np.arange(len(order))[::-1]
    values = [int(sizes[k]) for k in order]
    ax.barh(y, values, color=[colours[k] for k in order])
    ax.set_yticks(y, [("noise" if k == NOISE else str(k)) for k in order], fontsize=_tick_font(len(order)))
    for yi, v in zip(y, values):
        ax.text(v, yi, f" {v}", va="center", fontsize=_tick_font(len(order)))
    ax.set_xlabel("posts")
    ax.set_ylabel(C.CLUSTER)
    ax.set_title("cluster sizes")
    ax.set_xlim(0, max(values) * 1.12)
    ax.set_ylim(-0.6, len(order) - 0.4)
    return _save(fig, path)


def plot_confidence(posts: pd.DataFrame, path: Path) -> Path:
    """Membership probability per cluster (the study's Appendix 2): one box per cluster, largest on
    top, labelled with its size. Noise is left out: HDBSCAN gives every noise point probability 0."""
    order = [k for k in cluster_order(posts) if k != NOISE]
    colours = cluster_colours(cluster_order(posts))
    fig, ax = plt.subplots(figsize=(8, _height(len(order))), dpi=DPI)
    if not order:
        ax.text(
            0.5, 0.5, "no clusters (every point is noise)", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_axis_off()
        return _save(fig, path)
    data = [posts.loc[posts[C.CLUSTER] == k, C.PROBABILITY].to_numpy(dtype=float) for k in order][::-1]
    sizes = [len(d) for d in data]
    positions = np.arange(len(order))
    parts = ax.boxplot(
        data,
        positions=positions,
        orientation="horizontal",
        widths=0.6,
        patch_artist=True,
        showmeans=True,
        flierprops={"markersize": 2, "alpha": 0.4},
        meanprops={"marker": "D", "markersize": 3, "markerfacecolor": "black", "markeredgecolor": "black"},
        medianprops={"color": "black"},
    )
    for patch, k in zip(parts["boxes"], order[::-1]):
        patch.set_facecolor(colours[k])
        patch.set_alpha(0.75)
    labels = [f"{k} (n={n})" for k, n in zip(order[::-1], sizes)]
    ax.set_yticks(positions, labels, fontsize=_tick_font(len(order)))
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("membership probability (box: quartiles, line: median, ◆: mean)")
    ax.set_title("confidence per cluster")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def plot_zero_shot(by_cluster: pd.DataFrame, path: Path) -> Path:
    """Heatmap: rows clusters (largest first), columns prompts, cell = share of the cluster's posts
    whose top label is that prompt."""
    table = by_cluster.pivot(index=C.CLUSTER, columns="label", values="share")
    clusters = list(dict.fromkeys(by_cluster[C.CLUSTER]))
    labels = list(dict.fromkeys(by_cluster["label"]))
    table = table.loc[clusters, labels]
    fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(labels) + 3), _height(len(clusters)) + 1.2), dpi=DPI)
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(
        range(len(labels)),
        ["\n".join(textwrap.wrap(t, 16)) for t in labels],
        fontsize=8,
        rotation=35,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_yticks(
        range(len(clusters)),
        ["noise" if k == NOISE else str(k) for k in clusters],
        fontsize=_tick_font(len(clusters)),
    )
    if len(clusters) <= 40:
        for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
            if value >= 0.005:
                ax.text(
                    j,
                    i,
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value > 0.6 else "black",
                )
    ax.set_ylabel(C.CLUSTER)
    ax.set_title("zero-shot top label, share of each cluster's posts")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    return _save(fig, path)


def plot_timeline(timeline: pd.DataFrame, names: dict[int, str], path: Path, max_clusters: int = 24) -> Path:
    """Small multiples of posts per period, one panel per cluster (largest first, noise last), all
    panels on one time axis and each on its own count scale (a small cluster's peak stays visible).

    Ticks are fixed positions, not date locators, and each panel is one filled step artist, not a
    bar per period: 25 panels of 17 weeks cost about 2 s of CPU (date locators and bars: ~15 s)."""
    sizes = timeline.groupby(C.CLUSTER)[C.N_POSTS].sum()
    order = sorted((k for k in sizes.index if k != NOISE), key=lambda k: (-int(sizes[k]), k))[:max_clusters]
    if NOISE in sizes.index:
        order.append(NOISE)
    colours = cluster_colours(order)
    columns = 3 if len(order) > 4 else max(1, len(order))
    rows = max(1, -(-len(order) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 1.9 * rows + 0.8), dpi=DPI, squeeze=False)
    frequency = str(timeline[FREQUENCY].iloc[0]) if FREQUENCY in timeline and len(timeline) else "period"
    periods = pd.DatetimeIndex(sorted(timeline[C.PERIOD].unique())).tz_convert(None)
    position = {p: i for i, p in enumerate(periods)}
    step = max(1, -(-len(periods) // 5))
    ticks = list(range(0, len(periods), step))
    labels = [periods[i].strftime("%d %b" if frequency == "week" else "%b %Y") for i in ticks]
    for ax, cluster in zip(axes.ravel(), order):
        data = timeline[timeline[C.CLUSTER] == cluster]
        counts = np.zeros(len(periods))
        counts[[position[p] for p in pd.DatetimeIndex(data[C.PERIOD]).tz_convert(None)]] = data[C.N_POSTS]
        # one filled step artist per panel, not one rectangle per bar: a panel of 50 weeks stays cheap
        ax.stairs(counts, np.arange(len(periods) + 1) - 0.5, fill=True, color=colours[cluster])
        label = names.get(int(cluster)) or ("noise" if cluster == NOISE else f"cluster {cluster}")
        title = textwrap.shorten(label, 52, placeholder="…")
        ax.set_title(f"{cluster}: {title}" if cluster != NOISE else title, fontsize=8, loc="left")
        ax.set_xlim(-0.6, len(periods) - 0.4)
        ax.set_xticks(ticks, labels, fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in axes.ravel()[len(order) :]:
        ax.set_axis_off()
    fig.suptitle(f"posts per {frequency} and cluster", fontsize=11)
    fig.subplots_adjust(hspace=0.7, wspace=0.25)
    return _save(fig, path)


def _height(n_rows: int) -> float:
    return float(np.clip(0.24 * n_rows + 1.6, 3.0, 60.0))


def _tick_font(n_rows: int) -> float:
    return 9 if n_rows <= 40 else 7 if n_rows <= 120 else 5


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
