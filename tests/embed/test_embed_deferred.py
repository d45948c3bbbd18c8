"""A job whose images are all embedded reads their vectors without loading the model (or torch);
anything that changes the encoder's key, and new images, load it; missing weights still stop a job
before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from visframe import CONFIG_DIR
from visframe.embed import DeferredEncoder, MissingWeightsError, embed_images, load_encoder
from visframe.embed.deferred import encoder_identity

# An explicit CPU loop: the precision (part of the key) is then known without torch on any machine.
TRAINER = {"accelerator": "cpu", "num_workers": 0, "enable_progress_bar": False}


def tiny_cfg(**changes):
    cfg = OmegaConf.load(Path(CONFIG_DIR) / "model" / "tiny_random.yaml")
    cfg.update(changes)
    return cfg


def embed(ids, paths, encoder, cache):
    return embed_images(ids, paths, encoder, TRAINER, cache, show_progress=False)


def test_second_job_reads_cached_vectors_without_loading_the_model(image_folder, isolated_cache, monkeypatch):
    ids, paths = image_folder
    first_encoder = load_encoder(tiny_cfg(), TRAINER, isolated_cache)
    assert first_encoder.loaded, "nothing remembered yet: the model is loaded up front"
    first = embed(ids, paths, first_encoder, isolated_cache)
    assert first.images_embedded == len(ids)

    from visframe.embed.encoders import tiny

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded although every image is cached")

    monkeypatch.setattr(tiny.TinyRandomEncoder, "__init__", refuse)
    second_encoder = load_encoder(tiny_cfg(), TRAINER, isolated_cache)
    assert not second_encoder.loaded
    assert (second_encoder.name, second_encoder.dim, second_encoder.supports_text) == (
        "tiny_random",
        64,
        False,
    )
    second = embed(ids, paths, second_encoder, isolated_cache)
    assert (second.images_embedded, second.images_from_cache) == (0, len(ids))
    assert second.encoder_key == first.encoder_key and second.embeddings_dir == first.embeddings_dir
    np.testing.assert_array_equal(second.vectors, first.vectors)


def test_a_new_image_loads_the_model_and_embeds_only_it(image_folder, isolated_cache, tmp_path):
    ids, paths = image_folder
    embed(ids, paths, load_encoder(tiny_cfg(), TRAINER, isolated_cache), isolated_cache)
    extra = tmp_path / "extra.png"
    Image.new("RGB", (90, 70), (10, 200, 30)).save(extra)
    from visframe.utils.hashing import image_id_from_file

    deferred = load_encoder(tiny_cfg(), TRAINER, isolated_cache)
    assert not deferred.loaded
    result = embed([*ids, image_id_from_file(extra)], [*paths, str(extra)], deferred, isolated_cache)
    assert deferred.loaded and (result.images_embedded, result.images_from_cache) == (1, len(ids))


def test_what_changes_the_key_changes_the_identity(tmp_path):
    base = encoder_identity(tiny_cfg(), TRAINER)
    assert base is not None and base == encoder_identity(tiny_cfg(), TRAINER)
    assert encoder_identity(tiny_cfg(seed=1), TRAINER) != base
    assert encoder_identity(tiny_cfg(), {**TRAINER, "precision": "32"}) != encoder_identity(
        tiny_cfg(), {**TRAINER, "precision": "bf16-mixed"}
    )
    # A hub id can change under the same name: never remembered, always loaded.
    clip = OmegaConf.load(Path(CONFIG_DIR) / "model" / "clip_vit_b32.yaml")
    assert encoder_identity(clip, TRAINER) is None
    # A local weights file: replaced (new size/mtime) → another identity.
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x" * 10)
    cfg = OmegaConf.load(Path(CONFIG_DIR) / "model" / "efficientnet_lite0.yaml")
    cfg.weights = str(weights)
    before = encoder_identity(cfg, TRAINER)
    weights.write_bytes(b"y" * 11)
    assert encoder_identity(cfg, TRAINER) != before


def test_weights_removed_after_a_run_still_stop_the_next_job_up_front(image_folder, isolated_cache, tmp_path):
    import torch

    from visframe.embed.encoders.efficientnet_lite import EfficientNetLite0Encoder

    weights = tmp_path / "lite0.pth"
    torch.save(EfficientNetLite0Encoder(weights=None).net.state_dict(), weights)
    cfg = OmegaConf.load(Path(CONFIG_DIR) / "model" / "efficientnet_lite0.yaml")
    cfg.weights = str(weights)
    ids, paths = image_folder
    embed(ids[:4], paths[:4], load_encoder(cfg, TRAINER, isolated_cache), isolated_cache)
    assert not load_encoder(cfg, TRAINER, isolated_cache).loaded  # remembered while the file is there
    weights.unlink()
    with pytest.raises(Exception) as raised:
        load_encoder(cfg, TRAINER, isolated_cache)
    error = raised.value
    while not isinstance(error, MissingWeightsError) and error.__cause__ is not None:
        error = error.__cause__  # Hydra wraps the encoder's exception
    assert isinstance(error, MissingWeightsError)


def test_a_job_reading_cached_vectors_never_imports_torch(image_folder, isolated_cache):
    ids, paths = image_folder
    embed(ids, paths, load_encoder(tiny_cfg(), TRAINER, isolated_cache), isolated_cache)
    code = (
        "import sys, json\n"
        "from omegaconf import OmegaConf\n"
        "from visframe.embed import embed_images, load_encoder\n"
        f"cfg = OmegaConf.create({OmegaConf.to_container(tiny_cfg())!r})\n"
        f"encoder = load_encoder(cfg, {TRAINER!r}, {str(isolated_cache)!r})\n"
        f"result = embed_images({ids!r}, {paths!r}, encoder, {TRAINER!r}, {str(isolated_cache)!r}, "
        "show_progress=False)\n"
        "print(json.dumps([result.images_from_cache, 'torch' in sys.modules, 'lightning' in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == f"[{len(ids)}, false, false]"


def test_the_deferred_encoder_loads_for_anything_beyond_its_key(image_folder, isolated_cache):
    ids, paths = image_folder
    embed(ids[:3], paths[:3], load_encoder(tiny_cfg(), TRAINER, isolated_cache), isolated_cache)
    deferred = load_encoder(tiny_cfg(), TRAINER, isolated_cache)
    assert isinstance(deferred, DeferredEncoder) and not deferred.loaded
    assert deferred.cache_key  # not remembered: the model is loaded to answer
    assert deferred.loaded


def test_a_sweeps_later_jobs_reuse_the_loaded_vectors_until_a_shard_changes(
    image_folder, isolated_cache, monkeypatch
):
    from visframe.embed import embedding as E
    from visframe.session import Session

    ids, paths = image_folder
    first = embed(ids, paths, load_encoder(tiny_cfg(), TRAINER, isolated_cache), isolated_cache)
    session = Session()  # one process's sweep
    reads = []
    original = E.load_embeddings
    monkeypatch.setattr(E, "load_embeddings", lambda *a, **k: reads.append(1) or original(*a, **k))

    def job(image_ids, image_paths, session=session):
        encoder = load_encoder(tiny_cfg(), TRAINER, isolated_cache)
        return embed_images(
            image_ids, image_paths, encoder, TRAINER, isolated_cache, show_progress=False, session=session
        )

    for _ in range(3):  # three jobs of a sweep: one read
        np.testing.assert_array_equal(job(ids, paths).vectors, first.vectors)
    assert reads == [1]
    shard = min(Path(first.embeddings_dir).glob("*.parquet"))
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 1_000_000))  # replaced
    job(ids, paths)
    assert reads == [1, 1]
    assert job(ids[:2], paths[:2]).vectors.shape[0] == 2 and reads == [1, 1, 1]  # other images: read again
    job(ids, paths, session=None)  # without a session nothing is remembered
    assert reads == [1, 1, 1, 1]
