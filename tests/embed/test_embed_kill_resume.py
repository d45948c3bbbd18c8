"""A real `kill -9` in the middle of embedding, then a rerun: nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from visframe.embed import embed_images
from visframe.embed.cache import cached_image_ids
from visframe.embed.encoders.tiny import TinyRandomEncoder

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_kill_9_then_resume(image_folder, tmp_path):
    from embed_kill_child import SETTINGS

    ids, paths = image_folder
    listing = tmp_path / "images.json"
    listing.write_text(json.dumps([ids, paths]))
    cache = tmp_path / "cache"
    child = subprocess.Popen(
        [sys.executable, str(HERE / "embed_kill_child.py"), str(listing), str(cache)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if len(list(cache.glob("embeddings/*/part-*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    assert child.poll() is None, f"the child ended before it could be killed:\n{child.stdout.read().decode()}"
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL

    (embeddings_dir,) = list((cache / "embeddings").iterdir())
    survived = cached_image_ids(embeddings_dir)  # every shard on disk is whole and readable
    assert 4 <= len(survived) < len(ids)

    encoder = TinyRandomEncoder(dim=64, image_size=48)
    resumed = embed_images(ids, paths, encoder, SETTINGS, cache, show_progress=False)
    assert resumed.embeddings_dir == embeddings_dir, "the killed run and the rerun share one cache key"
    assert (resumed.images_embedded, resumed.images_from_cache) == (len(ids) - len(survived), len(survived))
    stored = [
        i
        for shard in sorted(embeddings_dir.glob("part-*.parquet"))
        for i in pq.read_table(shard)["image_id"].to_pylist()
    ]
    assert sorted(stored) == sorted(ids), "no image lost, none stored twice"

    uninterrupted = embed_images(ids, paths, encoder, SETTINGS, tmp_path / "clean", show_progress=False)
    np.testing.assert_allclose(resumed.vectors, uninterrupted.vectors, rtol=1e-5, atol=1e-6)
