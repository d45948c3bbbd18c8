"""The Lightning predict loop: files → tensors → vectors → Parquet shards.

- `ImageFileDataset` decodes each file once (`visframe.data.images.load_rgb`) and applies the
  encoder's preprocessing; a file that fails is passed on marked as failed, never raised inside
  a worker, so one bad file can't lose the batch around it.
- `EncoderModule.predict_step` runs `encoder.encode_images` (Lightning handles device placement,
  autocast precision and inference mode).
- `ParquetShardWriter` (a `BasePredictionWriter`, write_interval="batch") buffers vectors and
  writes an atomic shard every `shard_rows` rows or `flush_seconds` seconds, on its own rank, so
  memory stays flat whatever the corpus size and a `kill -9` costs at most one buffer of work.
  `trainer.predict` is called with `return_predictions=False`: under DDP it would return only rank
  0's part anyway.

Under DDP, Lightning wraps the loader's sampler in a distributed sampler that splits the images
between ranks without dropping any (`drop_last=False`); samplers that pad by repeating images
would only create duplicates, which the cache reader drops (first shard wins).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from PIL import Image
from torch.utils.data import DataLoader, Dataset

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
            # Enough decoded batches queued that the model never waits on a slow file.
            prefetch_factor=4 if workers > 0 else None,
            persistent_workers=False,
        )


class EncoderModule(L.LightningModule):
    def __init__(self, encoder: Encoder, channels_last: bool):
        super().__init__()
        self.encoder = encoder
        self.channels_last = channels_last

    def on_predict_start(self) -> None:
        if self.channels_last:
            self.encoder.to(memory_format=torch.channels_last)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        pixels = batch["pixels"]
        if self.channels_last and pixels.dim() == 4:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        vectors = self.encoder.encode_images(pixels)
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


def run_predict_loop(
    encoder: Encoder,
    image_ids: Sequence[str],
    paths: Sequence[str],
    settings: LoopSettings,
    embeddings_dir: Path,
    show_progress: bool = True,
    loader: Callable[..., Image.Image] = default_loader,
) -> tuple[int, dict[str, str]]:
    """Embed the given images into shards under `embeddings_dir`.

    Returns this process's global rank and the files this process failed to read (image_id →
    error; empty in the parent of spawned DDP processes, whose writers live in the children).
    """
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
        trainer.predict(EncoderModule(encoder, settings.channels_last), datamodule=EmbeddingDataModule(dataset, settings), return_predictions=False)
    return trainer.global_rank, writer.failures
