"""A tiny run for the describe tests, made by the real ingest stage: images + a metadata CSV →
`ingest_folder` → manifest; assignments by design (the clusters are what the test knows), with two
layers; texts.parquet rows as the text stage writes them (checked against contracts.TEXTS)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from visframe import contracts as C
from visframe.data.ingest import ingest_folder

# cluster -> (posts, accounts cycle, hashtags, caption words, OCR text or "")
DESIGN = {
    0: (
        12,
        ["ana", "ana", "bea"],
        ["NiUnaMenos", "Feminicidio"],
        "comunicado exigimos justicia",
        "COMUNICADO exigimos justicia ya",
    ),
    1: (10, ["cam", "dan"], ["NiUnaMenos", "arte"], "dibujo ilustración mural", ""),
    2: (8, ["eva"], ["NiUnaMenos", "25N"], "marcha calle gritos", "#25N marcha"),
    -1: (6, ["fer", "gil", "hug"], ["NiUnaMenos"], "hola", ""),
}
# the coarse layer (1) merges clusters 1 and 2 into 10; noise stays noise
COARSE = {0: 0, 1: 10, 2: 10, -1: -1}
START = pd.Timestamp("2024-03-01", tz="UTC")


def _draw(index: int, path: Path) -> None:
    rng = np.random.default_rng(index)
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    image = Image.new("RGB", (80, 64), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((index % 40, 4, index % 40 + 24, 40), fill=tuple(255 - c for c in colour))
    draw.line((0, index % 64, 80, (index * 7) % 64), fill=(0, 0, 0), width=3)
    image.save(path, format="PNG")


def make_run(root: Path) -> dict:
    """{'manifest', 'assignments', 'texts', 'root'}: 36 posts, cluster 0's last post a reshare."""
    images = root / "images"
    images.mkdir(parents=True)
    rows, truth, index = [], [], 0
    for cluster, (size, accounts, tags, words, ocr) in DESIGN.items():
        for position in range(size):
            name = f"c{cluster}_{position:02d}.png"
            if cluster == 0 and position == size - 1:
                shutil.copyfile(images / "c0_00.png", images / name)  # a reshare of the first post
            else:
                _draw(index, images / name)
            rows.append(
                {
                    "file": name,
                    "account": accounts[position % len(accounts)],
                    "hashtags": " ".join(f"#{t}" for t in tags),
                    "caption": f"{words} foto{index}",
                    "alt_text": "",
                    # cluster 2 posts all fall in the week of 25 November; others spread over March
                    "posted_at": (
                        pd.Timestamp("2024-11-25T12:00", tz="UTC")
                        if cluster == 2
                        else START + pd.Timedelta(days=2 * position)
                    ).isoformat(),
                }
            )
            truth.append((name, cluster, 1.0 - position / (2 * size) if cluster != -1 else 0.0, ocr))
            index += 1
    with open(root / "posts.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    manifest = ingest_folder(
        images, metadata=root / "posts.csv", show_progress=False, workers=1, cache_dir=root / "cache"
    ).manifest
    by_name = {Path(p).name: i for i, p in enumerate(manifest[C.PATH])}
    assignments = pd.DataFrame(
        {
            C.IMAGE_ID: [manifest[C.IMAGE_ID].iloc[by_name[n]] for n, *_ in truth],
            C.PATH: [manifest[C.PATH].iloc[by_name[n]] for n, *_ in truth],
            C.CLUSTER: np.array([k for _, k, _, _ in truth], dtype="int64"),
            C.PROBABILITY: [p for *_, p, _ in truth],
            C.OUTLIER_SCORE: np.linspace(0, 1, len(truth)),
            C.X: 0.0,
            C.Y: 0.0,
        }
    )
    assignments[C.layer_column(0)] = assignments[C.CLUSTER]
    assignments[C.layer_column(1)] = assignments[C.CLUSTER].map(COARSE).astype("int64")
    ocr_by_id = dict(zip(assignments[C.IMAGE_ID], [t for *_, t in truth]))
    texts = pd.DataFrame(
        {
            C.IMAGE_ID: list(ocr_by_id),
            C.TEXT: list(ocr_by_id.values()),
            C.N_CHARS: [len(t) for t in ocr_by_id.values()],
            C.TEXT_AREA_SHARE: [0.4 if t else 0.0 for t in ocr_by_id.values()],
            C.MEAN_CONFIDENCE: [0.9 if t else np.nan for t in ocr_by_id.values()],
            C.TEXT_STATUS: C.TEXT_OK,
            C.TEXT_REASON: "",
        }
    )
    C.validate(C.TEXTS, texts)
    return {"manifest": manifest, "assignments": assignments, "texts": texts, "root": root}


# --- encoders whose zero-shot answers are known -------------------------------------------------
PROMPTS = ["a photo of a protest", "an image of solidarity", "a selfie", "an image with text in Spanish"]


class FakeTextEncoder:
    """An image-text encoder whose text embedding of prompt i is the unit vector e_i (dim 8)."""

    name = "fake-clip"
    supports_text = True
    dim = 8

    def encode_text(self, prompts: list[str]):
        import torch

        out = torch.zeros(len(prompts), self.dim)
        for i in range(len(prompts)):
            out[i, i] = 1.0
        return out


class ImageOnlyEncoder:
    name = "fake-resnet"
    supports_text = False
    dim = 8


def fake_vectors(image_ids: list[str]) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """Vectors whose top prompt is known: image j points mostly at prompt j % len(PROMPTS)."""
    ids = list(dict.fromkeys(image_ids))
    rng = np.random.default_rng(3)
    vectors = rng.uniform(0, 0.2, size=(len(ids), FakeTextEncoder.dim)).astype(np.float32)
    expected = {}
    for j, image_id in enumerate(ids):
        vectors[j, j % len(PROMPTS)] = 1.0 + j  # scale must not matter: cosine similarity
        expected[image_id] = PROMPTS[j % len(PROMPTS)]
    return vectors, ids, expected
