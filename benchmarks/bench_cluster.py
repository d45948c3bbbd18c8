r"""Compare the CPU HDBSCAN backends on the same reduced data: time, agreement, outputs.

    make bench-cluster                     # 16,567 synthetic 512-d vectors → UMAP 5-d, and raw 512-d
    python benchmarks/bench_cluster.py --n 5000 --raw-n 2000 --repeats 3

Every backend is built from its conf/clusterer/*.yaml (the configs users run), warmed up first (numba
compilation is not clustering time), then the backends are timed interleaved, `--repeats` rounds,
so that this CPU's minute-to-minute speed swings hit them all alike; medians are reported, with
each backend's time as a ratio to the hdbscan library's. ARI is between the backends' labels on the
same points (and against the synthetic themes), and each backend's config is refitted once more to
check that the same input gives the same labels. The default clusterer is the fastest backend that
gives labels, probabilities AND outlier scores, reproducibly.

    python benchmarks/bench_cluster.py --reduced <cache>/reductions/<key>.npy \
        --embeddings <cache>/embeddings/<key>
compares them on a real run's UMAP output and embeddings instead of synthetic vectors.
Last, the default clusterer (auto_hdbscan on the UMAP output) beside the experimental EVoC
(clusterer=evoc, raw vectors), `--evoc-n` points.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    str(Path(os.environ.get("VISFRAME_CACHE_DIR", Path.home() / ".cache/visframe")) / "numba"),
)

import numpy as np
from _vectors import synthetic_embeddings, umap_reduced
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.metrics import adjusted_rand_score

from visframe import CONFIG_DIR
from visframe.cluster import fit_clusterer

BACKENDS = ["hdbscan", "fast_hdbscan", "sklearn_hdbscan"]


def backend_config(name: str, min_cluster_size: int):
    cfg = OmegaConf.load(Path(CONFIG_DIR) / "clusterer" / f"{name}.yaml")
    cfg.min_cluster_size = min_cluster_size
    return cfg


def read_embeddings(directory: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    parts = sorted(directory.glob("part-*.parquet"))
    if not parts:
        sys.exit(f"{directory}: no part-*.parquet embedding shards")
    table = pq.read_table(parts)
    ids = table.column("image_id").to_numpy(zero_copy_only=False)
    _, first = np.unique(ids, return_index=True)
    vectors = np.stack(table.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float32)
    return vectors[np.sort(first)]


def compare(title: str, points: np.ndarray, themes: np.ndarray, min_cluster_size: int, repeats: int) -> None:
    print(
        f"\n## {title}: {points.shape[0]:,} points × {points.shape[1]} dims, "
        f"min_cluster_size={min_cluster_size}"
    )
    for name in BACKENDS:  # warm-up: compile numba code, load libraries
        fit_clusterer(instantiate(backend_config(name, min_cluster_size)), points[: min(2000, len(points))])
    seconds: dict[str, list[float]] = {name: [] for name in BACKENDS}
    results = {}
    for _ in range(repeats):
        for name in BACKENDS:
            result = fit_clusterer(instantiate(backend_config(name, min_cluster_size)), points)
            seconds[name].append(result.seconds)
            results[name] = result
    base = statistics.median(seconds["hdbscan"])
    print(
        f"{'backend':<16}{'median s':>10}{'x hdbscan':>11}{'clusters':>10}{'noise':>8}"
        f"{'ARI themes':>12}  outputs"
    )
    truth_ari = (
        (lambda labels: f"{adjusted_rand_score(themes, labels):>12.3f}")
        if themes is not None
        else (lambda _: f"{'-':>12}")
    )
    for name in BACKENDS:
        result, median = results[name], statistics.median(seconds[name])
        outputs = ["labels"]
        if not np.all(result.probabilities == (result.labels >= 0)):
            outputs.append("probabilities")
        if np.isfinite(result.outlier_scores).all():
            outputs.append("outlier_scores")
        print(
            f"{name:<16}{median:>10.2f}{base / median:>10.2f}x{result.n_clusters:>10}"
            f"{(result.labels < 0).mean():>8.1%}{truth_ari(result.labels)}  {'+'.join(outputs)}"
        )
    print("ARI between backends' labels:")
    for i, a in enumerate(BACKENDS):
        for b in BACKENDS[i + 1 :]:
            print(f"  {a} vs {b}: {adjusted_rand_score(results[a].labels, results[b].labels):.3f}")
    same = {
        name: np.array_equal(
            fit_clusterer(instantiate(backend_config(name, min_cluster_size)), points).labels,
            results[name].labels,
        )
        for name in BACKENDS
    }
    print("same labels on refit: " + ", ".join(f"{name} {ok}" for name, ok in same.items()))


def compare_default_and_evoc(reduced: np.ndarray, vectors: np.ndarray, themes, n: int) -> None:
    """The default clusterer (AutoHDBSCAN on the UMAP output) beside the experimental EVoC, which
    clusters the raw vectors itself (input_space = "raw"): time, clusters, noise, ARI, layers."""
    from visframe.cluster import input_space

    print(f"\n## default (auto_hdbscan, UMAP 5-d) vs EVoC (raw {vectors.shape[1]}-d): first {n:,} points")
    print(
        f"{'clusterer':<14}{'input':>9}{'s':>8}{'clusters':>10}{'noise':>8}{'ARI themes':>12}"
        "  layers (clusters, finest first)"
    )
    for name in ("auto_hdbscan", "evoc"):
        config = OmegaConf.load(Path(CONFIG_DIR) / "clusterer" / f"{name}.yaml")
        if "random_state" in config:
            config.random_state = 42
        try:
            estimator = instantiate(config)
        except ImportError as error:
            print(f"{name:<14} skipped: {error}")
            continue
        space = input_space(estimator)
        X = (vectors if space == "raw" else reduced)[:n]
        fit_clusterer(
            instantiate(config), X[: min(1000, n)]
        )  # warm-up: numba compilation is not clustering time
        result = fit_clusterer(estimator, X)
        ari = (
            f"{adjusted_rand_score(themes[:n], result.labels):>12.3f}" if themes is not None else f"{'-':>12}"
        )
        layers = [len(set(layer.tolist()) - {-1}) for layer in result.layers]
        print(
            f"{name:<14}{space:>9}{result.seconds:>8.2f}{result.n_clusters:>10}"
            f"{(result.labels < 0).mean():>8.1%}{ari}  {layers}"
        )
        RESULTS[f"{name}_seconds"] = result.seconds
        if themes is not None:
            RESULTS[f"{name}_ari"] = adjusted_rand_score(themes[:n], result.labels)


RESULTS: dict[str, float] = {}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=16567, help="points for the UMAP comparison (the study's corpus size)"
    )
    parser.add_argument(
        "--raw-n", type=int, default=5000, help="points for the raw 512-d comparison (0 = skip)"
    )
    parser.add_argument("--min-cluster-size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--evoc-n", type=int, default=5000, help="points for default vs EVoC (0 = skip)")
    parser.add_argument(
        "--cache-dir", default=None, help="where the UMAP coordinates are kept (default: a temp dir)"
    )
    parser.add_argument(
        "--embeddings",
        default=None,
        help="an embedding cache dir (<cache>/embeddings/<encoder_key>) to use instead of synthetic vectors",
    )
    parser.add_argument(
        "--reduced",
        default=None,
        help="a reduction cache entry (<cache>/reductions/<key>.npy) to use instead of fitting UMAP",
    )
    args = parser.parse_args()

    cache_dir = Path(args.cache_dir or tempfile.mkdtemp(prefix="bench-cluster-"))
    if args.embeddings:
        vectors = read_embeddings(Path(args.embeddings))
        themes = None
        args.n = len(vectors)
        print(f"embeddings {args.embeddings}: {vectors.shape}")
    else:
        vectors, themes = synthetic_embeddings(args.n)
    started = time.perf_counter()
    if args.reduced:
        reduced, umap_seconds = np.load(args.reduced), 0.0
        if themes is not None and len(reduced) != len(themes):
            themes = None
    else:
        reduced, umap_seconds = umap_reduced(vectors, cache_dir)
    print(
        f"UMAP 5-d of {args.n:,} × {vectors.shape[1]}: {umap_seconds:.1f}s "
        "(with numba compilation; cached after) "
        f"[{time.perf_counter() - started:.1f}s]"
    )
    compare("UMAP output (5-d)", reduced, themes, args.min_cluster_size, args.repeats)
    if args.raw_n:
        compare(
            f"raw embeddings ({vectors.shape[1]}-d)",
            vectors[: args.raw_n].astype(np.float64),
            None if themes is None else themes[: args.raw_n],
            args.min_cluster_size,
            args.repeats,
        )
    if args.evoc_n:
        compare_default_and_evoc(reduced, vectors, themes, min(args.evoc_n, len(vectors)))
    print("RESULT " + " ".join(f"{k}={v:.3f}" for k, v in RESULTS.items()))


if __name__ == "__main__":
    main()
