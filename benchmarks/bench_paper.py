"""The study's scale end to end (`make bench-paper`): `visframe dataset.preset=paper` from an empty cache.

What a new user's first run of the paper preset costs (16,567 posts, 19,075 distinct images): the
synthetic corpus is generated first into the usual cache (`<cache>/corpora/synthetic-paper-seed0`,
timed apart and not counted; a second run finds it complete), then one fresh process runs the
default config with `paths.cache_dir` (and `VISFRAME_CACHE_DIR`, `NUMBA_CACHE_DIR`) in a new, empty
temporary folder: every image is embedded, numba compiles, nothing is reused but the corpus files.
MLflow writes into that folder too. It prints and ends with one line:

    RESULT total_s=… stage_seconds_<stage>=… embed_images_per_s=… embed_loop_images_per_s=…
           embed_vs_loop=… embed_forward_images_per_s=… loop_vs_forward=… peak_rss_mib=… peak_tree_rss_mib=… ari=… nmi=… n_clusters=… corpus_s=… load_avg=…

- `total_s`: the job's own `total_seconds` (metrics.json: from the config to metrics.json, every
  stage); `process_s`: the subprocess's wall time (adds Python start-up, imports, Hydra, MLflow's
  closing of the run);
- `stage_seconds_*`: every stage as the pipeline timed it (metrics.json);
- `embed_images_per_s`: images embedded / `stage_seconds_embed` (the stage end to end: listing the
  cache, starting the Trainer, the loop, reading every vector back); `embed_loop_images_per_s`: the
  Lightning loop's own rate (images / wall time of `trainer.predict`: worker start, decoding, the
  model, the shard writes), recorded by the embed stage; `embed_vs_loop` their ratio (goal >= 0.85);
  `embed_forward_images_per_s`: the model's forward passes alone, timed inside that loop (so under
  the same load, decoding in its worker included: not the model on idle cores), and `loop_vs_forward`
  the share of the loop that is the model (what is left is waiting for batches, Lightning, shards);
- `peak_rss_mib`: the largest single process of the run (`ru_maxrss` of the waited-for children:
  the job or its decoding worker); `peak_tree_rss_mib`: the whole process tree's RSS summed, sampled
  every 0.5 s with psutil (a lower bound between samples);
- `ari`, `nmi`, `n_clusters`: metrics.json; `load_avg`: the 1-minute load average at start and end
  (this 2-core machine is shared; figures move 2-3x with it).

Goals on the 2-core development machine (issue 27): the run <= 4 min without text, embed stage
>= 0.85 x the loop's own rate.

`--embed-images N`: instead of the pipeline, one embed-stage measurement at N distinct images
(e.g. 100000): the corpus's distinct JPEGs, then byte-distinct copies of them (a JPEG comment
segment numbering the copy: same pixels, a new image_id, so every one is decoded and embedded),
written to the temporary folder and deleted after; one fresh process runs the embed stage
(`visframe.embed.stage.run`, default model and trainer config) on an empty cache:

    RESULT embed_images=N embed_stage_s=… embed_images_per_s=… embed_loop_images_per_s=… embed_vs_loop=…
           peak_rss_mib=… peak_tree_rss_mib=… vectors_mib=… load_avg=…

    .venv/bin/python benchmarks/bench_paper.py                       # the paper preset, text off
    .venv/bin/python benchmarks/bench_paper.py --set text=ocr        # with the text stage
    .venv/bin/python benchmarks/bench_paper.py --embed-images 100000 # the embed stage at 100k images
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_avg() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "n/a"


def corpus_root(preset: str, seed: int) -> Path:
    """Where `dataset=synthetic` keeps the corpus (conf/dataset/synthetic.yaml's `root`)."""
    from visframe.utils.cache import default_cache_dir

    return default_cache_dir() / "corpora" / f"synthetic-{preset}-seed{seed}"


def make_corpus(preset: str, seed: int) -> tuple[Path, float]:
    from visframe.data.synthetic import generate_corpus

    root = corpus_root(preset, seed)
    started = time.perf_counter()
    generate_corpus(root, preset=preset, seed=seed, show_progress=True)
    return root, time.perf_counter() - started


def child_env(cache: Path) -> dict[str, str]:
    """This checkout's code, the temporary cache everywhere a cache is looked for."""
    env = {**os.environ, "VISFRAME_CACHE_DIR": str(cache), "NUMBA_CACHE_DIR": str(cache / "numba"),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


class TreeRss:
    """The peak of the summed RSS of a process and its descendants, sampled every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def run_child(command: list[str], env: dict[str, str], log_path: Path) -> tuple[int, float, float, float]:
    """(return code, wall seconds, peak RSS of the largest child in MiB, peak tree RSS in MiB)."""
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        sampler = TreeRss(child.pid)
        code = child.wait()
    wall = time.perf_counter() - started
    tree = sampler.stop()
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return code, wall, largest, tree


def fail(log_path: Path, what: str) -> None:
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:] if log_path.exists() else ""
    raise SystemExit(f"{what} failed; the end of its log ({log_path}):\n{tail}")


def fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# ----------------------------------------------------------------------------- the pipeline


def bench_pipeline(args, scratch: Path) -> None:
    root, corpus_s = make_corpus(args.preset, args.seed)
    print(f"corpus {root}: ready in {corpus_s:.1f} s (not counted)", flush=True)
    cache, run_dir = scratch / "cache", scratch / "run"
    cache.mkdir()
    visframe = Path(sys.executable).with_name("visframe")
    command = [str(visframe), f"dataset.preset={args.preset}", f"dataset.corpus_seed={args.seed}",
               f"dataset.root={root}", f"paths.cache_dir={cache}", f"hydra.run.dir={run_dir}",
               f"tracking.store_dir={scratch / 'mlruns'}", *args.set]
    print("running: " + " ".join(command[1:]), flush=True)
    load_before = load_avg()
    code, wall, largest, tree = run_child(command, child_env(cache), scratch / "run.log")
    if code:
        fail(scratch / "run.log", "the paper-preset run")
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    stages = {k: v for k, v in metrics.items() if k.startswith("stage_seconds_")}
    embedded = metrics.get("images_embedded", 0.0)
    embed_rate = embedded / stages["stage_seconds_embed"] if stages.get("stage_seconds_embed") else float("nan")
    loop_rate = metrics.get("embed_loop_images_per_s", float("nan"))
    forward_rate = metrics.get("embed_forward_images_per_s", float("nan"))
    result = {
        "total_s": metrics["total_seconds"], "process_s": wall, **stages, "images_embedded": int(embedded),
        "embed_images_per_s": embed_rate, "embed_loop_images_per_s": loop_rate, "embed_vs_loop": embed_rate / loop_rate,
        "embed_forward_images_per_s": forward_rate, "loop_vs_forward": loop_rate / forward_rate,
        "peak_rss_mib": largest, "peak_tree_rss_mib": tree,
        **{k: metrics[k] for k in ("ari", "nmi", "n_clusters", "noise_fraction") if k in metrics},
        "corpus_s": corpus_s, "load_avg": f"{load_before}-{load_avg()}",
    }  # fmt: skip
    print(f"\n== paper preset from an empty cache ({' '.join(args.set) or 'default config'}) ==")
    for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {name[len('stage_seconds_'):]:>12s} {seconds:8.1f} s  {100 * seconds / metrics['total_seconds']:5.1f} %")
    print(f"  {'total':>12s} {metrics['total_seconds']:8.1f} s  (process {wall:.1f} s; goal without text <= 240 s)")
    print(f"  embed stage {embed_rate:.1f} images/s vs the loop's own {loop_rate:.1f} ({embed_rate / loop_rate:.2f}; "
          f"goal >= 0.85), {int(embedded):,} images; the model's forward passes alone {forward_rate:.1f} "
          f"(loop / forward {loop_rate / forward_rate:.2f})")
    print(f"  peak RSS {largest:.0f} MiB (largest process), {tree:.0f} MiB (tree, sampled)")
    print("RESULT " + " ".join(f"{k}={fmt(v)}" for k, v in result.items()))


# ----------------------------------------------------------------------------- the embed stage alone


def corpus_jpegs(root: Path) -> list[Path]:
    """The corpus's distinct, decodable JPEG files (first file per content), in metadata order."""
    import hashlib

    seen, files = set(), []
    for line in (root / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
        path = root / json.loads(line)["file"]
        data = path.read_bytes() if path.exists() else b""
        digest = hashlib.blake2b(data, digest_size=16).digest()
        if data[:3] == b"\xff\xd8\xff" and digest not in seen:
            seen.add(digest)
            files.append(path)
    return files


def with_comment(data: bytes, text: bytes) -> bytes:
    """The JPEG with a comment segment (COM) after its start marker: the same pixels, other bytes."""
    return data[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + data[2:]


def make_embed_images(root: Path, folder: Path, n: int) -> tuple[list[str], list[str]]:
    """n distinct image files: the corpus's JPEGs, then numbered byte-distinct copies of them."""
    from visframe.utils.hashing import image_id_from_file

    sources = corpus_jpegs(root)
    folder.mkdir(parents=True)
    ids, paths = [], []
    for i in range(n):
        source = sources[i % len(sources)]
        if i < len(sources):
            path = source
        else:
            path = folder / f"{i // 1000:03d}" / f"copy_{i:07d}.jpg"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(with_comment(source.read_bytes(), f"visframe-bench copy {i}".encode()))
        ids.append(image_id_from_file(path))
        paths.append(str(path))
    if len(set(ids)) != n:
        raise SystemExit(f"only {len(set(ids))} distinct image ids among {n} files")
    return ids, paths


def embed_child(args) -> None:
    """A fresh process: the embed stage on the listed images with the default model and trainer."""
    import logging

    from hydra import compose, initialize_config_dir

    from visframe import CONFIG_DIR
    from visframe.embed import stage as embed_stage
    from visframe.embed.deferred import load_encoder
    from visframe.stages import StageContext

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    listing = json.loads(Path(args.embed_child).read_text(encoding="utf-8"))
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose(config_name="config", overrides=[f"paths.cache_dir={args.cache}", *args.set])
    context = StageContext(str(cfg.paths.cache_dir), show_progress=True, seed=int(cfg.seed))
    encoder = load_encoder(cfg.model, cfg.trainer, context.cache_dir)
    started = time.perf_counter()
    result = embed_stage.run(embed_stage.EmbedInputs(listing["ids"], listing["paths"], encoder), cfg.trainer, context)
    seconds = time.perf_counter() - started
    print(json.dumps({"stage_s": seconds, **result.metrics(), "vectors_mib": result.vectors.nbytes / 2**20,
                      "encoder_key": result.encoder_key}))


def bench_embed_stage(args, scratch: Path) -> None:
    root, corpus_s = make_corpus(args.preset, args.seed)
    started = time.perf_counter()
    ids, paths = make_embed_images(root, scratch / "images", args.embed_images)
    listing = scratch / "images.json"
    listing.write_text(json.dumps({"ids": ids, "paths": paths}), encoding="utf-8")
    print(f"{len(ids):,} distinct images ready in {time.perf_counter() - started:.0f} s "
          f"(corpus {corpus_s:.0f} s; not counted); disk: {shutil.disk_usage(scratch).free / 2**30:.0f} GiB free",
          flush=True)  # fmt: skip
    cache = scratch / "cache"
    cache.mkdir()
    command = [sys.executable, __file__, "--embed-child", str(listing), "--cache", str(cache), *[part for s in args.set for part in ("--set", s)]]
    load_before = load_avg()
    code, wall, largest, tree = run_child(command, child_env(cache), scratch / "embed.log")
    if code:
        fail(scratch / "embed.log", "the embed-stage run")
    lines = (scratch / "embed.log").read_text(encoding="utf-8").splitlines()
    stats = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
    rate = stats["images_embedded"] / stats["stage_s"]
    loop_rate = stats.get("embed_loop_images_per_s", float("nan"))
    forward_rate = stats.get("embed_forward_images_per_s", float("nan"))
    result = {"embed_images": len(ids), "embed_stage_s": stats["stage_s"], "process_s": wall, "embed_images_per_s": rate,
              "embed_loop_images_per_s": loop_rate, "embed_vs_loop": rate / loop_rate,
              "embed_forward_images_per_s": forward_rate, "loop_vs_forward": loop_rate / forward_rate, "peak_rss_mib": largest,
              "peak_tree_rss_mib": tree, "vectors_mib": stats["vectors_mib"], "load_avg": f"{load_before}-{load_avg()}"}
    print(f"\n== the embed stage at {len(ids):,} images, empty cache ==")
    print(f"  {stats['stage_s']:.0f} s, {rate:.1f} images/s (loop {loop_rate:.1f}); peak RSS {largest:.0f} MiB "
          f"(largest process), {tree:.0f} MiB (tree); the (N, D) result {stats['vectors_mib']:.0f} MiB")
    print("RESULT " + " ".join(f"{k}={fmt(v)}" for k, v in result.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seed", type=int, default=0, help="the corpus seed (dataset.corpus_seed)")
    parser.add_argument("--set", action="append", default=[], help="an extra Hydra override (repeatable), e.g. text=ocr")
    parser.add_argument("--embed-images", type=int, default=0, help="measure the embed stage alone at this many images")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (run, cache, logs)")
    parser.add_argument("--embed-child", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embed_child:
        return embed_child(args)
    scratch = Path(tempfile.mkdtemp(prefix="visframe-bench-paper-"))
    print(f"scratch folder {scratch}; load average {load_avg()}", flush=True)
    try:
        (bench_embed_stage if args.embed_images else bench_pipeline)(args, scratch)
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
