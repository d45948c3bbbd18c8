"""UMAP + the default HDBSCAN on 16,567 / 50,000 / 100,000 synthetic 512-d vectors.

    make bench-scale
    python benchmarks/bench_scale.py --sizes 16567 50000 100000 --modes seeded parallel

Reducer and clusterer are built from the configs a user runs (conf/reducer/umap.yaml and the
default clusterer in conf/config.yaml). numba code is compiled on a warm-up fit (5,000 points)
before timing, so the figures are the steady-state cost (`make bench-scale` in a fresh process after
a first run; the cold-start cost is what NUMBA_CACHE_DIR addresses, see docs). Modes:
  seeded    random_state=${seed} (the default: reproducible, UMAP's optimisation single-threaded)
  parallel  random_state=null (all cores, not reproducible)
Goal: 100,000 vectors under 60 s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(os.environ.get("VISFRAME_CACHE_DIR", Path.home() / ".cache/visframe")) / "numba"))

import numpy as np
from _vectors import synthetic_embeddings
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.metrics import adjusted_rand_score

from visframe import CONFIG_DIR
from visframe.cluster import fit_clusterer


def default_clusterer_name() -> str:
    defaults = OmegaConf.load(Path(CONFIG_DIR) / "config.yaml").defaults
    for entry in defaults:
        if OmegaConf.is_dict(entry) and "clusterer" in entry:
            return str(entry["clusterer"])
    return "hdbscan"


def reducer_config(mode: str, seed: int = 42):
    cfg = OmegaConf.load(Path(CONFIG_DIR) / "reducer" / "umap.yaml")
    cfg.random_state = seed if mode == "seeded" else None
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16567, 50000, 100000])
    parser.add_argument("--modes", nargs="+", default=["seeded", "parallel"], choices=["seeded", "parallel"])
    parser.add_argument("--clusterer", default=None, help="conf/clusterer/<name>.yaml (default: config.yaml's)")
    parser.add_argument("--min-cluster-size", type=int, default=None)
    args = parser.parse_args()

    clusterer_name = args.clusterer or default_clusterer_name()
    clusterer_cfg = OmegaConf.load(Path(CONFIG_DIR) / "clusterer" / f"{clusterer_name}.yaml")
    if args.min_cluster_size:
        clusterer_cfg.min_cluster_size = args.min_cluster_size
    print(f"reducer conf/reducer/umap.yaml, clusterer conf/clusterer/{clusterer_name}.yaml "
          f"(min_cluster_size={clusterer_cfg.min_cluster_size}); {os.cpu_count()} CPUs")

    warm, _ = synthetic_embeddings(5000, seed=1)
    started = time.perf_counter()
    for mode in args.modes:
        reduced = instantiate(reducer_config(mode)).fit_transform(warm)
        fit_clusterer(instantiate(clusterer_cfg), reduced)
    print(f"warm-up (numba compilation, 5,000 points): {time.perf_counter() - started:.1f}s\n")

    print(f"{'n':>8} {'mode':<9}{'UMAP s':>9}{'HDBSCAN s':>11}{'total s':>9}{'clusters':>10}{'noise':>8}{'ARI themes':>12}")
    for n in args.sizes:
        vectors, themes = synthetic_embeddings(n)
        for mode in args.modes:
            started = time.perf_counter()
            reduced = np.asarray(instantiate(reducer_config(mode)).fit_transform(vectors), dtype=np.float32)
            umap_seconds = time.perf_counter() - started
            result = fit_clusterer(instantiate(clusterer_cfg), reduced)
            total = umap_seconds + result.seconds
            print(f"{n:>8} {mode:<9}{umap_seconds:>9.1f}{result.seconds:>11.1f}{total:>9.1f}{result.n_clusters:>10}"
                  f"{(result.labels < 0).mean():>8.1%}{adjusted_rand_score(themes, result.labels):>12.3f}", flush=True)


if __name__ == "__main__":
    main()
