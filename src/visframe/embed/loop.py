"""The Lightning predict loop: files → tensors → vectors → Parquet shards.

- `ImageFileDataset` decodes each file once (`visframe.data.images.load_rgb`) and applies the
  encoder's preprocessing; a file that fails is passed on marked as failed, never raised inside
  a worker, so one bad file can't lose the batch around it.
- `collate_images` stacks a batch in the worker in the layout the model runs on (channels_last for
  convolutional encoders), so the model's process receives it ready.
- `EncoderModule.predict_step` runs `encoder.encode_images` (Lightning handles device placement,
  autocast precision and inference mode) and adds up the seconds of the forward passes (on CPU).
- `ParquetShardWriter` (a `BasePredictionWriter`, write_interval="batch") buffers vectors and
  writes an atomic shard every `shard_rows` rows or `flush_seconds` seconds, on its own rank, so
  memory stays flat whatever the corpus size and a `kill -9` costs at most one buffer of work.
  `trainer.predict` is called with `return_predictions=False`: under DDP it would return only rank
  0's part anyway.
- `run_predict_loop` returns a `LoopRun`: rank, unreadable files, and the loop's wall time (the
  loop's own rate, which the embed stage reports beside its own: metrics.json, bench-paper).

Under DDP, Lightning wraps the loader's sampler in a distributed sampler that splits the images
between ranks without dropping any (`drop_last=False`); samplers that pad by repeating images
would only create duplicates, which the cache reader drops (first shard wins).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from PIL import Image
from torch.utils.data import DataLoader, Dataset, default_collate

from visframe import contracts as C
from visframe.embed.cache import write_shard
from visframe.embed.encoders.base import Encoder
from visframe.embed.settings import LoopSettings

log = logging.getLogger(__name__)


def default_loader(path: str, decode_size: int | None = None) -> Image.Image:
    from visframe.data.images import load_rgb

    return load_rgb(path, draft_size=decode_size)


class ImageFileDataset(Dataset):
    """(image_id, path) pairs → {"image_id", "pixels", "error"}; `error` is "" when the file decoded."""

    def __init__(
        self,
        image_ids: Sequence[str],
        paths: Sequence[str],
        transform: Callable[[Image.Image], torch.Tensor],
        decode_size: int | None = None,
        loader: Callable[..., Image.Image] = default_loader,
    ):
        if len(image_ids) != len(paths):
            raise ValueError(f"{len(image_ids)} image_ids but {len(paths)} paths")
        self.image_ids = [str(i) for i in image_ids]
        self.paths = [str(p) for p in paths]
        self.transform = transform
        self.decode_size = decode_size
        self.loader = loader
        # The shape a failed file's placeholder takes, so it can share a batch with good images.
        self.sample_shape = tuple(transform(Image.new("RGB", (256, 256))).shape)

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.paths[index]
        try:
            pixels = self.transform(self.loader(path, self.decode_size))
            error = ""
        except Exception as exc:  # noqa: BLE001 - recorded and reported by embed_images, never fatal here
            pixels = torch.zeros(self.sample_shape)
            error = f"{type(exc).__name__}: {exc}"
        return {C.IMAGE_ID: self.image_ids[index], "pixels": pixels, "error": error}


def collate_images(samples: list[dict[str, Any]], channels_last: bool) -> dict[str, Any]:
    """One batch: ids and errors as lists, the pixels stacked (in shared memory, in a worker).

    `channels_last`: stacked in (B, H, W, C) order and returned as the (B, C, H, W) view of it,
    which is the channels_last batch a convolutional encoder runs on. The transforms' outputs are
    channels-last views already (transforms.ResizeCropNormalize), so this is a plain copy in the
    worker, where the model's process would otherwise transpose every batch (19 MB at 32 × 224²)
    before the forward pass. Other layouts are stacked as they come (`default_collate`)."""
    batch = {C.IMAGE_ID: [s[C.IMAGE_ID] for s in samples], "error": [s["error"] for s in samples]}
    pixels = [s["pixels"] for s in samples]
    if channels_last and pixels[0].dim() == 3:
        batch["pixels"] = default_collate([p.permute(1, 2, 0) for p in pixels]).permute(0, 3, 1, 2)
    else:
        batch["pixels"] = default_collate(pixels)
    return batch


class EmbeddingDataModule(L.LightningDataModule):
    def __init__(self, dataset: ImageFileDataset, settings: LoopSettings):
        super().__init__()
        self.dataset = dataset
        self.settings = settings

    def predict_dataloader(self) -> DataLoader:
        workers = self.settings.num_workers
        return DataLoader(
            self.dataset,
            batch_size=self.settings.batch_size,
            shuffle=False,
            drop_last=False,
            num_workers=workers,
            pin_memory=self.settings.pin_memory,
            collate_fn=partial(collate_images, channels_last=self.settings.channels_last),
            # Enough decoded batches queued that the model never waits on a slow file.
            prefetch_factor=4 if workers > 0 else None,
            persistent_workers=False,
        )


class EncoderModule(L.LightningModule):
    def __init__(self, encoder: Encoder, channels_last: bool):
        super().__init__()
        self.encoder = encoder
        self.channels_last = channels_last
        # Seconds inside the model's forward passes (CPU only: on a GPU they return before the work
        # is done). Beside the loop's wall time it says how much of the loop is not the model.
        self.forward_seconds = 0.0

    def on_predict_start(self) -> None:
        if self.channels_last:
            self.encoder.to(memory_format=torch.channels_last)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        pixels = batch["pixels"]
        # The loader's batch is in this layout already (collate_images): then these are no-ops.
        if self.channels_last and pixels.dim() == 4:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        else:
            pixels = pixels.contiguous()
        started = time.perf_counter()
        vectors = self.encoder.encode_images(pixels)
        if vectors.device.type == "cpu":
            self.forward_seconds += time.perf_counter() - started
        return {C.IMAGE_ID: list(batch[C.IMAGE_ID]), "vectors": vectors, "error": list(batch["error"])}


class ParquetShardWriter(BasePredictionWriter):
    """Buffers each batch's vectors and writes atomic Parquet shards into `embeddings_dir`."""

    def __init__(self, embeddings_dir: str | Path, shard_rows: int = 1024, flush_seconds: float = 30.0):
        super().__init__(write_interval="batch")
        self.embeddings_dir = Path(embeddings_dir)
        self.shard_rows = int(shard_rows)
        self.flush_seconds = float(flush_seconds)
        self.rows_written = 0
        self.failures: dict[str, str] = {}
        self._ids: list[str] = []
        self._vectors: list[np.ndarray] = []
        self._last_flush = time.monotonic()

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx=0):
        vectors = prediction["vectors"].detach().float().cpu().numpy()
        keep = [row for row, error in enumerate(prediction["error"]) if not error]
        for row, error in enumerate(prediction["error"]):
            if error:
                self.failures[prediction[C.IMAGE_ID][row]] = error
        if keep:
            self._ids.extend(prediction[C.IMAGE_ID][row] for row in keep)
            self._vectors.append(vectors[keep] if len(keep) < len(vectors) else vectors)
        if len(self._ids) >= self.shard_rows or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush(trainer.global_rank)

    def on_predict_start(self, trainer, pl_module) -> None:
        # The flush clock starts with the loop, not with the writer (spawned ranks start later).
        self._last_flush = time.monotonic()

    def flush(self, rank: int) -> None:
        if self._ids:
            write_shard(self.embeddings_dir, self._ids, np.concatenate(self._vectors), rank=rank)
            self.rows_written += len(self._ids)
            self._ids, self._vectors = [], []
        self._last_flush = time.monotonic()

    def on_predict_epoch_end(self, trainer, pl_module) -> None:
        self.flush(trainer.global_rank)

    def on_predict_end(self, trainer, pl_module) -> None:
        self.flush(trainer.global_rank)
        # Every rank's last shard is on disk before any rank goes on to read the cache.
        trainer.strategy.barrier("visframe-embeddings-written")

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        # Ctrl-C or an error mid-run: the buffered vectors are complete, keep them.
        self.flush(trainer.global_rank)


def _quiet_lightning_info() -> None:
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


@dataclass(frozen=True)
class LoopRun:
    """What one predict loop did, as this process saw it."""

    rank: int  # this process's global rank
    failures: dict[str, str]  # image_id -> error, for the files this process could not read (empty
    #                           in the parent of spawned DDP processes: their writers live in the children)
    seconds: float  # wall time of `trainer.predict`: worker start, decoding, the model, the shard writes
    images: int  # images handed to the loop
    forward_seconds: float = 0.0  # of those, in the model's forward passes (CPU, this process; else 0)


def run_predict_loop(
    encoder: Encoder,
    image_ids: Sequence[str],
    paths: Sequence[str],
    settings: LoopSettings,
    embeddings_dir: Path,
    show_progress: bool = True,
    loader: Callable[..., Image.Image] = default_loader,
) -> LoopRun:
    """Embed the given images into shards under `embeddings_dir`."""
    if settings.n_devices == 1:
        # "GPU available: False …" and Lightning's product tips say nothing useful on a single
        # device (embed_images logs the settings in use); DDP's own start-up lines stay.
        _quiet_lightning_info()
    dataset = ImageFileDataset(image_ids, paths, encoder.transform, encoder.decode_size, loader)
    writer = ParquetShardWriter(embeddings_dir, settings.shard_rows, settings.flush_seconds)
    trainer = L.Trainer(
        accelerator=settings.accelerator,
        devices=settings.devices,
        strategy=settings.strategy,
        num_nodes=settings.num_nodes,
        precision=settings.precision,
        callbacks=[writer],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=bool(settings.enable_progress_bar and show_progress),
        inference_mode=True,
        default_root_dir=str(embeddings_dir),
    )
    with warnings.catch_warnings():
        # Lightning suggests more loader workers whenever there are fewer than CPUs; on CPU the
        # model needs those cores (see settings.resolve_num_workers).
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")  # Lightning vs torch 2.14
        module = EncoderModule(encoder, settings.channels_last)
        started = time.perf_counter()
        trainer.predict(module, datamodule=EmbeddingDataModule(dataset, settings), return_predictions=False)
    return LoopRun(trainer.global_rank, writer.failures, time.perf_counter() - started, len(dataset), module.forward_seconds)
