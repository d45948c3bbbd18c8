"""Benchmark of the text stage (`make bench-text`): how well and how fast each OCR backend reads the
synthetic corpus, scored against the text the generator drew (`rendered_text`).

For each backend available here (`ocr` = RapidOCR, the default; `tesseract` when the binary and
Spanish data are installed) it runs `extract_texts` on a cold cache over a fixed, evenly spaced
subset of the corpus's unique, decodable images and prints:

- CER: character error rate, edits / truth characters summed over the images that show text
  (case-folded, whitespace collapsed, accents kept; rapidfuzz's Levenshtein), overall and per genre;
  also with '¡' left out of both sides, since RapidOCR's model has no such character;
- text presence precision / recall / F1: "the image shows text" (rendered_text non-empty) against
  "the backend found some" (n_chars > 0);
- images/s (wall) and CPU-seconds per image, and the projected time for every unique image of the
  corpus at that rate. This CPU is shared and its speed swings 2-3x: CPU-s/image is the steadier one.

Goals for the default backend: CER <= 0.10, presence F1 >= 0.95. Measured here (2 shared cores,
load ~15), RapidOCR on every unique image of `small` (1,895, `--n-images 0`): CER 0.046, presence
P 0.993 R 0.983 F1 0.988, 1.79 images/s, 0.17 CPU-s/image, 17.6 min. The default 120-image subset
varies more (CER 0.119, F1 0.967 at 256 px; 0.010 / 0.947 at 512 px): communiqués hold ~70 % of the
characters and a few are in 6-9 px type, barely legible at 256 px. Tesseract (psm 11): CER 0.353 /
F1 0.835 at 256 px, 0.103 / 0.870 at 512 px, 0.27-0.38 images/s.

    # small corpus, 120 images (~4 min on an idle 2-core CPU)
    .venv/bin/python benchmarks/bench_text.py
    .venv/bin/python benchmarks/bench_text.py --n-images 0        # every unique image (~1,900: long)
    .venv/bin/python benchmarks/bench_text.py --backends ocr --n-images 60
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import resource
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

import pandas as pd
from rapidfuzz.distance import Levenshtein

from visframe.data.synthetic import generate_corpus
from visframe.text import extract_texts, text_config
from visframe.text.backends import Tesseract
from visframe.text.extract import build_backend, worker_count
from visframe.utils.cache import default_cache_dir
from visframe.utils.hashing import image_id_from_file


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).casefold()).strip()


def load_corpus(preset: str, seed: int, image_size: int = 256) -> tuple[Path, list[dict]]:
    """The corpus's unique, decodable images (first file per image_id) with their truth."""
    # The folder `dataset=synthetic` uses (conf/dataset/synthetic.yaml's root), so a corpus the pipeline
    # generated is found here and not made twice.
    root = (
        default_cache_dir()
        / "corpora"
        / (f"synthetic-{preset}-seed{seed}" + (f"-{image_size}" if image_size != 256 else ""))
    )
    generate_corpus(root, preset=preset, seed=seed, image_size=image_size, show_progress=True)
    truth = {
        t["file"]: t for t in map(json.loads, (root / "truth.jsonl").read_text(encoding="utf-8").splitlines())
    }
    seen, images = set(), []
    for meta in map(json.loads, (root / "metadata.jsonl").read_text(encoding="utf-8").splitlines()):
        if truth[meta["file"]]["broken_kind"]:
            continue
        image_id = image_id_from_file(root / meta["file"])
        if image_id not in seen:
            seen.add(image_id)
            images.append({**meta, "image_id": image_id, "path": str(root / meta["file"])})
    return root, images


def subset(images: list[dict], n: int) -> list[dict]:
    """n evenly spaced images (genres in their corpus proportions); all when n <= 0."""
    if n <= 0 or n >= len(images):
        return images
    step = len(images) / n
    return [images[int(i * step)] for i in range(n)]


def score(images: list[dict], table) -> dict:
    found = dict(zip(table["image_id"], table["text"].fillna("")))
    edits = chars = edits_no_inv = chars_no_inv = 0
    tp = fp = fn = 0
    per_genre = defaultdict(lambda: [0, 0])
    for image in images:
        truth, got = normalise(image["rendered_text"]), normalise(found.get(image["image_id"], ""))
        has, says = bool(truth), bool(got)
        tp, fp, fn = tp + (has and says), fp + (says and not has), fn + (has and not says)
        if has:
            e = Levenshtein.distance(got, truth)
            edits, chars = edits + e, chars + len(truth)
            per_genre[image["label"]][0] += e
            per_genre[image["label"]][1] += len(truth)
            t2, g2 = truth.replace("¡", ""), got.replace("¡", "")
            edits_no_inv += Levenshtein.distance(g2, t2)
            chars_no_inv += len(t2)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    shares = {g: c / max(1, chars) for g, (_, c) in sorted(per_genre.items())}
    return {
        "cer": edits / max(1, chars),
        "char_share": shares,
        "cer_without_inverted_exclamation": edits_no_inv / max(1, chars_no_inv),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_positives": fp,
        "false_negatives": fn,
        "per_genre": {g: e / max(1, c) for g, (e, c) in sorted(per_genre.items())},
    }


def timed_read(cfg, images: list[dict]) -> dict:
    """Read `images` with `cfg` on a cold cache: wall and CPU seconds, the table, the load beside it."""
    load = _load()
    with tempfile.TemporaryDirectory(prefix="bench-text-") as cache:
        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
        result = extract_texts(
            [i["image_id"] for i in images], [i["path"] for i in images], cfg, cache, show_progress=True
        )
        wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    return {
        "wall": wall,
        "cpu": cpu,
        "table": result.table,
        "failed": result.texts_failed,
        "load": f"{load}→{_load()}",
    }


def figures_of(cfg, images: list[dict], reads: list[dict]) -> tuple[dict, object]:
    """Scores and speed of one setting over `images`, read in the parts `reads` (summed)."""
    table = pd.concat([r["table"] for r in reads], ignore_index=True)
    wall, cpu = sum(r["wall"] for r in reads), sum(r["cpu"] for r in reads)
    figures = score(images, table)
    workers = worker_count(build_backend(cfg))
    figures.update(
        images=len(images),
        seconds=wall,
        images_per_s=len(images) / wall,
        failed=sum(r["failed"] for r in reads),
        workers=workers,
        load=" ".join(r["load"] for r in reads),
        # A pool's workers are the forkserver's children, not ours: their CPU time is not counted.
        cpu_s_per_image=cpu / len(images) if workers == 1 else float("nan"),
    )
    return figures, table


def run_backend(name: str, images: list[dict], **overrides) -> tuple[dict, object]:
    """Read `images` on a cold cache with conf/text/<name>.yaml (plus overrides); figures and table."""
    cfg = text_config(name, **overrides)
    return figures_of(cfg, images, [timed_read(cfg, images)])


def run_side_by_side(
    name: str, images: list[dict], settings: dict[str, dict]
) -> dict[str, tuple[dict, object]]:
    """Each setting reads every image once, in two halves run in the order A B C, then C B A: the
    load of this shared machine drifts over minutes, and the mirrored order gives every setting the
    same share of the early and the late load (each half pays a pool's start-up, ~2 s, again)."""
    configs = {run: text_config(name, **overrides) for run, overrides in settings.items()}
    halves = [images[0::2], images[1::2]]
    reads: dict[str, list[dict]] = {run: [] for run in settings}
    for half, order in zip(halves, (list(settings), list(reversed(settings)))):
        for run in order:
            reads[run].append(timed_read(configs[run], half))
    return {run: figures_of(configs[run], halves[0] + halves[1], reads[run]) for run in settings}


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_headroom(n: int = 2_000_000) -> float:
    """How much sooner two processes finish two units of pure-Python work than one process does: ~2
    on an idle 2-core machine, ~1 when other sessions keep it busy. Linux's autogroup scheduler
    shares the CPU per session, not per process, so a pool's processes together get one session's
    share: a pool gains only from idle cores, and `pool_speedup` can be no larger than this."""
    import multiprocessing

    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        pool.map(_spin, [1000, 1000], chunksize=1)  # started and warm
        start = time.perf_counter()
        pool.map(_spin, [n, n], chunksize=1)
        two = time.perf_counter() - start
    start = time.perf_counter()
    _spin(n), _spin(n)
    return (time.perf_counter() - start) / two


def _load() -> str:
    """The 1-minute load average (this CPU is shared: speeds are read beside it)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _cpu_seconds() -> float:
    """This process's CPU time plus its finished children's (tesseract runs as a subprocess)."""
    return sum(
        u.ru_utime + u.ru_stime
        for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


# The ocr backend's runs, each on a cold cache: today's default, and the setting it replaced.
OCR_RUNS = {
    "before": {"recognition": "rapidocr", "workers": 1},  # rapidocr's own recognition, one process
    "one": {"workers": 1},  # the default recognition, one process
    "pool": {},  # the default: the default recognition in `workers: auto` processes
}


def report(name: str, figures: dict, table, images: list[dict], n_corpus: int, show_worst: int) -> None:
    projected = n_corpus / figures["images_per_s"]
    cpu = f"{figures['cpu_s_per_image']:.2f} CPU-s/image, " if figures["workers"] == 1 else ""
    print(
        f"\n{name}: CER {figures['cer']:.4f} "
        f"(without '¡': {figures['cer_without_inverted_exclamation']:.4f}); "
        f"presence P {figures['precision']:.3f} R {figures['recall']:.3f} F1 {figures['f1']:.3f} "
        f"(FP {figures['false_positives']}, FN {figures['false_negatives']}); {figures['images_per_s']:.2f} "
        f"images/s in {figures['workers']} process(es), {cpu}load {figures['load']}; "
        f"all {n_corpus} images ≈ {projected / 60:.1f} min; {figures['failed']} failed"
    )
    print(
        "  CER by genre (share of truth characters): "
        + ", ".join(f"{g} {c:.3f} ({figures['char_share'][g]:.0%})" for g, c in figures["per_genre"].items())
    )
    found = dict(zip(table["image_id"], table["text"].fillna("")))
    worst = sorted(
        images,
        key=lambda i: (
            -Levenshtein.distance(normalise(found.get(i["image_id"], "")), normalise(i["rendered_text"]))
        ),
    )
    for image in worst[:show_worst]:
        print(
            f"  worst {image['file']} ({image['label']}): truth {normalise(image['rendered_text'])[:70]!r}\n"
            f"        read  {normalise(found.get(image['image_id'], ''))[:70]!r}"
        )


def ocr_result_line(runs: dict, image_size: int, n_images: int) -> str:
    """The RESULT line's ocr part: the default's figures, and its speed against the runs beside it."""
    new = runs["pool"]
    line = (
        f"backend=ocr image_size={image_size} images={n_images} workers={new['workers']} "
        f"cer={new['cer']:.4f} "
        f"presence_precision={new['precision']:.3f} presence_recall={new['recall']:.3f} "
        f"presence_f1={new['f1']:.3f} images_per_s={new['images_per_s']:.2f} seconds={new['seconds']:.1f}"
    )
    if "before" in runs:
        before = runs["before"]
        line += (
            f" before_cer={before['cer']:.4f} before_presence_f1={before['f1']:.3f} "
            f"before_images_per_s={before['images_per_s']:.2f} "
            f"speed_ratio={before['seconds'] / new['seconds']:.2f}"
        )
    if "one" in runs:
        line += f" pool_speedup={runs['one']['seconds'] / new['seconds']:.2f}"
        if "before" in runs:
            cpu_ratio = runs["before"]["cpu_s_per_image"] / runs["one"]["cpu_s_per_image"]
            line += f" recognition_cpu_ratio={cpu_ratio:.2f}"
    return line + f" load={','.join(r['load'].replace(' ', '/') for r in runs.values())}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--n-images", type=int, default=120, help="evenly spaced subset; 0 = every unique image"
    )
    parser.add_argument("--backends", default="ocr,tesseract")
    parser.add_argument(
        "--ocr-runs",
        default="before,one,pool",
        help="which ocr runs: before (rapidocr's recognition, 1 process), one (1 process), "
        "pool (the default); the speed ratios need them side by side",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=256,
        help="corpus image width (the default corpus is 256 px; real posts are ~1080)",
    )
    parser.add_argument(
        "--show-worst", type=int, default=5, help="print the worst-read images of each backend"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    _, corpus = load_corpus(args.preset, args.seed, args.image_size)
    images = subset(corpus, args.n_images)
    with_text = sum(bool(normalise(i["rendered_text"])) for i in images)
    print(
        f"corpus {args.preset} seed {args.seed} ({args.image_size} px): {len(corpus)} unique decodable "
        f"images; scoring {len(images)} "
        f"({with_text} show text)"
    )
    ocr_runs, others, headroom = {}, {}, [float("nan"), float("nan")]
    for name in args.backends.split(","):
        if name == "tesseract" and not Tesseract.available("spa"):
            print("tesseract: not installed here (apt-get install tesseract-ocr tesseract-ocr-spa), skipped")
            continue
        if name != "ocr":
            others[name], table = run_backend(name, images)
            report(name, others[name], table, images, len(corpus), args.show_worst)
            continue
        wanted = [run for run in args.ocr_runs.split(",") if run]
        if "pool" not in wanted or set(wanted) - set(OCR_RUNS):
            parser.error(f"--ocr-runs must name pool and only {sorted(OCR_RUNS)}")
        settings = {run: overrides for run, overrides in OCR_RUNS.items() if run in wanted}
        headroom = [parallel_headroom()]
        side_by_side = run_side_by_side("ocr", images, settings)
        headroom.append(parallel_headroom())
        for run, (figures, table) in side_by_side.items():
            ocr_runs[run] = figures
            report(f"ocr ({run})", figures, table, images, len(corpus), args.show_worst)
        print(
            f"\nparallel headroom (2 processes vs 1 on pure-Python work) before/after: "
            f"{headroom[0]:.2f}/{headroom[1]:.2f}"
        )
    extra = " ".join(
        f"{n}_cer={f['cer']:.4f} {n}_presence_f1={f['f1']:.3f} {n}_images_per_s={f['images_per_s']:.2f}"
        for n, f in others.items()
    )
    if not ocr_runs:
        print(f"RESULT backend=none images={len(images)} {extra}".rstrip())
        return
    headroom_field = f" parallel_headroom={headroom[0]:.2f}/{headroom[1]:.2f}"
    print(
        f"RESULT {ocr_result_line(ocr_runs, args.image_size, len(images))}{headroom_field} {extra}".rstrip()
    )


if __name__ == "__main__":
    main()
