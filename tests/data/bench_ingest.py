"""Benchmark: ingest of a paper-sized folder (16,567 images), cold and from the cache; reshare search.

    .venv/bin/python tests/data/bench_ingest.py [--n 16567] [--side 320] [--workers 2]

Prints wall times measured inside one run (this machine's speed swings minute to minute, so compare
the ratios): cold ingest with 1 process and with `--workers` processes (each with an empty cache),
the rerun from the cache, and the near-duplicate search on 100k hashes against brute force.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from data_corpus import placeholder_picture, rich_photo

from visframe.data.ingest import ingest_folder
from visframe.data.reshares import hamming, near_duplicate_components


def make_folder(root: Path, n: int, side: int) -> None:
    """n JPEGs: distinct photos, 5% re-encoded reshares, 1% placeholders, 0.5% broken downloads."""
    rng = np.random.default_rng(0)
    templates = [rich_photo(seed, side, side) for seed in range(64)]
    blocked = io.BytesIO()
    placeholder_picture(side).save(blocked, "JPEG", quality=80)
    for i in range(n):
        folder = root / f"account_{i % 50:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        roll = rng.random()
        target = folder / f"post_{i:05d}.jpg"
        if roll < 0.01:
            target.write_bytes(blocked.getvalue())
        elif roll < 0.015:
            target.write_bytes(b"<html><body>Please log in</body></html>")
        else:
            image = (
                templates[i % 64]
                if roll < 0.065
                else Image.fromarray(
                    np.roll(
                        np.asarray(templates[i % 64]),
                        shift=int(rng.integers(1, side)),
                        axis=int(rng.integers(0, 2)),
                    )
                )
            )
            image.save(target, "JPEG", quality=int(rng.integers(70, 95)))


def timed(label: str, function):
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    print(f"{label:52s} {seconds:8.1f} s", flush=True)
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=16_567)
    parser.add_argument("--side", type=int, default=320)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "posts"
        timed(f"make {args.n} JPEGs of {args.side}px", lambda: make_folder(root, args.n, args.side))
        _, serial = timed(
            "cold ingest, 1 process",
            lambda: ingest_folder(root, cache_dir=Path(tmp) / "c1", show_progress=False, workers=1).manifest,
        )
        manifest, parallel = timed(
            f"cold ingest, {args.workers} processes",
            lambda: (
                ingest_folder(
                    root, cache_dir=Path(tmp) / "c2", show_progress=False, workers=args.workers
                ).manifest
            ),
        )
        _, warm = timed(
            "rerun, files re-checked against the facts cache",
            lambda: (
                ingest_folder(
                    root,
                    cache_dir=Path(tmp) / "c2",
                    show_progress=False,
                    workers=args.workers,
                    use_snapshot=False,
                ).manifest
            ),
        )
        _, unchanged = timed(
            "rerun, unchanged folder (listing fingerprint)",
            lambda: (
                ingest_folder(
                    root, cache_dir=Path(tmp) / "c2", show_progress=False, workers=args.workers
                ).manifest
            ),
        )
        print(
            f"  per image cold (1 process): {1000 * serial / args.n:.2f} ms; speed-up with {args.workers} "
            f"processes: {serial / parallel:.2f}x; cache rerun is {parallel / warm:.1f}x faster, "
            f"an unchanged folder {parallel / unchanged:.1f}x"
        )
        print("  statuses:", manifest.status.value_counts().to_dict())
        print(
            f"  reshare groups: {manifest[manifest.status == 'ok'].reshare_group.nunique()} for "
            f"{(manifest.status == 'ok').sum()} usable files"
        )
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 2**63, size=100_000, dtype=np.int64).astype(np.uint64)
    hashes[50_000:] = hashes[:50_000] ^ np.uint64(0b10101)  # every other hash has a 3-bit near copy
    _, bucketed = timed(
        "near-duplicate groups, 100k hashes (bucketed)", lambda: near_duplicate_components(hashes, 4)
    )
    sample = hashes[:5_000]
    _, brute = timed(
        "brute force on 5k hashes (all pairs)", lambda: (hamming(sample[:, None], sample[None, :]) <= 4).sum()
    )
    brute_100k = brute * (100_000 / 5_000) ** 2
    print(f"  brute force on 100k would take ~{brute_100k:.0f} s (n² scaling) vs {bucketed:.1f} s")
    print(
        f"RESULT n={args.n} ms_per_image_cold={1000 * serial / args.n:.2f} "
        f"parallel_speedup={serial / parallel:.2f} rerun_s={warm:.2f} unchanged_rerun_s={unchanged:.2f} "
        f"near_dup_100k_s={bucketed:.2f} brute_force_100k_est_s={brute_100k:.0f}"
    )


if __name__ == "__main__":
    main()
