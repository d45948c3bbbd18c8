"""The pipeline's post-embedding stages at 16,567 / 100,000 / 1,000,000 synthetic vectors, peak RSS.

    make bench-scale
    python benchmarks/bench_scale.py --runs 16567:full 100000:full --set reducer.knn.pca_components=50

What one job costs after embedding, with the configs a user runs (src/visframe/conf: reducer/umap,
map_reducer/umap_2d, the default clusterer of config.yaml, evaluation/default, scale/<mode>):
both reductions through the reduction cache (one shared kNN graph), the clustering, every metric
(evaluate_run, with the themes as ground truth), and writing assignments.parquet. Each run is a
fresh process with an empty reduction cache; numba's compiled code comes from NUMBA_CACHE_DIR and a
5,000-point warm-up (printed as `warm-up s`, not part of `pipeline s`: it is what a second process
pays for compilation). Peak RSS sums the process and its Dask workers (psutil, every 0.2 s).
Modes: `full` fits every point (scale=full); `sample_fit` fits on scale.sample_size points and maps
the rest on a 2-worker Dask LocalCluster (scale=sample_fit). The ARI of sample-fit vs full-fit labels
is printed where both ran at one size. Ends with one line:
    RESULT pipeline_s_16567=… pipeline_s_100000=… pipeline_s_1000000=… peak_rss_gb_1000000=… …
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    str(Path(os.environ.get("VISFRAME_CACHE_DIR", Path.home() / ".cache/visframe")) / "numba"),
)

DEFAULT_RUNS = ["16567:full", "100000:full", "100000:sample_fit", "1000000:sample_fit"]


def default_clusterer_name() -> str:
    from omegaconf import OmegaConf

    from visframe import CONFIG_DIR

    for entry in OmegaConf.load(Path(CONFIG_DIR) / "config.yaml").defaults:
        if OmegaConf.is_dict(entry) and "clusterer" in entry:
            return str(entry["clusterer"])
    return "hdbscan"


def job_config(mode: str, overrides: list[str]):
    """The groups a job composes, under one root so `${seed}` and cross-group selects resolve."""
    from omegaconf import OmegaConf

    from visframe import CONFIG_DIR

    conf = Path(CONFIG_DIR)
    root = OmegaConf.create({"seed": 42})
    for group, name in (
        ("reducer", "umap"),
        ("map_reducer", "umap_2d"),
        ("clusterer", default_clusterer_name()),
        ("evaluation", "default"),
        ("scale", mode),
    ):
        root[group] = OmegaConf.load(conf / group / f"{name}.yaml")
    root.merge_with_dotlist(overrides)
    OmegaConf.resolve(root)
    return root


class PeakRss:
    """Peak of (this process + its children) resident memory, sampled in a thread."""

    def __init__(self, every: float = 0.2):
        import psutil

        self.process, self.every, self.peak = psutil.Process(), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for proc in [self.process, *self.process.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def stop(self) -> float:
        import resource

        self._stop.set()
        self._thread.join()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return max(self.peak, own) / 1e9


def stages(cfg, vectors, themes, cache_dir: Path, run_dir: Path) -> dict:
    """One job's post-embedding stages, as the pipeline runs them; seconds per stage and results."""
    import numpy as np
    import pandas as pd

    from visframe import contracts as c
    from visframe.cluster import stage as cluster
    from visframe.evaluate import evaluate_run
    from visframe.reduce import stage as reduce
    from visframe.stages import StageContext

    seconds: dict[str, float] = {}
    input_key = f"bench:{len(vectors)}:{vectors[:64].tobytes().hex()[:32]}"
    context = StageContext(cache_dir=str(cache_dir), seed=int(cfg.seed))
    started = time.perf_counter()
    reduction = reduce.run(
        reduce.ReduceInputs(vectors, input_key),
        reduce.ReduceSettings(cfg.reducer, cfg.map_reducer, cfg.scale),
        context,
    )
    seconds.update(reduction.seconds)
    t = time.perf_counter()
    clusters = cluster.run(
        cluster.ClusterInputs(reduction.coordinates, vectors, reduction.sample_rows),
        cluster.ClusterSettings(cfg.clusterer, cfg.scale),
        context,
    )
    seconds["cluster"] = time.perf_counter() - t
    reduced, map_xy = reduction.coordinates, reduction.map_coordinates
    t = time.perf_counter()
    metrics, _ = evaluate_run(
        cfg.evaluation,
        reduced,
        vectors,
        clusters.labels,
        clusters.probabilities,
        truth=themes.astype(str),
        seed=int(cfg.seed),
    )
    seconds["evaluate"] = time.perf_counter() - t
    t = time.perf_counter()
    ids = pd.array([f"img{i:07d}" for i in range(len(vectors))], dtype="string")
    pd.DataFrame(
        {
            c.IMAGE_ID: ids,
            c.PATH: ids,
            c.CLUSTER: clusters.labels,
            c.PROBABILITY: clusters.probabilities,
            c.OUTLIER_SCORE: clusters.outlier_scores,
            c.X: map_xy[:, 0].astype(np.float64),
            c.Y: map_xy[:, 1].astype(np.float64),
        }
    ).to_parquet(run_dir / c.ASSIGNMENTS_FILE, index=False)
    seconds["write"] = time.perf_counter() - t
    seconds["pipeline"] = time.perf_counter() - started
    np.save(run_dir / "labels.npy", clusters.labels)
    return {
        "seconds": seconds,
        "ari": metrics.get("ari"),
        "n_clusters": metrics["n_clusters"],
        "noise": metrics["noise_fraction"],
        "silhouette_sample_size": metrics["silhouette_sample_size"],
    }


def one_run(n: int, mode: str, overrides: list[str], out: Path) -> None:
    """Child process: warm up, run the stages at size n, print one JSON line."""
    from _vectors import synthetic_embeddings

    rss = PeakRss()
    cfg = job_config(mode, overrides)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        started = time.perf_counter()
        warm_vectors, warm_themes = synthetic_embeddings(5000, seed=1)
        warm_cfg = job_config("full", overrides)
        stages(warm_cfg, warm_vectors, warm_themes, Path(tmp) / "warm-cache", Path(tmp))
        # Below knn.EXACT_BELOW points the graph is exact: compile pynndescent's search here too, as a
        # large collection's first job in a process would (printed in warm-up, not in pipeline).
        from visframe.reduce.knn import compute_knn

        compute_knn(warm_vectors[:3000], 25, "cosine", 42, threads=int(cfg.reducer.knn.get("n_jobs") or 1))
        if mode == "sample_fit":  # transform + approximate_predict compile too (in this process)
            warm_sample = job_config(
                "sample_fit", [*overrides, "scale.sample_size=4500", "scale.chunk_size=500"]
            )
            stages(warm_sample, warm_vectors, warm_themes, Path(tmp) / "warm-cache", Path(tmp))
        warm = time.perf_counter() - started
        vectors, themes = synthetic_embeddings(n)
        result = stages(cfg, vectors, themes, Path(tmp) / "cache", out)
    result |= {"n": n, "mode": mode, "warmup_s": warm, "peak_rss_gb": rss.stop()}
    print("JSON " + json.dumps(result), flush=True)


def option_study(n: int, overrides: list[str]) -> None:
    """The map's own UMAP (epochs, init from the reduction) for trustworthiness and time; PCA-50
    before the kNN for ARI/NMI. One process, so the figures compare under the same load."""
    import numpy as np
    from _vectors import synthetic_embeddings
    from hydra.utils import instantiate
    from omegaconf import OmegaConf
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from visframe.cluster import fit_clusterer
    from visframe.reduce import reduce_cached

    cfg = job_config("full", overrides)
    vectors, themes = synthetic_embeddings(n)
    rows = np.random.default_rng(0).choice(n, size=min(n, 4000), replace=False)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'reduction (n=' + str(n) + ')':<34}{'s':>7}{'ARI':>7}{'NMI':>7}")
        reductions = {}
        for pca in (None, 50):
            reducer = OmegaConf.merge(cfg.reducer, {"knn": {"pca_components": pca}})
            t = time.perf_counter()
            reduced = reduce_cached(reducer, vectors, "study", tmp).coordinates
            seconds = time.perf_counter() - t
            labels = fit_clusterer(instantiate(cfg.clusterer), reduced).labels
            reductions[pca] = reduced
            print(
                f"{'kNN on ' + (f'PCA-{pca}' if pca else 'the raw vectors'):<34}{seconds:>7.1f}"
                f"{adjusted_rand_score(themes, labels):>7.3f}"
                f"{normalized_mutual_info_score(themes, labels):>7.3f}",
                flush=True,
            )
        print(f"\n{'2-D map':<34}{'s':>7}{'trust@10':>9}   (trustworthiness on 4,000 points, cosine)")
        for name, changes in (
            ("UMAP, default epochs (today)", {"n_epochs": None, "init_from_reduction": False}),
            ("UMAP, 100 epochs", {"n_epochs": 100, "init_from_reduction": False}),
            ("init from reduction, 100 epochs", {"n_epochs": 100, "init_from_reduction": True}),
            ("init from reduction, 50 epochs", {"n_epochs": 50, "init_from_reduction": True}),
        ):
            t = time.perf_counter()
            xy = reduce_cached(
                OmegaConf.merge(cfg.map_reducer, changes), vectors, "study", tmp, init_from=reductions[None]
            ).coordinates
            seconds = time.perf_counter() - t
            trust = trustworthiness(vectors[rows], xy[rows], n_neighbors=10, metric="cosine")
            print(f"{name:<34}{seconds:>7.1f}{trust:>9.3f}", flush=True)
        trust5 = trustworthiness(vectors[rows], reductions[None][rows], n_neighbors=10, metric="cosine")
        print(f"{'(the 5-d reduction itself)':<34}{'':>7}{trust5:>9.3f}")


def predict_study(n: int, repeats: int = 2) -> None:
    """scale=sample_fit's cluster half at n points of 5-d: fit the default clusterer on a 50,000-point
    sample, then predict the other points with hdbscan's approximate_predict / _scores in this
    process and as chunk tasks on the 2-worker Dask LocalCluster (alternating, `repeats` times each)."""
    import numpy as np

    from visframe.cluster.sample_fit import fit_sample_clusterer, predict_rows
    from visframe.scale import rest_rows, sample_rows

    cfg = job_config("sample_fit", [])
    rng = np.random.default_rng(0)
    centers = rng.uniform(0, 10, size=(40, 5))
    coordinates = (centers[rng.integers(0, 40, size=n)] + 0.3 * rng.normal(size=(n, 5))).astype(np.float32)
    rows = sample_rows(n, int(cfg.scale.sample_size), 42)
    t = time.perf_counter()
    _, predictor = fit_sample_clusterer(cfg.clusterer, coordinates[rows].astype(np.float64))
    print(f"fit on {len(rows):,} points: {time.perf_counter() - t:.1f}s", flush=True)
    rest = rest_rows(n, rows)
    predict_rows(predictor, coordinates, rest[:2000], cfg.scale, on_dask=False)  # imports, first calls
    seconds: dict[str, list[float]] = {"here": [], "dask": []}
    results = {}
    for _ in range(repeats):
        for where in ("here", "dask"):
            t = time.perf_counter()
            parts = predict_rows(predictor, coordinates, rest, cfg.scale, on_dask=where == "dask")
            seconds[where].append(time.perf_counter() - t)
            results[where] = np.concatenate([part["labels"] for _, part in parts])
            print(f"predict {len(rest):,} points {where}: {seconds[where][-1]:.1f}s", flush=True)
    same = np.array_equal(results["here"], results["dask"])
    print(
        f"RESULT predict_here_s={np.median(seconds['here']):.1f} "
        f"predict_dask_s={np.median(seconds['dask']):.1f} same_labels={same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", nargs="+", default=DEFAULT_RUNS, help="SIZE:MODE (mode full or sample_fit)")
    parser.add_argument(
        "--set", nargs="*", default=[], dest="overrides", help="config overrides, e.g. reducer.n_epochs=100"
    )
    parser.add_argument(
        "--study",
        type=int,
        default=None,
        metavar="N",
        help="instead: compare map variants (trustworthiness, time) and PCA-50 before the kNN (ARI/NMI) at N",
    )
    parser.add_argument(
        "--predict",
        type=int,
        default=None,
        metavar="N",
        help="instead: time the sample-fit prediction of N points of 5-d here and on Dask",
    )
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.study:
        option_study(args.study, args.overrides)
        return
    if args.predict:
        predict_study(args.predict)
        return
    if args.one:
        n, mode = args.one.split(":")
        one_run(int(n), mode, args.overrides, Path(args.out))
        return

    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    print(
        f"clusterer conf/clusterer/{default_clusterer_name()}.yaml; overrides {args.overrides or 'none'}; "
        f"{os.cpu_count()} CPUs; NUMBA_CACHE_DIR={os.environ['NUMBA_CACHE_DIR']}"
    )
    results, work = [], Path(tempfile.mkdtemp(prefix="bench-scale-runs-"))
    header = (
        f"{'n':>8} {'mode':<11}{'warm-up s':>10}{'pipeline s':>11}{'peak GB':>9}{'clusters':>9}{'noise':>7}"
        f"{'ARI':>7}  stages s"
    )
    print(header)
    for run in args.runs:
        out = work / run.replace(":", "-")
        out.mkdir()
        done = subprocess.run(
            [sys.executable, __file__, "--one", run, "--out", str(out), "--set", *args.overrides],
            capture_output=True,
            text=True,
            check=False,
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith("JSON ")), None)
        if line is None:
            sys.exit(f"run {run} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        r = json.loads(line[5:]) | {"dir": str(out)}
        results.append(r)
        parts = " ".join(f"{k}={v:.1f}" for k, v in r["seconds"].items() if k != "pipeline")
        print(
            f"{r['n']:>8} {r['mode']:<11}{r['warmup_s']:>10.1f}{r['seconds']['pipeline']:>11.1f}"
            f"{r['peak_rss_gb']:>9.2f}{r['n_clusters']:>9.0f}{r['noise']:>7.1%}{r['ari']:>7.3f}  {parts}",
            flush=True,
        )

    fields = []
    for r in results:
        suffix = (
            ""
            if r["mode"] == "full" or not any(o["n"] == r["n"] and o["mode"] == "full" for o in results)
            else "_sample_fit"
        )
        fields += [
            f"pipeline_s_{r['n']}{suffix}={r['seconds']['pipeline']:.1f}",
            f"ari_{r['n']}{suffix}={r['ari']:.3f}",
        ]
        if r["n"] >= 1_000_000:
            fields.append(f"peak_rss_gb_{r['n']}{suffix}={r['peak_rss_gb']:.2f}")
    for n in sorted({r["n"] for r in results}):
        modes = {r["mode"]: r for r in results if r["n"] == n}
        if {"full", "sample_fit"} <= modes.keys():
            full, sampled = (np.load(Path(modes[m]["dir"]) / "labels.npy") for m in ("full", "sample_fit"))
            agreement = adjusted_rand_score(full, sampled)
            print(f"ARI sample-fit vs full-fit labels at {n}: {agreement:.3f}")
            fields.append(f"ari_sample_vs_full_{n}={agreement:.3f}")
    print("RESULT " + " ".join(fields))


if __name__ == "__main__":
    main()
