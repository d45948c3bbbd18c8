"""The embedding loop's settings (`conf/trainer/*.yaml`), with `auto` resolved per device.

Defaults, measured on the development machine (2-core AMD EPYC with AVX512-BF16, batch 32; see
benchmarks/bench_embed.py): bf16 autocast + channels_last run ResNet50 at 31.7 img/s instead of
9.8 (fp32) and EfficientNet-Lite0 at 94 instead of 14, so `precision: auto` picks bf16-mixed
wherever the hardware does bf16 natively (AVX512-BF16/AMX CPUs, Ampere+ GPUs), 16-mixed on older
GPUs, and 32 otherwise. bf16 vectors agree with fp32 ones to cosine > 0.99 and are cached apart.
On an AVX2-only CPU (the same development VM in December 2026 reports no AVX512) autocast would
emulate bf16, about 3x slower than fp32, so `auto` runs fp32 there: EfficientNet-Lite0 then costs
about 100 CPU-ms per image (1 thread, batch 32, measured at load average 7-9) against ~2 ms to decode
and preprocess it: the model, not decoding, sets the loop's pace.
Decoding runs in a DataLoader worker: in the main process it cost about a third of end-to-end speed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

PRECISIONS = {
    "32": "32-true", "32-true": "32-true", "fp32": "32-true",
    "bf16": "bf16-mixed", "bf16-mixed": "bf16-mixed", "bf16-true": "bf16-true",
    "16": "16-mixed", "16-mixed": "16-mixed", "fp16": "16-mixed", "16-true": "16-true",
}  # fmt: skip

@lru_cache(maxsize=1)
def loop_defaults() -> dict[str, Any]:
    """The loop's defaults: conf/trainer/default.yaml is their one place (a trainer config given in
    code, e.g. by a test or a benchmark, needs to set only what it changes)."""
    from omegaconf import OmegaConf

    from visframe import CONFIG_DIR

    return dict(OmegaConf.to_container(OmegaConf.load(os.path.join(CONFIG_DIR, "trainer", "default.yaml"))))


@dataclass(frozen=True)
class LoopSettings:
    accelerator: str
    devices: Any
    strategy: str
    num_nodes: int
    precision: str
    batch_size: int
    num_workers: int
    pin_memory: bool
    channels_last: bool
    enable_progress_bar: bool
    shard_rows: int
    flush_seconds: float
    uses_gpu: bool
    n_devices: int


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: the CPUs where bf16 autocast is a large speed-up rather than a slowdown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = handle.read()
    except OSError:
        return False
    return any(flag in flags for flag in (" avx512_bf16", " amx_bf16"))


def _is_auto(value: Any) -> bool:
    return value is None or str(value).lower() == "auto"


def _uses_gpu(accelerator: str) -> bool:
    if accelerator in ("gpu", "cuda"):
        return True
    if accelerator != "auto":
        return False
    import torch  # the loop's own dependency; imported here so the settings' callers need not load it

    return torch.cuda.is_available()


# Device files a GPU driver creates (NVIDIA, AMD ROCm, WSL): without any of them torch finds no GPU.
_GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def known_precision(trainer_cfg: Mapping[str, Any] | None) -> str | None:
    """The precision `resolve_settings` picks, when it can be told without importing torch (a CPU
    run: `accelerator: cpu`, or `auto` on a machine with no GPU device file); else None."""
    raw = dict(loop_defaults())
    raw.update(dict(trainer_cfg or {}))
    accelerator = str(raw.get("accelerator", "auto")).lower()
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and any(os.path.exists(f) for f in _GPU_DEVICE_FILES)):
        return None
    try:
        return resolve_precision(raw.get("precision"), uses_gpu=False)
    except ValueError:
        return None


def _device_count(devices: Any, uses_gpu: bool) -> int:
    if isinstance(devices, (list, tuple)) or (hasattr(devices, "__len__") and not isinstance(devices, str)):
        return len(devices)
    if _is_auto(devices) or str(devices) == "-1":
        if not uses_gpu:
            return 1
        import torch

        return torch.cuda.device_count()
    text = str(devices)
    if "," in text:
        return len([d for d in text.split(",") if d.strip()])
    return int(text)


def resolve_precision(value: Any, uses_gpu: bool) -> str:
    if _is_auto(value):
        if uses_gpu:
            import torch

            return "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "16-mixed"
        return "bf16-mixed" if cpu_has_native_bf16() else "32-true"
    key = str(value).lower()
    if key not in PRECISIONS:
        raise ValueError(f"trainer.precision={value!r}; choose auto, 32, bf16-mixed or 16-mixed")
    return PRECISIONS[key]


def resolve_num_workers(value: Any, uses_gpu: bool, n_devices: int) -> int:
    if not _is_auto(value):
        return int(value)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if uses_gpu:
        # The GPU waits on decoding: give each device's loader most of its share of the cores.
        return max(1, min(8, cpus // max(1, n_devices) - 1))
    # On CPU the model and the decoders share the cores; one decoding worker overlaps decoding with
    # the model (measured best on 2 cores), more only pay off on machines with cores to spare.
    return 1 if cpus <= 4 else 2


def resolve_settings(trainer_cfg: Mapping[str, Any] | None, prefers_channels_last: bool) -> LoopSettings:
    """Merge the trainer config over the defaults and resolve every `auto`."""
    raw = dict(loop_defaults())
    if trainer_cfg is not None:
        for key, value in dict(trainer_cfg).items():
            if key not in raw:
                raise ValueError(f"trainer.{key} is not a setting of the embedding loop; known: {sorted(raw)}")
            raw[key] = value
    accelerator = str(raw["accelerator"]).lower()
    uses_gpu = _uses_gpu(accelerator)
    devices = raw["devices"]
    if hasattr(devices, "__iter__") and not isinstance(devices, str):
        devices = [int(d) for d in devices]
    n_devices = _device_count(devices, uses_gpu) * int(raw["num_nodes"])
    strategy = str(raw["strategy"])
    if strategy == "auto" and n_devices > 1:
        # Lightning's default multi-device strategy re-launches the whole command once per device,
        # which would re-run ingest in every process; spawning runs only the predict loop in them.
        strategy = "ddp_spawn"
    pin_memory = uses_gpu if _is_auto(raw["pin_memory"]) else bool(raw["pin_memory"])
    channels_last = prefers_channels_last if _is_auto(raw["channels_last"]) else bool(raw["channels_last"])
    batch_size = int(raw["batch_size"])
    if batch_size < 1:
        raise ValueError(f"trainer.batch_size={batch_size}; must be at least 1")
    return LoopSettings(
        accelerator=accelerator,
        devices="auto" if _is_auto(devices) else devices,
        strategy=strategy,
        num_nodes=int(raw["num_nodes"]),
        precision=resolve_precision(raw["precision"], uses_gpu),
        batch_size=batch_size,
        num_workers=resolve_num_workers(raw["num_workers"], uses_gpu, n_devices),
        pin_memory=pin_memory,
        channels_last=channels_last,
        enable_progress_bar=bool(raw["enable_progress_bar"]),
        shard_rows=max(1, int(raw["shard_rows"])),
        flush_seconds=float(raw["flush_seconds"]),
        uses_gpu=uses_gpu,
        n_devices=n_devices,
    )
