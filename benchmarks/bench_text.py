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

    .venv/bin/python benchmarks/bench_text.py                     # small corpus, 120 images (~4 min on an idle 2-core CPU)
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

from rapidfuzz.distance import Levenshtein

from visframe.data.synthetic import generate_corpus
from visframe.text import extract_texts, text_config
from visframe.text.backends import Tesseract
from visframe.utils.cache import default_cache_dir
from visframe.utils.hashing import image_id_from_file


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).casefold()).strip()


def load_corpus(preset: str, seed: int, image_size: int = 256) -> tuple[Path, list[dict]]:
    """The corpus's unique, decodable images (first file per image_id) with their truth."""
    # The folder `dataset=synthetic` uses (conf/dataset/synthetic.yaml's root), so a corpus the pipeline
    # generated is found here and not made twice.
    root = default_cache_dir() / "corpora" / (f"synthetic-{preset}-seed{seed}" + (f"-{image_size}" if image_size != 256 else ""))
    generate_corpus(root, preset=preset, seed=seed, image_size=image_size, show_progress=True)
    truth = {t["file"]: t for t in map(json.loads, (root / "truth.jsonl").read_text(encoding="utf-8").splitlines())}
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
    return {"cer": edits / max(1, chars), "char_share": shares, "cer_without_inverted_exclamation": edits_no_inv / max(1, chars_no_inv),
            "precision": precision, "recall": recall, "f1": f1, "false_positives": fp, "false_negatives": fn,
            "per_genre": {g: e / max(1, c) for g, (e, c) in sorted(per_genre.items())}}


def run_backend(name: str, images: list[dict]) -> tuple[dict, object]:
    cfg = text_config(name)
    with tempfile.TemporaryDirectory(prefix="bench-text-") as cache:
        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
        result = extract_texts([i["image_id"] for i in images], [i["path"] for i in images], cfg, cache,
                               show_progress=True)
        wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    figures = score(images, result.table)
    figures.update(images=len(images), seconds=wall, images_per_s=len(images) / wall, cpu_s_per_image=cpu / len(images),
                   failed=result.texts_failed)
    return figures, result.table


def _cpu_seconds() -> float:
    """This process's CPU time plus its finished children's (tesseract runs as a subprocess)."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-images", type=int, default=120, help="evenly spaced subset; 0 = every unique image")
    parser.add_argument("--backends", default="ocr,tesseract")
    parser.add_argument("--image-size", type=int, default=256,
                        help="corpus image width (the default corpus is 256 px; real posts are ~1080)")
    parser.add_argument("--show-worst", type=int, default=5, help="print the worst-read images of each backend")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    _, corpus = load_corpus(args.preset, args.seed, args.image_size)
    images = subset(corpus, args.n_images)
    with_text = sum(bool(normalise(i["rendered_text"])) for i in images)
    print(f"corpus {args.preset} seed {args.seed} ({args.image_size} px): {len(corpus)} unique decodable images; scoring {len(images)} "
          f"({with_text} show text)")
    results = {}
    for name in args.backends.split(","):
        if name == "tesseract" and not Tesseract.available("spa"):
            print("tesseract: not installed here (apt-get install tesseract-ocr tesseract-ocr-spa), skipped")
            continue
        figures, table = run_backend(name, images)
        results[name] = figures
        projected = len(corpus) / figures["images_per_s"]
        print(f"\n{name}: CER {figures['cer']:.4f} (without '¡': {figures['cer_without_inverted_exclamation']:.4f}); "
              f"presence P {figures['precision']:.3f} R {figures['recall']:.3f} F1 {figures['f1']:.3f} "
              f"(FP {figures['false_positives']}, FN {figures['false_negatives']}); {figures['images_per_s']:.2f} "
              f"images/s, {figures['cpu_s_per_image']:.2f} CPU-s/image; all {len(corpus)} images ≈ {projected / 60:.1f} min; "
              f"{figures['failed']} failed")
        print("  CER by genre (share of truth characters): " + ", ".join(
            f"{g} {c:.3f} ({figures['char_share'][g]:.0%})" for g, c in figures["per_genre"].items()))
        found = dict(zip(table["image_id"], table["text"].fillna("")))
        worst = sorted(images, key=lambda i: -Levenshtein.distance(normalise(found.get(i["image_id"], "")),
                                                                   normalise(i["rendered_text"])))
        for image in worst[: args.show_worst]:
            print(f"  worst {image['file']} ({image['label']}): truth {normalise(image['rendered_text'])[:70]!r}\n"
                  f"        read  {normalise(found.get(image['image_id'], ''))[:70]!r}")
    extra = " ".join(f"{n}_cer={f['cer']:.4f} {n}_presence_f1={f['f1']:.3f} {n}_images_per_s={f['images_per_s']:.2f}"
                     for n, f in results.items() if n != "ocr")
    ocr = results.get("ocr")
    if ocr is None:
        print(f"RESULT backend=none images={len(images)} {extra}".rstrip())
        return
    print(f"RESULT backend=ocr image_size={args.image_size} images={len(images)} cer={ocr['cer']:.4f} presence_precision={ocr['precision']:.3f} "
          f"presence_recall={ocr['recall']:.3f} presence_f1={ocr['f1']:.3f} images_per_s={ocr['images_per_s']:.2f} "
          f"cpu_s_per_image={ocr['cpu_s_per_image']:.2f} {extra}".rstrip())


if __name__ == "__main__":
    main()
