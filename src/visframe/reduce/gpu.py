"""cuML's UMAP on an NVIDIA GPU (`reducer=umap_gpu`, the `gpu` extra: cuml-cu13).

conf/reducer/umap_gpu.yaml names `cuml_umap` rather than `cuml.manifold.UMAP` itself so that a
machine without cuML gets `visframe.utils.extras.MissingExtraError` with the pip line, not Hydra's
"Error locating target". What it returns is cuML's own estimator with the config's parameters,
untouched: CPU ↔ GPU stays a config change.
"""

from __future__ import annotations

from typing import Any

from visframe.utils.extras import import_extra


def cuml_umap(**params: Any) -> Any:
    """`cuml.manifold.UMAP(**params)`, or a MissingExtraError saying how to install cuML."""
    manifold = import_extra(
        "cuml.manifold",
        extra="gpu",
        option="reducer=umap_gpu",
        needs="cuML (cuml-cu13) and an NVIDIA GPU",
        instead="the CPU reducer (reducer=umap)",
    )
    return manifold.UMAP(**params)
