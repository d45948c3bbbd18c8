"""The metric registry: every metric a job writes, with its space, direction and meaning.

One list, read by the CLI (the sweep objective, `optimized_metric`), `visframe-tune`, the tracking
summaries and the report, so a metric is named and described once. `direction` is what a search
should do with it (`maximize`, `minimize`) or `None` for counts and timings no one optimises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from visframe.errors import ConfigError

REDUCED = "reduced"
RAW = "raw"
LABELS = "labels"
NONE = "-"


@dataclass(frozen=True)
class Metric:
    name: str
    space: str  # reduced | raw | labels | -
    direction: str | None  # maximize | minimize | None
    description: str
    # What an undefined value (NaN: e.g. silhouette with one cluster) counts as in a search: the worst
    # the metric can be, so a degenerate trial ranks last instead of failing.
    worst: float | None = None


_REDUCED = "the reduced space HDBSCAN clustered, euclidean, noise excluded"
_RAW = "raw embeddings, L2-normalised (cosine geometry), noise excluded"
METRICS: tuple[Metric, ...] = (
    Metric("n_images", NONE, None, "image files found (metadata-only rows excluded)"),
    Metric("n_clean", NONE, None, "rows usable (status ok)"),
    Metric("n_clusters", NONE, None, "clusters found (noise not counted)"),
    Metric("noise_fraction", NONE, "minimize", "share of all points labelled noise", worst=1.0),
    Metric(
        "largest_cluster_share",
        NONE,
        "minimize",
        "largest cluster's size / all points (noise included)",
        worst=1.0,
    ),
    Metric("silhouette", REDUCED, "maximize", f"silhouette in {_REDUCED}", worst=-1.0),
    Metric("calinski_harabasz", REDUCED, "maximize", f"Calinski-Harabasz in {_REDUCED}", worst=0.0),
    Metric("davies_bouldin", REDUCED, "minimize", f"Davies-Bouldin in {_REDUCED}", worst=math.inf),
    Metric(
        "dbcv",
        REDUCED,
        "maximize",
        "density-based validity (DBCV, hdbscan.validity.validity_index) in the reduced space, "
        "stratified sample; noise counts against it",
        worst=-1.0,
    ),
    Metric("silhouette_raw_cosine", RAW, "maximize", f"silhouette in {_RAW}, sampled", worst=-1.0),
    Metric("calinski_harabasz_raw_cosine", RAW, "maximize", f"Calinski-Harabasz in {_RAW}", worst=0.0),
    Metric("davies_bouldin_raw_cosine", RAW, "minimize", f"Davies-Bouldin in {_RAW}", worst=math.inf),
    Metric(
        "confident_fraction",
        NONE,
        "maximize",
        "share of clustered points with probability >= evaluation.confidence_threshold",
        worst=0.0,
    ),
    Metric(
        "mean_confident_probability",
        NONE,
        "maximize",
        "mean membership probability of the confident points",
        worst=0.0,
    ),
    Metric(
        "mean_probability", NONE, "maximize", "mean membership probability of all clustered points", worst=0.0
    ),
    Metric(
        "min_cluster_mean_probability",
        NONE,
        "maximize",
        "the least confident cluster's mean membership probability",
        worst=0.0,
    ),
    Metric(
        "ari",
        LABELS,
        "maximize",
        "adjusted Rand index vs the ground-truth label, noise as its own label",
        worst=-1.0,
    ),
    Metric(
        "nmi",
        LABELS,
        "maximize",
        "normalised mutual information vs the ground-truth label, noise as its own label",
        worst=0.0,
    ),
    # How many points each bounded metric used (all clustered points when exact; see
    # evaluation.*_sample_size).
    Metric(
        "silhouette_sample_size",
        NONE,
        None,
        "points the reduced-space silhouette used "
        "(stratified sample above evaluation.silhouette_sample_size)",
    ),
    Metric(
        "dbcv_sample_size",
        NONE,
        None,
        "points DBCV used (stratified sample above evaluation.dbcv_sample_size)",
    ),
    Metric(
        "silhouette_raw_cosine_sample_size",
        NONE,
        None,
        "points the raw-space silhouette used (evaluation.raw_silhouette_sample_size)",
    ),
    Metric(
        "calinski_harabasz_raw_cosine_sample_size",
        NONE,
        None,
        "points the raw-space Calinski-Harabasz used (evaluation.raw_space_sample_size)",
    ),
    Metric(
        "davies_bouldin_raw_cosine_sample_size",
        NONE,
        None,
        "points the raw-space Davies-Bouldin used (evaluation.raw_space_sample_size)",
    ),
    Metric("images_embedded", NONE, None, "images this job embedded (not read from cache)"),
    Metric("images_from_cache", NONE, None, "images read from the embedding cache"),
    Metric("reduce_cache_hit", NONE, None, "1 when the reduction came from cache"),
)
REGISTRY: dict[str, Metric] = {m.name: m for m in METRICS}
# What the job's one-line summary prints, in order.
SUMMARY_METRICS = ("n_clusters", "noise_fraction", "silhouette", "confident_fraction", "ari", "nmi")
# The metrics the sweep summaries tabulate (the study's Appendix 1 / Table 1 columns, then ours).
SWEEP_TABLE_METRICS = (
    "n_clusters",
    "noise_fraction",
    "silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "dbcv",
    "confident_fraction",
    "mean_confident_probability",
    "largest_cluster_share",
    "ari",
    "nmi",
)


def get_metric(name: str) -> Metric:
    """The registered metric `name`, or a ConfigError listing the ones that can be optimised."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown metric {name!r}",
            fix=f"use one of: {', '.join(optimizable_metrics())}",
        ) from None


def optimizable_metrics() -> list[str]:
    return [m.name for m in METRICS if m.direction is not None]


def direction_of(name: str) -> str:
    metric = get_metric(name)
    if metric.direction is None:
        raise ConfigError(
            f"metric {name!r} is a count, not something to optimise",
            fix=f"use one of: {', '.join(optimizable_metrics())}",
        )
    return metric.direction


def describe_metrics(n_components: int | None = None) -> dict[str, str]:
    """What each metric measures and in which space (for the report and the MLflow run)."""
    described = {}
    for metric in METRICS:
        text = metric.description
        if metric.space == REDUCED and n_components is not None:
            text = text.replace("the reduced space", f"the reduced space ({n_components}-d)")
        described[metric.name] = text
    return described


def worst_value(name: str) -> float | None:
    return get_metric(name).worst
