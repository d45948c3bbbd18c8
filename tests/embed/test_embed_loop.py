"""embed_images: the Lightning loop, the shard cache, rerun, resume, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from visframe.data.images import load_rgb
from visframe.embed import EmbeddingError, embed_images
from visframe.embed.cache import (
    EmbeddingCacheError,
    cached_image_ids,
    load_embeddings,
    shard_paths,
    write_shard,
)
from visframe.embed.encoders.tiny import TinyRandomEncoder
from visframe.embed.settings import resolve_settings

FP32 = {"precision": "32", "num_workers": 0, "batch_size": 5, "shard_rows": 7, "enable_progress_bar": False}


def direct(encoder, paths):
    """The reference: preprocess + encode each image outside Lightning."""
    pixels = torch.stack([encoder.preprocess(load_rgb(p, draft_size=encoder.decode_size)) for p in paths])
    return encoder.encode_images(pixels).float().numpy()


@pytest.fixture(scope="module")
def tiny():
    return TinyRandomEncoder(dim=64, image_size=48)


def test_vectors_shards_and_free_rerun(tiny, image_folder, tmp_path):
    ids, paths = image_folder
    result = embed_images(ids, paths, tiny, FP32, tmp_path, show_progress=False)
    assert result.image_ids == ids
    assert result.vectors.dtype == np.float32 and result.vectors.shape == (len(ids), 64)
    np.testing.assert_allclose(result.vectors, direct(tiny, paths), rtol=1e-5, atol=1e-6)
    assert (result.images_embedded, result.images_from_cache) == (len(ids), 0)
    assert result.embeddings_dir == tmp_path / "embeddings" / result.encoder_key
    assert result.encoder_key.startswith("tiny_random-")
    # The writer flushed a shard as soon as 7 rows were buffered (memory stays flat): batches of
    # 5 give shards of 10, 10, 4 rows, each one whole and typed.
    shards = shard_paths(result.embeddings_dir)
    assert [pq.read_metadata(s).num_rows for s in shards] == [10, 10, 4]
    schema = pq.read_schema(shards[0])
    assert schema.field("image_id").type == pa.string()
    assert schema.field("embedding").type == pa.list_(pa.float32(), 64)
    assert not list(result.embeddings_dir.glob(".tmp-*"))
    assert (result.embeddings_dir / "encoder.json").exists()

    again = embed_images(ids, paths, tiny, FP32, tmp_path, show_progress=False)
    assert (again.images_embedded, again.images_from_cache) == (0, len(ids))
    np.testing.assert_array_equal(again.vectors, result.vectors)
    assert shard_paths(result.embeddings_dir) == shards


def test_resume_embeds_only_the_rest_and_matches_uninterrupted(tiny, image_folder, tmp_path):
    ids, paths = image_folder
    half = len(ids) // 2
    uninterrupted = embed_images(ids, paths, tiny, FP32, tmp_path / "a", show_progress=False)
    first = embed_images(ids[:half], paths[:half], tiny, FP32, tmp_path / "b", show_progress=False)
    assert first.images_embedded == half
    resumed = embed_images(ids, paths, tiny, {**FP32, "batch_size": 3}, tmp_path / "b", show_progress=False)
    assert (resumed.images_embedded, resumed.images_from_cache) == (len(ids) - half, half)
    np.testing.assert_allclose(resumed.vectors, uninterrupted.vectors, rtol=1e-5, atol=1e-6)
    # No image is stored twice.
    stored = [
        i
        for shard in shard_paths(resumed.embeddings_dir)
        for i in pq.read_table(shard, columns=["image_id"])["image_id"].to_pylist()
    ]
    assert sorted(stored) == sorted(ids)


def test_subset_in_any_order_is_aligned(tiny, image_folder, tmp_path):
    ids, paths = image_folder
    full = embed_images(ids, paths, tiny, FP32, tmp_path, show_progress=False)
    order = np.random.default_rng(1).permutation(len(ids))[:10]
    subset = embed_images(
        [ids[i] for i in order], [paths[i] for i in order], tiny, FP32, tmp_path, show_progress=False
    )
    assert subset.images_embedded == 0
    np.testing.assert_array_equal(subset.vectors, full.vectors[order])


def test_duplicate_rows_across_shards_first_wins(tiny, image_folder, tmp_path):
    ids, paths = image_folder
    full = embed_images(ids, paths, tiny, FP32, tmp_path, show_progress=False)
    # What DDP padding or a racing second process would leave: a later shard repeating images.
    write_shard(full.embeddings_dir, ids[:4], np.full((4, 64), 99.0, dtype=np.float32), rank=1)
    assert cached_image_ids(full.embeddings_dir) == set(ids)
    np.testing.assert_array_equal(load_embeddings(full.embeddings_dir, ids, dim=64), full.vectors)
    with pytest.raises(EmbeddingCacheError, match="1 of 2 images have no vector"):
        load_embeddings(full.embeddings_dir, [ids[0], "0000000000000000"], dim=64)


def test_unreadable_file_is_named_and_the_rest_is_kept(tiny, image_folder, tmp_path):
    ids, paths = image_folder
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(Path(paths[0]).read_bytes()[:200])  # a download cut short
    all_ids, all_paths = ids + ["ffffffffffffffff"], paths + [str(broken)]
    with pytest.raises(EmbeddingError) as raised:
        embed_images(all_ids, all_paths, tiny, FP32, tmp_path / "cache", show_progress=False)
    assert str(broken) in str(raised.value) and "1 of 25 images could not be embedded" in str(raised.value)
    assert set(raised.value.failures) == {"ffffffffffffffff"}
    # Every good image was cached before the error: the rerun without the bad file embeds nothing.
    rerun = embed_images(ids, paths, tiny, FP32, tmp_path / "cache", show_progress=False)
    assert rerun.images_embedded == 0


def test_corrupt_shard_is_set_aside_and_reembedded(tiny, image_folder, tmp_path):
    ids, paths = image_folder
    full = embed_images(ids, paths, tiny, FP32, tmp_path, show_progress=False)
    victim = shard_paths(full.embeddings_dir)[0]
    lost = pq.read_table(victim, columns=["image_id"])["image_id"].to_pylist()
    victim.write_bytes(b"PAR1 not really parquet")
    rerun = embed_images(ids, paths, tiny, FP32, tmp_path, show_progress=False)
    assert rerun.images_embedded == len(lost)
    assert list(full.embeddings_dir.glob("corrupt-*"))
    np.testing.assert_allclose(rerun.vectors, full.vectors, rtol=1e-5, atol=1e-6)


def test_workers_bf16_channels_last(tiny, image_folder, tmp_path):
    ids, paths = image_folder
    fp32 = embed_images(ids, paths, tiny, FP32, tmp_path, show_progress=False)
    fast = {**FP32, "precision": "bf16-mixed", "num_workers": 1, "channels_last": True}
    bf16 = embed_images(ids, paths, tiny, fast, tmp_path, show_progress=False)
    assert bf16.encoder_key != fp32.encoder_key, "bf16 vectors are cached apart from fp32 ones"
    assert bf16.images_embedded == len(ids)
    cosine = (
        (bf16.vectors * fp32.vectors).sum(1)
        / np.linalg.norm(bf16.vectors, axis=1)
        / np.linalg.norm(fp32.vectors, axis=1)
    )
    assert cosine.min() > 0.99


def test_clip_through_the_loop_with_a_worker(tiny_clip_dir, image_folder, tmp_path):
    """The HF processor travels to a DataLoader worker and gives the same vectors as direct use."""
    from visframe.embed.encoders.hf_clip import CLIPEncoder

    ids, paths = image_folder
    clip = CLIPEncoder(weights=str(tiny_clip_dir))
    result = embed_images(ids, paths, clip, {**FP32, "num_workers": 1}, tmp_path, show_progress=False)
    np.testing.assert_allclose(result.vectors, direct(clip, paths), rtol=1e-4, atol=1e-5)
    assert result.encoder_key.startswith("clip_vit_b32-")


def test_bad_arguments(tmp_path):
    encoder = TinyRandomEncoder()
    empty = embed_images([], [], encoder, FP32, tmp_path)
    assert empty.vectors.shape == (0, 64) and empty.images_embedded == 0
    with pytest.raises(ValueError, match="unique image_ids"):
        embed_images(["a", "a"], ["x.jpg", "y.jpg"], encoder, FP32)
    with pytest.raises(ValueError, match="2 image_ids but 1 paths"):
        embed_images(["a", "b"], ["x.jpg"], encoder, FP32)
    with pytest.raises(ValueError, match="trainer.batchsize is not a setting"):
        embed_images(["a"], ["x.jpg"], encoder, {"batchsize": 4})


def test_settings_resolution():
    cpu = resolve_settings({"accelerator": "cpu", "precision": "32"}, prefers_channels_last=True)
    assert cpu.precision == "32-true" and not cpu.pin_memory and cpu.channels_last and cpu.n_devices == 1
    assert cpu.strategy == "auto" and cpu.num_workers >= 1
    assert resolve_settings({"accelerator": "cpu", "precision": "bf16"}, False).precision == "bf16-mixed"
    assert resolve_settings({"accelerator": "cpu", "devices": 2}, False).strategy == "ddp_spawn"
    assert resolve_settings({"accelerator": "cpu", "channels_last": False}, True).channels_last is False
    with pytest.raises(ValueError, match="trainer.precision='8'"):
        resolve_settings({"precision": "8"}, False)
