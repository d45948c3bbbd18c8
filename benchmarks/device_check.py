"""The GPU embedding loop, measured: is it input-bound, and does GPU JPEG decoding lift the bound?

    bash benchmarks/device_check.sh             # on a lent GPU machine: ~20,000 JPEGs, <= 8 minutes
    bash benchmarks/device_check.sh --dry-run   # anywhere: 48 images, CPU, to check the script runs

For ResNet50 and a CLIP ViT-B/32-sized model (random weights: same compute, no download), bf16:
1. the CPU-decode bound: images/s that `cores` processes decode + preprocess (the encoder's own
   transform) with no model at all, i.e. what any CPU-decoding loop can reach on this machine;
2. model-only images/s on one pre-decoded batch on the device;
3. end-to-end images/s through the real Lightning predict loop (`visframe.embed.embed_images`:
   DataLoader workers = cores, pinned memory, Parquet shards), and its ratios to 1. and 2.
   Goal: ResNet50 end-to-end >= 0.8 x the CPU-decode bound;
4. with `--gpu-decode` (default on a GPU): files read as bytes by the workers, decoded on the GPU
   by `torchvision.io.decode_jpeg(device="cuda")`, resized/cropped/normalised there: the loop
   beyond the CPU bound.
Ends with one line `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

_ENCODER = None


def make_folder(folder: Path, count: int, workers: int) -> list[str]:
    """`count` distinct 256x256 JPEGs, generated in parallel (reused when present)."""
    from bench_embed import make_images

    if workers > 1 and count > 512:
        import numpy as np

        bounds = np.linspace(0, count, workers + 1).astype(int)
        with ProcessPoolExecutor(workers) as pool:
            list(
                pool.map(_make_slice, [(str(folder), int(a), int(b)) for a, b in itertools.pairwise(bounds)])
            )
    return make_images(folder, count)


def _make_slice(args) -> None:
    """Generate images start..stop-1 exactly as bench_embed.make_images would."""
    from bench_embed import synthetic_image

    folder, start, stop = args
    Path(folder).mkdir(parents=True, exist_ok=True)
    for i in range(start, stop):
        path = Path(folder) / f"img_{i:05d}.jpg"
        if not path.exists():
            synthetic_image(i).save(path, quality=88)


def _init_decoder(name: str, scratch: str) -> None:
    global _ENCODER
    import torch

    torch.set_num_threads(1)
    from bench_embed import build_encoder

    _ENCODER = build_encoder(name, Path(scratch))


def _decode(path: str) -> int:
    from visframe.data.images import load_rgb

    return int(_ENCODER.preprocess(load_rgb(path)).numel())


def cpu_decode_bound(name: str, paths: list[str], workers: int, scratch: Path) -> float:
    """Images/s of decode + preprocess alone in `workers` processes (the loop's input ceiling)."""
    with ProcessPoolExecutor(workers, initializer=_init_decoder, initargs=(name, str(scratch))) as pool:
        list(pool.map(_decode, paths[: workers * 4], chunksize=4))  # start-up and imports
        started = time.perf_counter()
        list(pool.map(_decode, paths, chunksize=32))
        return len(paths) / (time.perf_counter() - started)


def model_only(encoder, pixels, device: str, repeats: int) -> float:
    import torch

    encoder.to(device)
    if encoder.prefers_channels_last:
        encoder.to(memory_format=torch.channels_last)
        pixels = pixels.contiguous(memory_format=torch.channels_last)
    pixels = pixels.to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.inference_mode(), torch.autocast(device_type=device, dtype=torch.bfloat16):
        encoder.encode_images(pixels)
        sync()
        started = time.perf_counter()
        for _ in range(repeats):
            encoder.encode_images(pixels)
        sync()
    return repeats * len(pixels) / (time.perf_counter() - started)


def end_to_end(encoder, paths, accelerator: str, batch: int, workers: int, cache: Path) -> float:
    from bench_embed import image_ids

    from visframe.embed import embed_images

    ids = image_ids(paths)
    trainer = {
        "accelerator": accelerator,
        "batch_size": batch,
        "num_workers": workers,
        "precision": "bf16-mixed",
        "enable_progress_bar": False,
    }
    embed_images(ids[:batch], paths[:batch], encoder, trainer, cache / "warm", show_progress=False)
    started = time.perf_counter()
    result = embed_images(ids, paths, encoder, trainer, cache / "run", show_progress=False)
    seconds = time.perf_counter() - started
    assert result.images_embedded == len(paths), result.images_embedded
    return len(paths) / seconds


class _Bytes:
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        from torchvision.io import read_file

        return read_file(self.paths[index])  # the raw JPEG bytes, as a uint8 tensor


def gpu_decode_loop(encoder, paths, batch: int, workers: int, size: int = 224) -> float:
    """Images/s with JPEG decoding on the GPU (torchvision.io.decode_jpeg(device='cuda')); resize
    and normalisation on the GPU too (ImageNet statistics: the cost, not the encoder's exact transform)."""
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    from torchvision.io import decode_jpeg

    mean = torch.tensor(getattr(encoder, "mean", (0.485, 0.456, 0.406)), device="cuda").view(1, 3, 1, 1)
    std = torch.tensor(getattr(encoder, "std", (0.229, 0.224, 0.225)), device="cuda").view(1, 3, 1, 1)
    loader = DataLoader(
        _Bytes(paths), batch_size=batch, num_workers=workers, collate_fn=list, pin_memory=False
    )
    encoder.to("cuda")
    count, started = 0, None
    with torch.inference_mode(), torch.autocast(device_type="cuda", dtype=torch.bfloat16):
        for step, data in enumerate(loader):
            if step == 1:
                torch.cuda.synchronize()
                started, count = time.perf_counter(), 0
            images = decode_jpeg(data, device="cuda")
            pixels = torch.stack(
                [
                    F.interpolate(
                        im[None].float(),
                        size=(size, size),
                        mode="bilinear",
                        antialias=True,
                        align_corners=False,
                    )[0]
                    for im in images
                ]
            )
            pixels = ((pixels / 255.0) - mean) / std
            if encoder.prefers_channels_last:
                pixels = pixels.contiguous(memory_format=torch.channels_last)
            encoder.encode_images(pixels)
            count += len(data)
        torch.cuda.synchronize()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--models", default="resnet50,clip_b32_random")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="decode workers (default: cores)"
    )
    parser.add_argument("--gpu-decode", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--images-dir", default=str(Path(tempfile.gettempdir()) / "visframe-device-images"))
    parser.add_argument(
        "--dry-run", action="store_true", help="48 images, batch 8, CPU: checks the script, measures nothing"
    )
    args = parser.parse_args()

    import torch

    device = "cuda" if torch.cuda.is_available() and not args.dry_run else "cpu"
    if args.dry_run:
        args.images, args.batch_size, args.workers = 48, 8, min(2, args.workers)
    accelerator = "gpu" if device == "cuda" else "cpu"
    gpu_decode = device == "cuda" and args.gpu_decode != "off"
    print(
        f"torch {torch.__version__}, device {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}, "
        f"{os.cpu_count()} CPUs, {args.workers} decode workers, batch {args.batch_size}, "
        f"{args.images} images",
        flush=True,
    )
    started = time.perf_counter()
    paths = make_folder(Path(args.images_dir), args.images, args.workers)
    print(f"[{time.perf_counter() - started:5.0f}s] {len(paths)} JPEGs ready", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="visframe-device-"))

    from bench_embed import build_encoder

    from visframe.data.images import load_rgb

    results = {}
    for name in args.models.split(","):
        encoder = build_encoder(name, scratch)
        short = "resnet50" if name == "resnet50" else "clip_b32"
        bound = cpu_decode_bound(name, paths[: max(len(paths) // 2, 16)], args.workers, scratch)
        pixels = torch.stack([encoder.preprocess(load_rgb(p)) for p in paths[: args.batch_size]])
        model = model_only(encoder, pixels, device, repeats=3 if args.dry_run else 20)
        e2e = end_to_end(encoder, paths, accelerator, args.batch_size, args.workers, scratch / name)
        line = (
            f"[{time.perf_counter() - started:5.0f}s] {name}: CPU-decode bound {bound:.0f} img/s, model-only "
            f"{model:.0f} img/s, end-to-end {e2e:.0f} img/s = {e2e / model:.2f} x model-only, "
            f"{e2e / bound:.2f} x the bound"
        )
        results |= {
            f"{short}_bound": bound,
            f"{short}_model": model,
            f"{short}_e2e": e2e,
            f"{short}_e2e_over_model": e2e / model,
            f"{short}_e2e_over_bound": e2e / bound,
        }
        if gpu_decode:
            gpu = gpu_decode_loop(encoder, paths, args.batch_size, args.workers)
            line += f"; GPU decode {gpu:.0f} img/s ({gpu / bound:.2f} x the CPU bound)"
            results[f"{short}_gpu_decode"] = gpu
        print(line, flush=True)
        del encoder
        if device == "cuda":
            torch.cuda.empty_cache()
    print(
        f"total {time.perf_counter() - started:.0f}s"
        + ("  (dry run: figures mean nothing)" if args.dry_run else "")
    )
    print("RESULT " + " ".join(f"{k}={v:.2f}" if "over" in k else f"{k}={v:.0f}" for k, v in results.items()))


if __name__ == "__main__":
    main()
