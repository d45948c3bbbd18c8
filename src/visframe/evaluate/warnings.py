"""Degenerate outcomes a researcher must not miss. The pipeline logs and prints them, the report
shows them, and sweeps put them next to each job's numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping


def degenerate_outcome_warnings(
    metrics: Mapping[str, float], max_largest_cluster_share: float = 0.5, max_noise_fraction: float = 0.5
) -> list[str]:
    """Sentences naming what went wrong and what to try; empty when the clustering looks usable."""
    found: list[str] = []
    n_clusters = int(metrics.get("n_clusters") or 0)
    noise = metrics.get("noise_fraction", math.nan)
    largest = metrics.get("largest_cluster_share", math.nan)
    if n_clusters == 0:
        found.append(
            "No clusters: every image is noise. Lower clusterer.min_cluster_size (or min_samples), "
            "or check that the embeddings differ between images."
        )
    elif n_clusters == 1:
        found.append(
            "A single cluster: HDBSCAN found no structure to split. Lower clusterer.min_cluster_size, "
            "try cluster_selection_method=leaf, or another reducer/model."
        )
    if n_clusters > 0 and math.isfinite(noise) and noise > max_noise_fraction:
        found.append(
            f"Most images are noise ({noise:.0%} > {max_noise_fraction:.0%}): lower clusterer.min_samples "
            "or min_cluster_size; metrics over the clustered images describe a minority of the corpus."
        )
    if n_clusters > 1 and math.isfinite(largest) and largest > max_largest_cluster_share:
        found.append(
            f"One cluster holds {largest:.0%} of all images (> {max_largest_cluster_share:.0%}): it likely "
            "mixes several messages. Try a smaller min_cluster_size, cluster_selection_method=leaf, or "
            "re-cluster that cluster alone."
        )
    return found
