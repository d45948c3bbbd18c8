"""Benchmark of the embedding stage (`make bench-embed`): is the loop ever input-bound, is a rerun
free, does memory stay flat?

For efficientnet_lite0 (its real weights) and resnet50 (random weights: same compute) it prints:

1. model-only images/s on pre-decoded tensors, fp32 vs bf16-mixed + channels_last (the defaults
   are chosen from this), batch 32;
2. end-to-end images/s from JPEG files through `embed_images` (Lightning loop, decoding in a
   worker, Parquet shards) with the default trainer settings, and its ratio to model-only measured
   with the same settings on as many images right before and right after it (goal >= 0.85);
3. peak RSS (VmHWM of a fresh process, and of its decoding worker) for 2,000 vs 16,567 images, and each run's time with a
   full cache against the first run (goals: flat RSS, rerun < 10 %).

This CPU's speed swings 2-3x from minute to minute (and other jobs share it), so every ratio is
measured inside one run, interleaved, repeated, and reported as a median.

    .venv/bin/python benchmarks/bench_embed.py                      # the full set (~10-15 min on 2 cores)
    .venv/bin/python benchmarks/bench_embed.py --rss-sizes 500,2000  # quicker
    .venv/bin/python benchmarks/bench_embed.py --accelerator gpu --models resnet50,clip_b32_random \
        --rss-sizes 16567 --batch-size 256                          # the GPU check
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

PAPER_SIZE = 16_567
ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------- the images


def make_images(folder: Path, count: int, size: int = 256) -> list[str]:
    """`count` distinct 256×256 JPEGs (noise + shapes), generated once and reused."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"img_{i:05d}.jpg" for i in range(count)]
    missing = [i for i, p in enumerate(paths) if not p.exists()]
    if missing:
        print(f"generating {len(missing)} JPEGs in {folder} …", flush=True)
    for i in missing:
        synthetic_image(i, size).save(paths[i], quality=88)
    return [str(p) for p in paths]


def synthetic_image(i: int, size: int = 256):
    """Image number `i`: seeded noise + three shapes (the same pixels in every process)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(i)
    noise = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
    image = Image.fromarray(noise).resize((size, size), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(10, size // 3))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x - r, y - r, x + r, y + r), fill=colour)
    return image


def image_ids(paths: list[str]) -> list[str]:
    from visframe.utils.hashing import image_id_from_file

    return [image_id_from_file(p) for p in paths]


# ----------------------------------------------------------------------------------- encoders


def build_encoder(name: str, scratch: Path):
    if name == "efficientnet_lite0":
        from visframe.embed.encoders.efficientnet_lite import EfficientNetLite0Encoder

        return EfficientNetLite0Encoder()
    if name == "resnet50":
        from visframe.embed.encoders.torchvision_models import TorchvisionEncoder

        return TorchvisionEncoder("resnet50", weights=None, name="resnet50")
    if name == "clip_b32_random":  # CLIP ViT-B/32-sized, random weights (transformers' default config)
        import torch
        from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

        from visframe.embed.encoders.hf_clip import CLIPEncoder

        folder = scratch / "clip_b32_random"
        if not (folder / "config.json").exists():
            torch.manual_seed(0)
            CLIPModel(CLIPConfig(projection_dim=512)).save_pretrained(folder)
            CLIPImageProcessor().save_pretrained(folder)
        return CLIPEncoder(weights=str(folder), name="clip_b32_random")
    raise SystemExit(f"unknown model {name!r}")


# ----------------------------------------------------------------------------------- measurements


def model_only(encoder, pixels, precision: str, channels_last: bool, device: str, batches: int) -> float:
    """Images/s of `encode_images` alone on one pre-decoded batch, run `batches` times (total time:
    as long a stretch as the end-to-end run it is compared with, so both see the same load)."""
    import torch

    encoder.to(device)
    if channels_last:
        encoder.to(memory_format=torch.channels_last)
        pixels = pixels.contiguous(memory_format=torch.channels_last)
    else:
        encoder.to(memory_format=torch.contiguous_format)
        pixels = pixels.contiguous()
    pixels = pixels.to(device)
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
    autocast = torch.autocast(device_type=device, dtype=dtype) if dtype else nullcontext()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.inference_mode(), autocast:
        encoder.encode_images(pixels)  # warm-up (oneDNN / cuDNN kernel selection)
        sync()
        start = time.perf_counter()
        for _ in range(batches):
            encoder.encode_images(pixels)
        sync()
        return batches * len(pixels) / (time.perf_counter() - start)


def end_to_end(encoder, ids, paths, trainer_cfg, cache_dir) -> tuple[float, float]:
    """(images/s of a first run, seconds of the rerun with a full cache) through embed_images."""
    from visframe.embed import embed_images

    start = time.perf_counter()
    first = embed_images(ids, paths, encoder, trainer_cfg, cache_dir, show_progress=False)
    first_s = time.perf_counter() - start
    assert first.images_embedded == len(ids)
    start = time.perf_counter()
    again = embed_images(ids, paths, encoder, trainer_cfg, cache_dir, show_progress=False)
    rerun_s = time.perf_counter() - start
    assert again.images_embedded == 0
    return len(ids) / first_s, rerun_s


def load_avg() -> str:
    """The 1-minute load average: this machine is shared, and its figures move with it."""
    path = Path("/proc/loadavg")
    return path.read_text().split()[0] if path.exists() else "n/a"


def vm_hwm_mib() -> float:
    """This process's peak resident set (VmHWM): unlike ru_maxrss it is not inherited from the
    parent that forked us, so it measures this process alone."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(args) -> None:
    """A fresh process: embed the first N images, report peak RSS (this process and its largest
    DataLoader worker) and the times of the first run and of the rerun, as JSON on stdout."""
    import logging

    logging.disable(logging.INFO)
    from visframe.embed import embed_images

    listing = json.loads(Path(args.rss_child).read_text())
    ids, paths = listing["ids"][: args.rss_n], listing["paths"][: args.rss_n]
    encoder = build_encoder(args.rss_model, Path(args.scratch))
    trainer_cfg = json.loads(args.trainer)
    before = vm_hwm_mib()
    start = time.perf_counter()
    result = embed_images(ids, paths, encoder, trainer_cfg, args.cache, show_progress=False)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    again = embed_images(ids, paths, encoder, trainer_cfg, args.cache, show_progress=False)
    rerun_s = time.perf_counter() - start
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest decoding worker
    print(json.dumps({
        "n": len(ids), "rss_before_mib": before, "peak_rss_mib": vm_hwm_mib(), "worker_peak_mib": workers, "first_s": first_s,
        "rerun_s": rerun_s, "embedded": result.images_embedded, "rerun_embedded": again.images_embedded,
        "vectors_mib": result.vectors.nbytes / 2**20,
    }))  # fmt: skip


# ----------------------------------------------------------------------------------- the report


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="efficientnet_lite0,resnet50")
    parser.add_argument("--timing-images", default="efficientnet_lite0=512,resnet50=192,clip_b32_random=512",
                        help="images per end-to-end timing run, per model (fewer for slower models)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rss-sizes", default=f"2000,{PAPER_SIZE}")
    parser.add_argument("--rss-models", default="efficientnet_lite0")
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--images-dir", default=str(Path(tempfile.gettempdir()) / "visframe-bench-images-256"))
    # internal: the fresh-process peak-RSS runs
    parser.add_argument("--rss-child"), parser.add_argument("--rss-n", type=int), parser.add_argument("--rss-model")
    parser.add_argument("--cache"), parser.add_argument("--trainer"), parser.add_argument("--scratch")
    args = parser.parse_args()
    if args.rss_child:
        return rss_child(args)

    import torch

    from visframe.data.images import load_rgb
    from visframe.embed.settings import cpu_has_native_bf16, resolve_settings

    device = "cuda" if args.accelerator in ("gpu", "cuda") else "cpu"
    models = args.models.split(",")
    timing_n = dict(item.split("=") for item in args.timing_images.split(","))
    rss_sizes = [int(n) for n in args.rss_sizes.split(",")] if args.rss_sizes else []
    total = max([*rss_sizes, *(int(timing_n.get(m, 512)) for m in models)])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else f", {os.cpu_count()} CPUs"))  # fmt: skip
    paths = make_images(Path(args.images_dir), total)
    ids = image_ids(paths)
    scratch = Path(tempfile.mkdtemp(prefix="visframe-bench-"))
    trainer_cfg = {"accelerator": args.accelerator, "batch_size": args.batch_size, "enable_progress_bar": False}
    started = time.perf_counter()
    load_at_start = load_avg()

    speed_rows, loop_rows = [], []
    for name in models:
        encoder = build_encoder(name, scratch)
        settings = resolve_settings(trainer_cfg, encoder.prefers_channels_last)
        pixels = torch.stack([encoder.preprocess(load_rgb(p)) for p in paths[: args.batch_size]])
        fp32 = model_only(encoder, pixels, "32-true", False, device, 3)
        if device == "cpu" and not cpu_has_native_bf16():
            # Without AVX512-BF16/AMX, autocast emulates bf16: about 3x slower than fp32 (measured on
            # this machine's AVX2 EPYC), and `precision: auto` picks fp32. Not worth minutes to show.
            speed_rows.append([name, f"{fp32:.1f}", "n/a (no native bf16)", "-"])
            print(f"[{time.perf_counter() - started:5.0f}s] {name}: model-only fp32 {fp32:.1f} img/s (no native bf16 here)", flush=True)
        else:
            fast = model_only(encoder, pixels, "bf16-mixed", True, device, 3)
            speed_rows.append([name, f"{fp32:.1f}", f"{fast:.1f}", f"{fast / fp32:.2f}x"])
            print(f"[{time.perf_counter() - started:5.0f}s] {name}: model-only fp32 {fp32:.1f}, bf16+CL {fast:.1f} img/s", flush=True)

        n = int(timing_n.get(name, 512))
        end_to_end(encoder, ids[:8], paths[:8], trainer_cfg, scratch / f"warm-{name}")  # imports, first workers
        ratios, e2e_all, model_all, reruns = [], [], [], []
        batches = max(1, n // args.batch_size)  # model-only covers as many images as end-to-end
        for repeat in range(args.repeats):
            before = model_only(encoder, pixels, settings.precision, settings.channels_last, device, batches)
            e2e, rerun_s = end_to_end(encoder, ids[:n], paths[:n], trainer_cfg, scratch / f"{name}-{repeat}")
            after = model_only(encoder, pixels, settings.precision, settings.channels_last, device, batches)
            reference = (before + after) / 2
            ratios.append(e2e / reference)
            e2e_all.append(e2e), model_all.append(reference), reruns.append(rerun_s / (n / e2e))
            print(f"[{time.perf_counter() - started:5.0f}s]   run {repeat + 1}: end-to-end {e2e:.1f} img/s, "
                  f"model-only {reference:.1f} img/s, ratio {e2e / reference:.2f}, rerun {rerun_s:.2f}s, "
                  f"load average {load_avg()}", flush=True)  # fmt: skip
        loop_rows.append([
            name, str(n), settings.precision, str(settings.channels_last), str(settings.num_workers),
            f"{statistics.median(model_all):.1f}", f"{statistics.median(e2e_all):.1f}", f"{statistics.median(ratios):.2f}",
            f"{100 * statistics.median(reruns):.1f}%",
        ])  # fmt: skip
        del encoder

    listing = scratch / "images.json"
    listing.write_text(json.dumps({"ids": ids, "paths": paths}))
    rss_rows = []
    for name in [m for m in args.rss_models.split(",") if m] if rss_sizes else []:
        for n in rss_sizes:
            command = [sys.executable, __file__, "--rss-child", str(listing), "--rss-n", str(n), "--rss-model", name,
                       "--cache", str(scratch / f"rss-{name}-{n}"), "--trainer", json.dumps(trainer_cfg), "--scratch", str(scratch)]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if out.returncode:
                raise SystemExit(f"RSS run failed:\n{out.stderr[-3000:]}")
            stats = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"[{time.perf_counter() - started:5.0f}s] {name} x{n}: {json.dumps(stats)}", flush=True)
            rss_rows.append([
                name, str(n), f"{stats['rss_before_mib']:.0f}", f"{stats['peak_rss_mib']:.0f}", f"{stats['worker_peak_mib']:.0f}",
                f"{stats['vectors_mib']:.1f}",
                f"{stats['first_s']:.1f}", f"{n / stats['first_s']:.1f}", f"{stats['rerun_s']:.2f}", f"{100 * stats['rerun_s'] / stats['first_s']:.1f}%",
            ])  # fmt: skip

    print(f"\n== visframe embedding benchmark ({time.perf_counter() - started:.0f}s; batch {args.batch_size}, {device}) ==\n")
    print("Model only, pre-decoded tensors, images/s (3 batches):")
    print(table(speed_rows, ["model", "fp32", "bf16+channels_last", "speed-up"]))
    print("\nEnd-to-end from JPEG files through the Lightning loop (default trainer settings), medians of", args.repeats, "runs:")
    print(table(loop_rows, ["model", "images", "precision", "channels_last", "workers", "model-only/s", "end-to-end/s",
                            "ratio (goal>=0.85)", "rerun/first (goal<10%)"]))  # fmt: skip
    if rss_rows:
        print("\nFresh process per size: peak RSS (MiB), first run and rerun with a full cache:")
        print(table(rss_rows, ["model", "images", "RSS after load", "peak RSS", "worker peak", "result matrix", "first s", "img/s",
                               "rerun s", "rerun/first"]))  # fmt: skip
        by_model: dict[str, list[list[str]]] = {}
        for row in rss_rows:
            by_model.setdefault(row[0], []).append(row)
        for name, rows in by_model.items():
            small, large = rows[0], rows[-1]
            print(f"  {name}: peak RSS {small[3]} → {large[3]} MiB for {int(small[1]):,} → {int(large[1]):,} images "
                  f"({float(large[3]) / float(small[3]):.2f}x), of which the returned (N, D) matrix is "
                  f"{small[5]} → {large[5]} MiB")  # fmt: skip
    # The headline figures, one line: per model the median end-to-end / model-only ratio and the
    # rerun's share of the first run; peak RSS at the smallest and largest size where measured.
    result = {}
    for row in loop_rows:
        key = row[0].replace("-", "_")
        result[f"{key}_e2e_img_s"] = row[6]
        result[f"{key}_ratio"] = row[7]
        result[f"{key}_rerun_pct"] = row[8].rstrip("%")
    for row in rss_rows:
        result[f"{row[0].replace('-', '_')}_peak_rss_mib_{row[1]}"] = row[3]
    result["load_avg"] = f"{load_at_start}-{load_avg()}"
    print("RESULT " + " ".join(f"{k}={v}" for k, v in result.items()))

if __name__ == "__main__":
    main()
