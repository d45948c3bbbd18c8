"""Benchmark: the describe stage + build_report on a paper-sized fake run (16,567 posts, ~100 clusters,
20% noise).

Run: make bench-report (or .venv/bin/python benchmarks/bench_report.py) [--rows 16567] [--clusters 100]
Every row is its own post and image_id, but the files are symlinks to 200 generated 640×480 JPEGs,
so each thumbnail still costs a real decode. Prints the describe stage's seconds (c-TF-IDF, lift,
zero-shot labels, medoids, timeline), then build_report's per-step seconds for a cold thumbnail
cache and a warm one (the second run of a sweep); ends with one RESULT line.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw


def make_run(root: Path, rows: int, clusters: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    base = []
    for i in range(200):
        image = Image.new("RGB", (640, 480), tuple(int(c) for c in rng.integers(0, 256, 3)))
        ImageDraw.Draw(image).ellipse(
            (i, i, 300 + i, 200 + i), fill=tuple(int(c) for c in rng.integers(0, 256, 3))
        )
        path = root / f"base_{i:03d}.jpg"
        image.save(path, quality=90)
        base.append(path)
    weights = 1.0 / np.arange(1, clusters + 1) ** 0.8
    labels = rng.choice(clusters, size=rows, p=weights / weights.sum())
    labels[rng.random(rows) < 0.2] = -1
    paths, ids = [], []
    for i in range(rows):
        link = root / f"post_{i:05d}.jpg"
        os.symlink(base[i % 200], link)
        paths.append(str(link))
        ids.append(f"{i:016x}")
    angle = labels * 2.399
    radius = np.sqrt(np.maximum(labels, 0) + 1) * 3
    accounts = [f"acct{int(a)}" for a in rng.zipf(1.6, rows) % 400]
    tags = ["NiUnaMenos", "8M", "25N", "JusticiaPara", "VivasNosQueremos", "arte", "marcha", "feminicidio"]
    manifest = pd.DataFrame(
        {
            "image_id": ids,
            "path": paths,
            "status": "ok",
            "reason": "",
            "label": None,
            "post_id": [f"p{i}" for i in range(rows)],
            "account": accounts,
            "hashtags": [list(rng.choice(tags, size=rng.integers(0, 4), replace=False)) for _ in range(rows)],
            "likes": rng.integers(0, 5000, rows),
            "caption": [f"caption {i} <b>bold?</b>" for i in range(rows)],
            "alt_text": "",
            "posted_at": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 10**7, rows), "s"),
        }
    )
    assignments = pd.DataFrame(
        {
            "image_id": ids,
            "path": paths,
            "cluster": labels,
            "probability": np.where(labels >= 0, rng.beta(5, 2, rows), 0.0),
            "outlier_score": rng.random(rows),
            "x": np.cos(angle) * radius
            + rng.normal(0, 0.8, rows)
            + np.where(labels < 0, rng.normal(0, 15, rows), 0),
            "y": np.sin(angle) * radius
            + rng.normal(0, 0.8, rows)
            + np.where(labels < 0, rng.normal(0, 15, rows), 0),
        }
    )
    return manifest, assignments


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=16567)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--keep", type=Path, default=None, help="write the run here (to look at it)")
    args = parser.parse_args()
    from visframe.describe import stage as describe_stage
    from visframe.report import build_report
    from visframe.run_dir import RunDir
    from visframe.stages import StageContext

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "images").mkdir()
        start = time.perf_counter()
        manifest, assignments = make_run(tmp / "images", args.rows, args.clusters)
        print(
            f"fake run: {len(assignments)} posts, {assignments['cluster'].nunique() - 1} clusters "
            f"(made in {time.perf_counter() - start:.1f} s)"
        )
        vectors = np.random.default_rng(1).normal(size=(len(assignments), 512)).astype(np.float32)
        seconds = {}
        for label in ("cold thumbnail cache", "warm thumbnail cache"):
            run_dir = args.keep if args.keep and label.startswith("warm") else tmp / f"run_{label[:4]}"
            run_dir.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            inputs = describe_stage.DescribeInputs(
                manifest, assignments, None, _Encoder(), vectors, list(assignments["image_id"])
            )
            described = describe_stage.run(inputs, None, StageContext())
            RunDir(run_dir).write_descriptions(described)
            seconds["describe_s"] = time.perf_counter() - start
            print(f"describe {seconds['describe_s']:.1f} s: {len(described.clusters)} clusters described")
            start = time.perf_counter()
            report = build_report(
                run_dir,
                {"seed": 1},
                manifest,
                assignments,
                {"silhouette": 0.4},
                cache_dir=tmp / "cache",
                show_progress=False,
                notes=described.notes,
            )
            total = time.perf_counter() - start
            seconds[f"report_{label[:4]}_s"] = total
            steps = ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items())
            html_mb = (run_dir / "report" / "report.html").stat().st_size / 1e6
            print(
                f"{label}: build_report {total:.1f} s for {len(report.files)} files "
                f"(report.html {html_mb:.1f} MB); {steps}"
            )
        print("RESULT " + " ".join(f"{k}={v:.1f}" for k, v in seconds.items()) + f" posts={len(assignments)}")


class _Encoder:
    name = "bench-clip"
    supports_text = True

    def encode_text(self, prompts):
        import torch

        return torch.randn(len(prompts), 512, generator=torch.Generator().manual_seed(0))


if __name__ == "__main__":
    main()
