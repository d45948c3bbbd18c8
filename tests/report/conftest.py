"""Fixtures for the report tests: ~60 generated images and a JSON-lines metadata file, ingested by the
real `ingest_folder` into the manifest; assignments by design (clusters 0, 1, 2 and noise), then the
real describe stage writes its tables into the run directory the report reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw
from report_helpers import SCRIPT_CAPTION, SCRIPT_TAG

from visframe.data.ingest import ingest_folder

# cluster -> number of posts; probabilities fall linearly inside each cluster, noise is all 0.
CLUSTER_SIZES = {0: 24, 1: 16, 2: 12, -1: 8}


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("VISFRAME_CACHE_DIR", str(cache))
    return cache


def _draw_image(index: int, path: Path) -> None:
    """A distinct picture per index: background colour, a stripe and a square at index-dependent places."""
    rng = np.random.default_rng(index)
    width, height = (96, 64) if index % 3 else (64, 96)
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((index % 40, 5, index % 40 + 20, 30), fill=tuple(255 - c for c in colour))
    draw.line((0, index % height, width, (index * 7) % height), fill=(0, 0, 0), width=3)
    image.save(path, format="PNG" if index % 2 else "JPEG", quality=95)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict:
    """Images on disk, the ingested manifest and the assignments of a small 3-cluster run (+ noise)."""
    root = tmp_path_factory.mktemp("corpus")
    images = root / "images"
    images.mkdir()
    records, assignment_rows = [], []
    index = 0
    rng = np.random.default_rng(7)
    centres = {0: (0.0, 0.0), 1: (8.0, 1.0), 2: (3.0, 7.0), -1: (4.0, 3.0)}
    accounts = {
        0: ["ana"] * 14 + ["bea"] * 6 + ["cam"] * 4,
        1: ["bea", "cam", "dan", "eva"] * 4,
        2: ["dan"] * 6 + ["eva"] * 6,
        -1: ["fer"] * 8,
    }
    first_of = {}
    for cluster, size in CLUSTER_SIZES.items():
        probabilities = np.zeros(size) if cluster == -1 else np.linspace(1.0, 0.2, size)
        order = rng.permutation(size)  # rows not sorted by probability: the report must sort
        for position in order:
            suffix = ".png" if index % 2 else ".jpg"
            path = images / f"img_{index:03d}{suffix}"
            if cluster == 0 and position == 23:
                # a reshare: same bytes as the cluster's most probable image, another account's post
                path = path.with_suffix(".jpg")
                shutil.copyfile(first_of[(0, 0)], path)
            else:
                _draw_image(index, path)
            first_of[(cluster, int(position))] = path
            tags = {0: ["NiUnaMenos", "8M"], 1: ["8M", "arte"], 2: ["25N", SCRIPT_TAG], -1: ["otro"]}[cluster]
            records.append(
                {
                    "file": path.name,
                    "label": f"theme{cluster}",
                    "post_id": f"p{index:03d}",
                    "account": accounts[cluster][position],
                    "hashtags": tags[: 1 + position % 2],
                    "likes": int(position * 3),
                    # the most probable post of cluster 1 (a montage's first tile) carries markup
                    "caption": SCRIPT_CAPTION if (cluster, position) == (1, 0) else f"caption {index}",
                    "alt_text": f"alt {index}",
                    "posted_at": (
                        pd.Timestamp("2024-03-08", tz="UTC") + pd.Timedelta(hours=index)
                    ).isoformat(),
                }
            )
            cx, cy = centres[cluster]
            spread = 3.0 if cluster == -1 else 0.6
            assignment_rows.append(
                {
                    "path": str(path),
                    "cluster": cluster,
                    "probability": float(probabilities[position]),
                    "outlier_score": float(rng.uniform(0, 1)),
                    "x": cx + rng.normal(0, spread),
                    "y": cy + rng.normal(0, spread),
                }
            )
            index += 1
    # one blocked download (an HTML page saved as .jpg): in the manifest, never clustered
    (images / "zz_broken.jpg").write_bytes(b"<html>blocked</html>")
    records.append({"file": "zz_broken.jpg", "post_id": "pX", "account": "zz"})
    metadata = root / "posts.jsonl"
    metadata.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    manifest = ingest_folder(
        images, metadata=metadata, show_progress=False, workers=1, cache_dir=root / "cache"
    ).manifest
    ids = dict(zip(manifest["path"], manifest["image_id"]))
    assignments = pd.DataFrame(assignment_rows)
    assignments.insert(0, "image_id", assignments["path"].map(ids))
    return {"root": images, "manifest": manifest, "assignments": assignments}
