"""Scale: past what one fit should hold, fit on a sample and map the rest as a Dask job.

The reduce stage fits the reducer and the 2-D map on a seeded sample of the points and places every
other point with umap-learn's `transform` (visframe.reduce.sample_fit); the cluster stage fits the
clusterer on the sample's coordinates and predicts the rest with hdbscan's `approximate_predict` /
`approximate_predict_scores` (visframe.cluster.sample_fit). This package holds what both share: when
the path applies (`uses_sample_fit`), the sample (`sample_rows`), and the Dask job that maps the rest
chunk by chunk (`map_chunks`): a LocalCluster by default, any scheduler by `scale.dask.address`.
With scale=sample_fit a large folder's ingest file checks run on the same cluster (`dask_inspector`).
Configured by the `scale` group (conf/scale/full.yaml, conf/scale/sample_fit.yaml).
"""

from visframe.scale.dask_jobs import DaskInspector, dask_client, dask_inspector
from visframe.scale.sample_fit import map_chunks, rest_rows, sample_rows, uses_sample_fit

__all__ = [
    "DaskInspector",
    "dask_client",
    "dask_inspector",
    "map_chunks",
    "rest_rows",
    "sample_rows",
    "uses_sample_fit",
]
