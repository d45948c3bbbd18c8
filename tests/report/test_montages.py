"""Montages: tile order follows probability, the picture shows the right images, thumbnails are cached."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from visframe.report import thumbnails as thumbnails_module
from visframe.report.montages import MontageLayout, render_montage, select_montage_samples
from visframe.report.posts import join_posts
from visframe.report.thumbnails import ThumbnailCache


def _posts(corpus) -> pd.DataFrame:
    return join_posts(corpus["manifest"], corpus["assignments"])


def test_samples_rank_by_probability_and_skip_reshared_copies(corpus):
    posts = _posts(corpus)
    samples = select_montage_samples(posts, [0, 1, 2, -1], top_k=10, unique_images=True, model="m")
    for cluster in (0, 1, 2):
        members = posts[posts["cluster"] == cluster]
        top = samples[(samples["cluster"] == cluster) & (samples["rank_kind"] == "top")].sort_values("rank")
        bottom = samples[(samples["cluster"] == cluster) & (samples["rank_kind"] == "bottom")].sort_values(
            "rank"
        )
        assert top["probability"].iloc[0] == members["probability"].max()
        assert top["probability"].is_monotonic_decreasing
        assert bottom["probability"].is_monotonic_increasing
        assert not set(top["image_id"]) & set(bottom["image_id"])
        assert top["image_id"].is_unique and bottom["image_id"].is_unique
    # cluster 0 holds a reshared copy of its best image at the lowest probability: shown once, on top
    cluster0 = samples[samples["cluster"] == 0]
    assert cluster0["image_id"].is_unique
    assert len(cluster0) == 20  # 23 unique images: 10 top + 10 bottom
    # cluster 2 has 12 images: 10 top, the other 2 at the bottom
    assert (samples[samples["cluster"] == 2]["rank_kind"] == "bottom").sum() == 2
    # noise (probability 0 everywhere) is ordered by outlier score: least outlying first
    noise_top = samples[(samples["cluster"] == -1) & (samples["rank_kind"] == "top")]
    assert noise_top["outlier_score"].is_monotonic_increasing
    assert set(samples.columns) >= {
        "model",
        "image_id",
        "path",
        "cluster",
        "probability",
        "outlier_score",
        "rank_kind",
        "rank",
    }


def test_first_tile_shows_the_highest_probability_image(corpus, tmp_path):
    posts = _posts(corpus)
    samples = select_montage_samples(posts, [1], top_k=10, unique_images=True, model="m")
    thumbs = ThumbnailCache(tmp_path / "cache", size=64)
    png = render_montage(samples, 1, 16, thumbs, columns=5, path=tmp_path / "m.png")
    montage = np.asarray(Image.open(png).convert("RGB"))
    best = posts[posts["cluster"] == 1].sort_values("probability", ascending=False).iloc[0]
    second = posts[posts["cluster"] == 1].sort_values("probability", ascending=False).iloc[1]
    layout = MontageLayout(64, 5, 10, len(samples) - 10)
    left, top, _, _ = layout.thumb_box("top", 0)
    expected = np.asarray(thumbs.open(best["image_id"], best["path"]))
    h, w = expected.shape[:2]
    x, y = left + (64 - w) // 2, top + (64 - h) // 2
    tile = montage[y : y + h, x : x + w]
    assert np.array_equal(tile, expected)
    other = np.asarray(thumbs.open(second["image_id"], second["path"]))
    assert other.shape != expected.shape or not np.array_equal(other, expected)


def test_thumbnails_are_cached_and_unreadable_files_become_placeholders(corpus, tmp_path, monkeypatch):
    calls = []
    real = thumbnails_module.load_rgb
    monkeypatch.setattr(
        thumbnails_module, "load_rgb", lambda path, **kw: calls.append(path) or real(path, **kw)
    )
    first = corpus["manifest"].iloc[0]
    cache = ThumbnailCache(tmp_path / "cache", size=48)
    made = cache.ensure(first["image_id"], first["path"])
    assert made == tmp_path / "cache" / "thumbnails" / f"{first['image_id']}_48.jpg"
    assert max(Image.open(made).size) == 48
    ThumbnailCache(tmp_path / "cache", size=48).ensure(first["image_id"], first["path"])
    assert len(calls) == 1  # the second cache object reused the file
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"<html>blocked</html>")
    image = cache.open("deadbeefdeadbeef", broken)
    assert image.size == (48, 48) and "deadbeefdeadbeef" in cache.unreadable
    assert not cache.path_for("deadbeefdeadbeef").exists()
