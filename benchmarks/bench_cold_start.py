"""Cold start: the same `visframe` job in a fresh process, first with an empty numba cache, then
with the cache the first process left (cli.py points NUMBA_CACHE_DIR at <cache_dir>/numba).

    python benchmarks/bench_cold_start.py [--preset small] [--model tiny_random] [--clusterer fast_hdbscan]

Three processes after a preparation run (corpus, embeddings and reductions cached):
  cold      empty numba cache, reduction deleted (UMAP refits)
  warm      numba cache from `cold`, reduction deleted again (UMAP refits)
  cluster   numba cache warm, reduction cached (what every sweep job / re-run is)
Wall times include Python start and imports, so they are what a user waits for.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VISFRAME = str(Path(sys.executable).parent / "visframe")


def run(args: list[str], env: dict, cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([VISFRAME, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(done.stdout[-2000:] + done.stderr[-2000:])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="small")
    parser.add_argument("--model", default="tiny_random")
    parser.add_argument("--clusterer", default="fast_hdbscan")
    parser.add_argument("--work-dir", default=None)
    args = parser.parse_args()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="bench-cold-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "cache"
    # Own caches and MLflow store: a tracking URI exported by the shell would take precedence over store_dir.
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env |= {"VISFRAME_CACHE_DIR": str(cache), "PYTHONWARNINGS": "ignore"}
    env.pop("NUMBA_CACHE_DIR", None)  # cli.py's default: <cache_dir>/numba
    common = [
        f"dataset.preset={args.preset}",
        f"model={args.model}",
        f"clusterer={args.clusterer}",
        "report.enabled=false",
        "tracking.enabled=false",
        "show_progress=false",
    ]
    prepare = run([*common, f"hydra.run.dir={work / 'prepare'}"], env, work)
    print(f"preparation run (corpus, embeddings): {prepare:.1f}s")
    times = {}
    for name in ("cold", "warm", "cluster"):
        if name == "cold":
            shutil.rmtree(cache / "numba", ignore_errors=True)
        if name in ("cold", "warm"):
            shutil.rmtree(cache / "reductions", ignore_errors=True)
        times[name] = run([*common, f"hydra.run.dir={work / name}"], env, work)
    size = sum(f.stat().st_size for f in (cache / "numba").rglob("*") if f.is_file()) / 1e6
    print(f"numba cache {cache / 'numba'}: {size:.1f} MB")
    print(f"UMAP + {args.clusterer} job, empty numba cache:  {times['cold']:.1f}s")
    print(
        f"UMAP + {args.clusterer} job, warm numba cache:   {times['warm']:.1f}s  "
        f"({times['cold'] / times['warm']:.2f}x faster)"
    )
    print(f"cluster-only job (reduction cached), warm cache: {times['cluster']:.1f}s")


if __name__ == "__main__":
    main()
