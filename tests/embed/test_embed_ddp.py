"""DDP predict on CPU: two processes (gloo), each rank writes its own shards, results unchanged."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from visframe.embed import embed_images
from visframe.embed.encoders.tiny import TinyRandomEncoder


@pytest.mark.slow
def test_ddp_spawn_two_cpu_processes(image_folder, tmp_path):
    ids, paths = image_folder
    ids, paths = ids[:23], paths[:23]  # odd count: one rank gets one image more, none is dropped
    encoder = TinyRandomEncoder(dim=64, image_size=48)
    base = {"precision": "32", "num_workers": 0, "batch_size": 4, "enable_progress_bar": False}
    single = embed_images(
        ids, paths, encoder, {**base, "accelerator": "cpu"}, tmp_path / "single", show_progress=False
    )
    ddp = embed_images(
        ids,
        paths,
        encoder,
        {**base, "accelerator": "cpu", "devices": 2, "strategy": "ddp_spawn"},
        tmp_path / "ddp",
        show_progress=False,
    )
    assert ddp.encoder_key == single.encoder_key
    assert ddp.images_embedded == len(ids)
    np.testing.assert_allclose(ddp.vectors, single.vectors, rtol=1e-5, atol=1e-6)
    rows_per_rank: dict[str, int] = {}
    for shard in ddp.embeddings_dir.glob("part-*.parquet"):
        rank = shard.name.split("-rank")[1].split("-")[0]
        rows_per_rank[rank] = rows_per_rank.get(rank, 0) + pq.read_metadata(shard).num_rows
    assert set(rows_per_rank) == {"0", "1"}, "each rank writes its own shards"
    assert sorted(rows_per_rank.values()) == [11, 12], "the images are split, none dropped or repeated"
