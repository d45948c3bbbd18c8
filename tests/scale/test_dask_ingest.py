"""scale=sample_fit: a large folder's ingest file checks run as Dask tasks, with the same facts."""

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from visframe import CONFIG_DIR
from visframe import contracts as C
from visframe.data.ingest import ingest_folder
from visframe.scale import DaskInspector, dask_inspector


def _folder(root, n=24):
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = rng.integers(0, 255, size=(48 + i, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"post_{i:03d}.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "empty.png").write_bytes(b"")
    return root


def _dask_cfg(**changes):
    cfg = OmegaConf.load(f"{CONFIG_DIR}/scale/sample_fit.yaml")
    return OmegaConf.merge(cfg.dask, {"n_workers": 2, "memory_limit": "1GB", **changes})


def test_only_sample_fit_checks_files_on_dask():
    assert dask_inspector(OmegaConf.load(f"{CONFIG_DIR}/scale/full.yaml")) is None
    assert isinstance(dask_inspector(OmegaConf.load(f"{CONFIG_DIR}/scale/sample_fit.yaml")), DaskInspector)


def test_a_small_folder_is_checked_here_without_starting_a_cluster(tmp_path, monkeypatch):
    import visframe.scale.dask_jobs as jobs

    def no_cluster(*_):
        raise AssertionError("a cluster was started for a small folder")

    monkeypatch.setattr(jobs, "dask_client", no_cluster)
    (tmp_path / "images").mkdir()
    folder = _folder(tmp_path / "images")
    manifest = ingest_folder(
        folder,
        cache_dir=tmp_path / "cache",
        show_progress=False,
        use_snapshot=False,
        inspector=DaskInspector(_dask_cfg(ingest_min_files=1000)),
    ).manifest
    assert (manifest[C.STATUS] == C.STATUS_OK).sum() == 24


@pytest.mark.slow
def test_file_checks_on_a_two_worker_local_cluster_give_the_same_manifest(tmp_path):
    (tmp_path / "images").mkdir()
    folder = _folder(tmp_path / "images")
    local = ingest_folder(
        folder, cache_dir=tmp_path / "cache-local", show_progress=False, use_snapshot=False
    ).manifest
    on_dask = ingest_folder(
        folder,
        cache_dir=tmp_path / "cache-dask",
        show_progress=False,
        use_snapshot=False,
        inspector=DaskInspector(_dask_cfg(ingest_min_files=1, ingest_batch_size=7)),
    ).manifest
    columns = [C.PATH, C.IMAGE_ID, C.STATUS, C.REASON]
    assert local[columns].equals(on_dask[columns])
    assert set(on_dask[C.STATUS]) >= {C.STATUS_OK} and (on_dask[C.STATUS] != C.STATUS_OK).sum() == 2
