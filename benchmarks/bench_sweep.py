"""A min_cluster_size sweep costs only the clustering: measured on the real `visframe` command.

    make bench-sweep                                  # small synthetic corpus, tiny_random encoder
    python benchmarks/bench_sweep.py --preset small --model efficientnet_lite0 --report

1. one full run (corpus, embedding, UMAP: the caches fill);
2. `visframe -m clusterer.min_cluster_size=20,30,...,90` (8 jobs, one process, one MLflow parent),
   --sweeps times (default 3; the ratio below is their median).
Prints each job's images_embedded and reduce_cache_hit (must be 0 and 1), and the ratio
    (sweep wall time) / (sum over the 8 jobs of cluster_seconds + evaluate_seconds)
i.e. what the sweep costs beyond the clustering and its metrics (process start, config, ingest
check, cache reads, writing the run directory, MLflow, the parent's summary). Goal: <= 1.5.
Both sides come from the same run, so this machine's speed swings hit them alike.
Then the numba compilation a second process pays: a fresh process (set up as `visframe` sets itself
up: NUMBA_CACHE_DIR and utils.numba_cache) fits UMAP (shared kNN graph) + HDBSCAN on 5,000 points
twice; the first fit's extra wall time over the second is what compiling (or loading from
NUMBA_CACHE_DIR) cost; the median of --numba-runs such processes (CPU seconds and numba's own
compile events are printed beside it: on a busy machine they move less). Goal: < 5 s. Ends with:
    RESULT ratio=… numba_second_process_s=…
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VISFRAME = str(Path(sys.executable).parent / "visframe")
SIZES = [20, 30, 40, 50, 60, 70, 80, 90]
COMPILE_PROBE = """
import sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {benchmarks!r})
from _vectors import synthetic_embeddings
from numba.core import event
from omegaconf import OmegaConf
from hydra.utils import instantiate
from visframe import CONFIG_DIR
from visframe.cli import _use_persistent_numba_cache
_use_persistent_numba_cache({cache_dir!r})  # what every visframe process does first
from visframe.reduce import reduce_cached  # no session: remembers no kNN graph between the probes

class CompileTimer(event.Listener):  # numba's own compile events: the outermost ones, wall and CPU
    depth, wall, cpu, started = 0, 0.0, 0.0, []
    def on_start(self, ev):
        self.depth += 1
        self.started.append((time.perf_counter(), time.thread_time()))
    def on_end(self, ev):
        self.depth -= 1
        wall, cpu = self.started.pop()
        if self.depth == 0:
            self.wall += time.perf_counter() - wall
            self.cpu += time.thread_time() - cpu
timer = CompileTimer()
event.register("numba:compile", timer)
cfg = OmegaConf.create({{"seed": 42, "reducer": OmegaConf.load(CONFIG_DIR + "/reducer/umap.yaml"),
                        "clusterer": OmegaConf.load(CONFIG_DIR + "/clusterer/hdbscan.yaml")}})
times = []
for seed in (1, 2):
    vectors, _ = synthetic_embeddings(5000, seed=seed)
    started, cpu = time.perf_counter(), time.process_time()
    reduced = reduce_cached(cfg.reducer, vectors, f"probe{{seed}}", use_cache=False).coordinates
    instantiate(cfg.clusterer).fit(reduced)
    times += [time.perf_counter() - started, time.process_time() - cpu]
print("PROBE", *times, timer.wall, timer.cpu)
"""


def numba_second_process(env: dict, runs: int = 3) -> list[dict[str, float]]:
    """Per fresh process whose numba cache an earlier one filled: the first fit's extra wall and CPU
    time over the second's, and the time numba itself spent compiling (its compile events)."""
    code = COMPILE_PROBE.format(benchmarks=str(REPO / "benchmarks"), cache_dir=env["VISFRAME_CACHE_DIR"])
    results = []
    for run in range(runs + 1):  # the first fills NUMBA_CACHE_DIR (if it was empty); the others are measured
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith("PROBE ")), None)
        if line is None:
            sys.exit(f"compile probe failed:\n{done.stderr[-3000:]}")
        first, first_cpu, second, second_cpu, compile_wall, compile_cpu = map(float, line.split()[1:])
        if run:
            results.append(
                {
                    "extra_s": max(0.0, first - second),
                    "extra_cpu_s": max(0.0, first_cpu - second_cpu),
                    "compile_s": compile_wall,
                    "compile_cpu_s": compile_cpu,
                    "second_fit_s": second,
                }
            )
    return results


def visframe(args: list[str], env: dict, cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([VISFRAME, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"visframe {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def one_sweep(sweep_dir: Path, common: list[str], env: dict, work: Path) -> float:
    """One `visframe -m` over SIZES; prints its table; returns (wall) / (sum of cluster+evaluate)."""
    sweep = visframe(
        [
            "-m",
            *common,
            f"hydra.sweep.dir={sweep_dir}",
            "clusterer.min_cluster_size=" + ",".join(map(str, SIZES)),
        ],
        env,
        work,
    )
    jobs = [json.loads((sweep_dir / str(n) / "metrics.json").read_text()) for n in range(len(SIZES))]
    passes = [job["cluster_seconds"] + job["evaluate_seconds"] for job in jobs]
    print(
        f"\n{'min_cluster_size':>16}{'embedded':>10}{'reduce hit':>12}{'load model s':>14}{'cluster s':>11}"
        f"{'evaluate s':>12}{'job total s':>13}"
    )
    for size, job in zip(SIZES, jobs, strict=True):
        print(
            f"{size:>16}{job['images_embedded']:>10.0f}{job['reduce_cache_hit']:>12.0f}"
            f"{job.get('stage_seconds_load_model', float('nan')):>14.2f}{job['cluster_seconds']:>11.2f}"
            f"{job['evaluate_seconds']:>12.2f}{job['total_seconds']:>13.2f}"
        )
    embedded = sum(job["images_embedded"] for job in jobs)
    reduced = sum(1 - job["reduce_cache_hit"] for job in jobs)
    print(f"sweep of {len(SIZES)} jobs: {sweep:.1f}s wall; embedded {embedded:.0f}, reduced {reduced:.0f}")
    print(f"cluster+evaluate passes: sum {sum(passes):.1f}s, median {statistics.median(passes):.2f}s")
    print(f"ratio sweep wall / sum of passes = {sweep / sum(passes):.2f} (goal <= 1.5)")
    print(f"ratio sweep wall / (8 x median pass) = {sweep / (len(SIZES) * statistics.median(passes)):.2f}")
    in_jobs = sum(job["total_seconds"] for job in jobs)
    print(
        f"inside the jobs: {in_jobs:.1f}s ({in_jobs / sum(passes):.2f}x the passes); outside them "
        f"(process start, Hydra, MLflow runs, the parent's summary): {sweep - in_jobs:.1f}s"
    )
    return sweep / sum(passes)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="small", help="synthetic corpus preset (tiny, small, paper)")
    parser.add_argument("--model", default="tiny_random")
    parser.add_argument("--report", action="store_true", help="build the HTML report in every sweep job too")
    parser.add_argument(
        "--work-dir", default=None, help="caches, MLflow store and outputs (default: a temp dir)"
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="use this VISFRAME_CACHE_DIR (e.g. one that holds the paper corpus) instead of <work-dir>/cache",
    )
    parser.add_argument("--sweeps", type=int, default=3, help="sweeps run (the ratio is their median)")
    parser.add_argument(
        "--numba-runs", type=int, default=3, help="fresh processes measured for numba (median)"
    )
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for both runs")
    args = parser.parse_args()

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="bench-sweep-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    # Own caches and MLflow store: a tracking URI exported by the shell would take precedence over store_dir.
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env |= {
        "VISFRAME_CACHE_DIR": str(Path(args.cache_dir).resolve() if args.cache_dir else work / "cache"),
        "PYTHONWARNINGS": "ignore",
    }
    common = [
        f"dataset.preset={args.preset}",
        f"model={args.model}",
        "show_progress=false",
        f"tracking.store_dir={work / 'mlruns'}",
        *([] if args.report else ["report.enabled=false"]),
        *args.overrides,
    ]
    print(f"work dir {work}; {' '.join(common)}")

    first = visframe([*common, f"hydra.run.dir={work / 'first'}"], env, work)
    metrics = json.loads((work / "first" / "metrics.json").read_text())
    print(
        f"first run: {first:.1f}s wall (embedded {metrics['images_embedded']:.0f}, "
        f"reduce cache hit {metrics['reduce_cache_hit']:.0f}, {metrics['n_clean']:.0f} images)"
    )

    ratios = []
    for number in range(args.sweeps):
        ratios.append(one_sweep(work / ("sweep" if number == 0 else f"sweep{number}"), common, env, work))
    ratio = statistics.median(ratios)
    if len(ratios) > 1:
        print(
            f"\nratios of {len(ratios)} sweeps: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f}"
        )
    env.setdefault("NUMBA_CACHE_DIR", str(Path(env["VISFRAME_CACHE_DIR"]) / "numba"))
    probes = numba_second_process(env, args.numba_runs)
    print(
        f"\nnumba in a second process (NUMBA_CACHE_DIR={env['NUMBA_CACHE_DIR']}), "
        f"{len(probes)} fresh processes:"
    )
    for probe in probes:
        print(
            f"  first fit's extra over the second: {probe['extra_s']:.1f}s wall, "
            f"{probe['extra_cpu_s']:.1f}s CPU; numba compiling: {probe['compile_s']:.1f}s wall, "
            f"{probe['compile_cpu_s']:.1f}s CPU (second fit {probe['second_fit_s']:.1f}s)"
        )
    numba_s = statistics.median(probe["extra_s"] for probe in probes)
    print(
        f"median extra {numba_s:.1f}s wall, "
        f"{statistics.median(probe['extra_cpu_s'] for probe in probes):.1f}s CPU (goal < 5)"
    )
    print(f"RESULT ratio={ratio:.2f} numba_second_process_s={numba_s:.1f}")


if __name__ == "__main__":
    main()
