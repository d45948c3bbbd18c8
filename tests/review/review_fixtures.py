"""Test material for the review app: a fabricated run directory (30 images, clusters 0-2 + noise,
hostile text) and a TestClient "browser" with its own cookies and CSRF token."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from visframe import contracts
from visframe.review.store import sqlite_url
from visframe.utils.hashing import image_id_from_file
from visframe.utils.hashtags import hashtag_key

XSS_CAPTION = "Ni una menos <script>window.__xss = 1; alert(1)</script> fin"
XSS_HASHTAG = "<img src=x onerror=alert(1)>"
XSS_ACCOUNT = '"><b>bold</b>'
N_IMAGES = 30
# A database URL to run the store-backed tests against instead of a SQLite file (e.g. PostgreSQL).
EXTERNAL_DB = os.environ.get("VISFRAME_REVIEW_TEST_DB")
CLUSTERS = [0, 1, 2, -1]


def store_url(tmp_path: Path) -> str:
    return EXTERNAL_DB or sqlite_url(tmp_path / "review.db")


CLUSTER_NAMES = {0: "text-heavy · marcha, justicia · #8M", 1: "texto · comunicado", 2: "ilustración"}
# OCR text per image number (texts.parquet): image 3 says "Exigimos justicia" (found by /search).
OCR_TEXT = {3: "Exigimos JUSTICIA para todas", 7: "comunicado urgente"}


def make_run_dir(
    root: Path,
    n_images: int = N_IMAGES,
    sampling_sheet: bool = False,
    mlflow_run_id: str | None = None,
    describe: bool = True,
    soft_noise: bool = True,
    messages: bool = False,
) -> Path:
    """Write images + manifest + assignments (+ clusters and texts tables, + optional report files).

    `describe` writes clusters.parquet (names; noise unnamed) and texts.parquet as those stages do;
    `soft_noise` adds nearest_cluster / nearest_cluster_strength to the assignments; `messages` writes
    the messages stage's tables (messages, slogans; message_topics when `describe`) and the
    assignments' message_topic, as in MESSAGE_TOPIC_OF."""
    run_dir = root / "run"
    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "report").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    manifest_rows, assignment_rows = [], []
    base_time = pd.Timestamp("2024-03-08 12:00", tz="UTC")
    for k in range(n_images):
        cluster = CLUSTERS[k % len(CLUSTERS)]
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        image = Image.new("RGB", (64, 48), colour)
        draw = ImageDraw.Draw(image)
        draw.rectangle([4 + k % 20, 4, 30 + k % 20, 40], fill=(255 - colour[0], 128, colour[2]))
        draw.text((36, 16), str(k), fill=(0, 0, 0))
        path = images_dir / f"post_{k:03d}.{'png' if k % 2 else 'jpg'}"
        image.save(path)
        image_id = image_id_from_file(path)
        caption = XSS_CAPTION if k == 0 else f"caption {k} for cluster {cluster} #8M"
        hashtags = ["8M", "NiUnaMenos"] if cluster == 0 else [f"tema{cluster}"]
        if k == 0:
            hashtags = [*hashtags, XSS_HASHTAG]
        row = {
            "image_id": image_id,
            "path": str(path),
            "status": "ok",
            "reason": "",
            "label": f"theme{cluster}",
            "width": 64,
            "height": 48,
            "post_id": f"p{k:03d}",
            "account": XSS_ACCOUNT if k == 4 else f"cuenta_{k % 5}",
            "hashtags": hashtags,
            "hashtag_keys": [hashtag_key(t) for t in hashtags],
            "likes": int(10 * k),
            "caption": caption,
            "alt_text": f'alt "text" {k}',
            "posted_at": base_time + pd.Timedelta(hours=k),
            "carousel_index": 0,
            "reshare_group": image_id,
            "phash": f"{k:016x}",
            "file_size": path.stat().st_size,
        }
        manifest_rows.append(row)
        probability = 0.0 if cluster == -1 else round(1.0 - k / (2 * n_images), 4)
        assignment_rows.append(
            {
                "image_id": image_id,
                "path": str(path),
                "cluster": cluster,
                "probability": probability,
                "outlier_score": float(k) / n_images,
                "x": float(k),
                "y": float(-k),
                # noise: the nearest cluster, stronger for later images (queue order)
                "nearest_cluster": (k // 4) % 3 if cluster == -1 else cluster,
                "nearest_cluster_strength": round(k / n_images, 4) if cluster == -1 else 1.0,
            }
        )
    # A reshare: the same bytes posted by another account (same image_id, its own row).
    reshared = images_dir / "reshare_of_001.png"
    shutil.copyfile(manifest_rows[1]["path"], reshared)
    manifest_rows.append(
        {**manifest_rows[1], "path": str(reshared), "post_id": "p900", "account": "reposter"}
    )
    assignment_rows.append({**assignment_rows[1], "path": str(reshared), "probability": 0.5})
    # A broken download: in the manifest with a reason, never clustered, never served.
    broken = images_dir / "broken.jpg"
    broken.write_bytes(b"not an image")
    manifest_rows.append(
        {
            "image_id": image_id_from_file(broken),
            "path": str(broken),
            "status": "not_an_image",
            "reason": "cannot identify image",
            "label": None,
            "width": None,
            "height": None,
            "post_id": "p999",
            "account": "x",
            "hashtags": [],
            "hashtag_keys": [],
            "likes": 0,
            "caption": "",
            "alt_text": "",
            "posted_at": base_time,
            "carousel_index": 0,
            "reshare_group": None,
            "phash": None,
            "file_size": broken.stat().st_size,
        }
    )
    manifest = pd.DataFrame(manifest_rows)
    manifest["width"] = manifest["width"].astype("Int64")
    manifest["height"] = manifest["height"].astype("Int64")
    contracts.validate(contracts.MANIFEST, manifest)  # the fixture keeps the contract the ingest stage keeps
    manifest.to_parquet(run_dir / "manifest.parquet", index=False)
    assignments = pd.DataFrame(assignment_rows)
    if messages:
        _messages(run_dir, manifest_rows[:n_images], describe)
        topic_of = {
            row[contracts.IMAGE_ID]: MESSAGE_TOPIC_OF.get(k, contracts.NOISE)
            for k, row in enumerate(manifest_rows[:n_images])
        }
        assignments[contracts.MESSAGE_TOPIC] = assignments[contracts.IMAGE_ID].map(topic_of).astype("int64")
    if not soft_noise:
        assignments = assignments.drop(columns=["nearest_cluster", "nearest_cluster_strength"])
    contracts.validate(contracts.ASSIGNMENTS, assignments)
    assignments.to_parquet(run_dir / "assignments.parquet", index=False)
    if describe:
        _describe(run_dir, manifest_rows[:n_images])
    if sampling_sheet:
        sheet = pd.DataFrame(manifest_rows[:20]).assign(
            cluster=[a["cluster"] for a in assignment_rows[:20]],
            probability=[a["probability"] for a in assignment_rows[:20]],
            band=["top" if k < 10 else "bottom" for k in range(20)],
            thumbnail="",
            code="",
            memo="",
            coder="",
        )
        sheet["hashtags"] = [" ".join(tags) for tags in sheet["hashtags"]]
        # As the report writes it: `thumbnail` relative to report/. Row 1's is a pure red square.
        (run_dir / "report" / "thumbnails").mkdir()
        Image.new("RGB", (40, 40), (255, 0, 0)).save(
            run_dir / "report" / "thumbnails" / f"{sheet.image_id[1]}.jpg"
        )
        sheet.loc[1, "thumbnail"] = f"thumbnails/{sheet.image_id[1]}.jpg"
        sheet.loc[0, "thumbnail"] = "../../../etc/passwd"  # hostile: must be ignored, never read
        sheet.to_csv(run_dir / "report" / "sampling_sheet.csv", index=False)
    if mlflow_run_id:
        (run_dir / "mlflow_run_id.txt").write_text(mlflow_run_id + "\n")
    return run_dir


def _describe(run_dir: Path, rows: list[dict]) -> None:
    """clusters.parquet with two layers (only the chosen one is read) and texts.parquet."""
    clusters = [
        {
            "layer": layer,
            "cluster": c,
            "is_chosen_layer": layer == 1,
            "size": 1,
            "n_unique_images": 1,
            "name": CLUSTER_NAMES.get(c, "") if layer == 1 else f"fine {c}",
        }
        for layer in (0, 1)
        for c in CLUSTERS
    ]
    contracts.validate(contracts.CLUSTERS, pd.DataFrame(clusters)).to_parquet(
        run_dir / "clusters.parquet", index=False
    )
    texts = [
        {
            "image_id": row["image_id"],
            "text": OCR_TEXT.get(k, ""),
            "n_chars": len(OCR_TEXT.get(k, "")),
            "text_area_share": 0.1,
            "mean_confidence": 0.9,
            "text_status": "ok",
            "text_reason": "",
        }
        for k, row in enumerate(rows)
    ]
    contracts.validate(contracts.TEXTS, pd.DataFrame(texts)).to_parquet(
        run_dir / "texts.parquet", index=False
    )


# The messages stage's tables (make_run_dir(messages=True)): image number -> message topic for the
# images that carry text (-1: text in no topic); the others carry none. Topic 0 is on images of
# clusters 0 and 2, topic 1 on clusters 1 and -1, so a cluster page lists two topics.
MESSAGE_TOPIC_OF = {**{k: 0 for k in range(0, 20, 2)}, **{k: 1 for k in range(1, 24, 2)}, 20: -1, 22: -1}
MESSAGE_TOPIC_NAMES = {0: "justicia · exigimos", 1: "ni una menos · vivas"}
SLOGAN_TEXT = "ni una menos, vivas nos queremos"  # on the topic-1 images numbered 1, 5, 9, 13
SLOGAN_IMAGES = (1, 5, 9, 13)
XSS_SLOGAN = "<script>window.__xss = 2</script> basta"
XSS_SLOGAN_IMAGES = (3, 7)


def message_text(k: int) -> str:
    topic = MESSAGE_TOPIC_OF[k]
    if k in SLOGAN_IMAGES:
        return SLOGAN_TEXT.capitalize()
    if k in XSS_SLOGAN_IMAGES:
        return XSS_SLOGAN
    return {0: f"Exigimos justicia para ella {k}", 1: f"Vivas nos queremos {k}"}.get(
        topic, f"texto suelto {k}"
    )


def _messages(run_dir: Path, rows: list[dict], describe: bool) -> None:
    """messages.parquet, slogans.parquet and (with `describe`) message_topics.parquet, via the contracts."""
    C = contracts
    messages = pd.DataFrame(
        [
            {
                C.IMAGE_ID: rows[k][C.IMAGE_ID],
                C.MESSAGE_TEXT: message_text(k),
                C.MESSAGE_TOPIC: topic,
                C.MESSAGE_PROBABILITY: 0.0 if topic == C.NOISE else round(1.0 - k / 100, 3),
            }
            for k, topic in sorted(MESSAGE_TOPIC_OF.items())
            if k < len(rows)
        ]
    )
    C.validate(C.MESSAGES, messages).to_parquet(run_dir / C.MESSAGES_FILE, index=False)

    def slogan(text: str, numbers: tuple[int, ...], topic: int) -> dict:
        chosen = [rows[k] for k in numbers if k < len(rows)]
        return {
            C.SLOGAN: text,
            C.N_DESIGNS: len(chosen),
            C.N_UNIQUE_IMAGES: len(chosen),
            C.N_POSTS: len(chosen),
            C.N_ACCOUNTS: len({r[C.ACCOUNT] for r in chosen}),
            C.FIRST_ACCOUNT: chosen[0][C.ACCOUNT],
            C.FIRST_POSTED_AT: chosen[0][C.POSTED_AT],
            C.LAST_POSTED_AT: chosen[-1][C.POSTED_AT],
            C.MESSAGE_TOPIC: topic,
            C.IMAGE_IDS: [r[C.IMAGE_ID] for r in chosen],
        }

    slogans = pd.DataFrame([slogan(SLOGAN_TEXT, SLOGAN_IMAGES, 1), slogan(XSS_SLOGAN, XSS_SLOGAN_IMAGES, 1)])
    C.validate(C.SLOGANS, slogans).to_parquet(run_dir / C.SLOGANS_FILE, index=False)
    if not describe:
        return
    topics = []
    for topic in (0, 1, C.NOISE):
        numbers = [k for k, t in sorted(MESSAGE_TOPIC_OF.items()) if t == topic and k < len(rows)]
        chosen = [rows[k] for k in numbers]
        topics.append(
            {
                C.MESSAGE_TOPIC: topic,
                C.NAME: MESSAGE_TOPIC_NAMES.get(topic, ""),
                C.SIZE: len(chosen),
                C.N_UNIQUE_IMAGES: len(chosen),
                C.TOP_TERMS: MESSAGE_TOPIC_NAMES[topic].split(" · ") if topic in MESSAGE_TOPIC_NAMES else [],
                C.TOP_HASHTAGS: ["#8M"],
                C.TOP_ACCOUNTS: sorted({r[C.ACCOUNT] for r in chosen})[:3],
                C.MEDOID_IMAGE_ID: chosen[0][C.IMAGE_ID],
                C.FIRST_POSTED_AT: chosen[0][C.POSTED_AT],
                C.LAST_POSTED_AT: chosen[-1][C.POSTED_AT],
            }
        )
    C.validate(C.MESSAGE_TOPICS, pd.DataFrame(topics)).to_parquet(
        run_dir / C.MESSAGE_TOPICS_FILE, index=False
    )


def write_run_config(
    run_dir: Path, model: dict, cache_dir: Path, precision: str = "32", text_encoder: dict | None = None
) -> None:
    """The parts of the pipeline's config.yaml the review app reads back: model, cache, trainer
    (and `text_encoder` when given)."""
    from omegaconf import OmegaConf

    config = {
        "model": model,
        "paths": {"cache_dir": str(cache_dir)},
        "trainer": {"accelerator": "cpu", "precision": precision, "num_workers": 0},
    }
    if text_encoder is not None:
        config["text_encoder"] = text_encoder
    OmegaConf.save(OmegaConf.create(config), run_dir / contracts.CONFIG_FILE)


USEM3 = {"_target_": "visframe.text.encoders.UniversalSentenceEncoder", "threads": 1}


def write_message_vectors(run_dir: Path, texts: dict[int, str], encoder) -> list[str]:
    """message_vectors.parquet as the messages stage writes it: the text of image number k (the
    assignments' row k) encoded by `encoder`; returns those images' ids, in `texts` order."""
    from visframe.run_dir import RunDir
    from visframe.text.vectors import encoder_key, normalised_text

    ids = pd.read_parquet(run_dir / contracts.ASSIGNMENTS_FILE)[contracts.IMAGE_ID].tolist()
    chosen = [ids[k] for k in texts]
    vectors = encoder.encode([normalised_text(t) for t in texts.values()])
    RunDir(run_dir).write_message_vectors(chosen, vectors, encoder_key(encoder))
    return chosen


def tiny_clip_dir(folder: Path) -> Path:
    """A tiny randomly initialised CLIP (byte-level tokenizer, 24-d), saved like a downloaded model."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({s + "</w>": len(symbols) + i for i, s in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    eos, bos = vocab["<|endoftext|>"], vocab["<|startoftext|>"]
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 40,
            "bos_token_id": bos,
            "eos_token_id": eos,
            "pad_token_id": eos,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=24,
    )
    torch.manual_seed(0)
    CLIPModel(config).eval().save_pretrained(folder)
    CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=CLIPTokenizer(vocab=vocab, merges=[]),
    ).save_pretrained(folder)
    return folder


CSRF_VALUE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class Browser:
    """One coder's browser: its own cookie jar, its CSRF token, htmx-style saves."""

    def __init__(self, app, coder: str | None = None, base_url: str = "http://127.0.0.1"):
        self.client = TestClient(app, base_url=base_url, follow_redirects=False)
        self.csrf = self.fetch_csrf()
        if coder:
            response = self.post("/coder", {"name": coder})
            assert response.status_code == 303, response.text

    def fetch_csrf(self) -> str:
        page = self.client.get("/coder")
        assert page.status_code == 200, page.text
        match = CSRF_VALUE.search(page.text)
        assert match, "the page carries no CSRF token"
        return match.group(1)

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, **kwargs):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)

    def code(self, image_id: str, code_ids: list[int], memo: str = "", htmx: bool = True):
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf} if htmx else {}
        data = {"codes": [str(c) for c in code_ids], "memo": memo}
        if not htmx:
            data["csrf_token"] = self.csrf
        return self.client.post(f"/code/{image_id}", data=data, headers=headers)


# --- headless Chromium (Debian `chromium`, driven by Playwright) for the browser tests ----------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENS = Path(os.environ.get("VISFRAME_REVIEW_SCREENS", "/tmp/review_screens"))


def browser_marks(timeout_s: int) -> list:
    """pytestmark for a browser test module: the marker, a skip without Chromium, a time limit."""
    import pytest

    return [
        pytest.mark.browser,
        pytest.mark.skipif(
            not CHROMIUM.exists(),
            reason="needs Debian chromium at /usr/bin/chromium (apt-get install -y chromium)",
        ),
        pytest.mark.timeout(timeout_s),
    ]


def launch_chromium(extra_args: list[str]):
    """A generator for a module-scoped fixture: one Chromium for the module, closed at its end."""
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )
        yield browser
        browser.close()
