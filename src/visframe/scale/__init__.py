"""Scale: past what one fit should hold, fit on a sample and map the rest as a Dask job.

`fit_sample_and_map` fits the reducer, the 2-D map and the clusterer on a seeded sample of the
points and maps every other point with the estimators' own out-of-sample methods (umap-learn
`transform`, hdbscan `approximate_predict` / `approximate_predict_scores`), the mapping run as a
`dask.distributed` job: a LocalCluster by default, any scheduler by `scale.dask.address`.
Configured by the `scale` group (conf/scale/full.yaml, conf/scale/sample_fit.yaml).
"""

from visframe.scale.sample_fit import SampleFitResult, fit_sample_and_map, uses_sample_fit

__all__ = ["SampleFitResult", "fit_sample_and_map", "uses_sample_fit"]
