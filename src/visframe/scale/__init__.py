"""Scale: past what one fit should hold, fit on a sample and map the rest as a Dask job.

`fit_sample_and_map` fits the reducer, the 2-D map and the clusterer on a seeded sample of the
points and maps every other point with the estimators' own out-of-sample methods (umap-learn
`transform`, hdbscan `approximate_predict` / `approximate_predict_scores`), the mapping run as a
`dask.distributed` job: a LocalCluster by default, any scheduler by `scale.dask.address`.
With scale=sample_fit a large folder's ingest file checks run on the same cluster (`dask_inspector`).
Configured by the `scale` group (conf/scale/full.yaml, conf/scale/sample_fit.yaml).
"""

from visframe.scale.dask_jobs import DaskInspector, dask_client, dask_inspector
from visframe.scale.sample_fit import SampleFitResult, fit_sample_and_map, uses_sample_fit

__all__ = ["DaskInspector", "SampleFitResult", "dask_client", "dask_inspector", "fit_sample_and_map", "uses_sample_fit"]
