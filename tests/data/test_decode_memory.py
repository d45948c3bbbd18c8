"""Memory stays bounded on decompression bombs (issue 26): checking one file holds at most the file's
bytes + 4 bytes per allowed pixel + `SLACK` (the README states it: about 0.4 GB at the default
`dataset.ingest.max_pixels`).

Peak memory is the child process's `ru_maxrss`, measured around one `cleaning.inspect_file` call after a
warm-up check (so imports are in the baseline). The bombs are PNGs whose rows are all zero: a few
hundred kB that decode to 100 MB and more. Before the fix an RGBA PNG cost ~20 bytes per pixel and a
16-bit grey one ~35 (88 Mpx: +1.7 GB and +2.9 GB); a WebP of 88 Mpx (38 bytes on disk) +1.35 GB.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from data_corpus import bomb_png, encode, rich_photo, write
from PIL import Image

import visframe
from visframe.data.cleaning import classify
from visframe.data.images import decode_limit
from visframe.data.ingest import DEFAULT_MAX_PIXELS

MIB = 1024 * 1024
SLACK = 64 * MIB  # decoder buffers, PIL's own bookkeeping, the allocator's rounding

MEASURE = """
import json, os, resource, sys
from visframe.data import cleaning
path, warm, max_pixels = sys.argv[1], sys.argv[2], int(sys.argv[3])
cleaning.inspect_file(warm, max_pixels)  # imports (imagehash, scipy, numpy) go into the baseline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
facts = cleaning.inspect_file(path, max_pixels)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"increase": after - before, "problem": facts.problem, "detail": facts.detail}))
"""


def zero_png(path: Path, width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> Path:
    """A PNG of all-zero rows, compressed as it is written (never held whole in memory)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" * (1 + width * channels * bit_depth // 8)
    compressor, chunks = zlib.compressobj(1), []
    for _ in range(height):
        chunks.append(compressor.compress(row))
    chunks.append(compressor.flush())

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    data = chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(chunks)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data)
    return path


def peak(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict:
    warm = path.parent / "warm.jpg"
    if not warm.exists():
        write(path.parent, "warm.jpg", encode(rich_photo(1), "JPEG"))
    src = str(Path(visframe.__file__).resolve().parents[1])
    child = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(warm), str(max_pixels)],
        check=False, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src}, timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    return json.loads(child.stdout.strip().splitlines()[-1])


def bound(path: Path, pixels: int) -> int:
    """The stated bound for checking one file: its bytes + 4 bytes per pixel + SLACK."""
    return path.stat().st_size + 4 * pixels + SLACK


def test_a_declared_huge_png_is_refused_before_any_pixel_is_allocated(tmp_path):
    path = tmp_path / "declared.png"
    path.write_bytes(bomb_png(40_000, 40_000))
    found = peak(path)
    assert found["problem"] == "too_many_pixels" and "40000×40000" in found["detail"]
    assert found["increase"] < 16 * MIB, found


@pytest.mark.parametrize(
    ("colour_type", "bit_depth"), [(6, 8), (0, 16), (2, 8)], ids=["rgba", "grey16", "rgb"]
)
def test_a_decoded_bomb_stays_under_the_stated_bound(tmp_path, colour_type, bit_depth):
    side = 4_000  # 16 Mpx: the bound (128 MiB) is far below the old path's ~20-35 bytes a pixel (320-560 MB)
    path = zero_png(tmp_path / "bomb.png", side, side, bit_depth, colour_type)
    assert path.stat().st_size < 2 * MIB
    found = peak(path)
    assert found["problem"] is None  # decoded and checked (a black picture: blank, by classify)
    assert found["increase"] < bound(path, side * side), (
        found["increase"] / MIB,
        bound(path, side * side) / MIB,
    )


@pytest.mark.slow
def test_the_largest_allowed_png_bomb_stays_under_the_stated_bound(tmp_path):
    """At the default limit: 9,400 × 9,400 RGBA (88.4 Mpx, 0.3 MB on disk). Measured +358 MiB; before
    the fix +1,687 MiB."""
    path = zero_png(tmp_path / "bomb.png", 9_400, 9_400, 8, 6)
    found = peak(path)
    assert found["problem"] is None
    assert found["increase"] < bound(path, DEFAULT_MAX_PIXELS), found["increase"] / MIB


def test_decoders_that_need_more_memory_get_a_lower_pixel_limit(tmp_path):
    """WebP (libwebp keeps ~16 bytes a pixel) and JPEG 2000 (~20): refused above max_pixels × 4 / cost,
    so they too stay under 4 bytes × max_pixels; the reason says why."""
    max_pixels = 40_000_000
    assert decode_limit("WEBP", max_pixels) == 10_000_000 and decode_limit("PNG", max_pixels) == max_pixels
    allowed = tmp_path / "allowed.webp"
    Image.new("RGB", (3_100, 3_100), (200, 30, 90)).save(allowed, lossless=True)  # 9.6 Mpx
    found = peak(allowed, max_pixels)
    assert found["problem"] is None and found["increase"] < bound(allowed, max_pixels), (
        found["increase"] / MIB
    )
    refused = tmp_path / "refused.webp"
    Image.new("RGB", (3_200, 3_200), (200, 30, 90)).save(refused, lossless=True)  # 10.2 Mpx
    found = peak(refused, max_pixels)
    assert found["problem"] == "too_many_pixels" and "for WEBP" in found["detail"]
    assert found["increase"] < 16 * MIB
    j2k = tmp_path / "big.jp2"
    Image.new("RGB", (1_500, 1_500), (10, 20, 30)).save(j2k)  # 2.25 Mpx > 10 Mpx × 4 / 20
    found = peak(j2k, 10_000_000)
    assert found["problem"] == "too_many_pixels" and "for JPEG2000" in found["detail"]


def test_a_raised_limit_reclassifies_a_refused_webp_from_its_cached_facts(tmp_path):
    from visframe.data.cleaning import inspect_file

    path = tmp_path / "w.webp"
    Image.new("RGB", (300, 200), (1, 2, 3)).save(path, lossless=True)  # 60,000 pixels
    facts = inspect_file(str(path), 100_000)  # WebP limit 25,000: refused
    assert facts.problem == "too_many_pixels" and facts.format == "WEBP"
    assert facts.cacheable_for(100_000) and not facts.cacheable_for(240_000)  # 240,000 / 4 admits it
    assert classify(inspect_file(str(path), 240_000), 32, 240_000)[0] == "blank"
