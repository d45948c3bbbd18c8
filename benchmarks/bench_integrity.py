"""What verified cache reads cost: the BLAKE2b check of embedding shards beside reading them.

Writes the shards of N vectors (default 16,567 × 1280 float32, the paper's corpus with the offline
default encoder), then, `--repeats` times in this one process: hashes every shard (the check alone),
reads them with plain Parquet, loads them through `load_embeddings` as a fresh process would (check +
decode + assembly) and once more (shards already verified in this process are not hashed again). Prints
medians and the check's share of the load (this CPU's speed swings 2-3x: compare the ratios).

    python benchmarks/bench_integrity.py [--n 16567] [--dim 1280] [--shard-rows 2048] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from visframe.embed.cache import load_embeddings, shard_paths, write_shard
from visframe.session import Session
from visframe.utils.integrity import file_digest


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=16_567)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--shard-rows", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.n, args.dim)).astype(np.float32)
    ids = [f"{i:016x}" for i in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_s = timed(lambda: [write_shard(directory, ids[i : i + args.shard_rows],
                                             vectors[i : i + args.shard_rows])
                                 for i in range(0, args.n, args.shard_rows)])  # fmt: skip
        size_mb = sum(p.stat().st_size for p in shard_paths(directory)) / 1e6
        check, plain, verified, again = [], [], [], []
        for _ in range(args.repeats):
            check.append(timed(lambda: [file_digest(p) for p in shard_paths(directory)]))
            plain.append(timed(lambda: [pq.read_table(p) for p in shard_paths(directory)]))
            memo = Session().verified_shards  # a fresh process: every shard is hashed

            def load(memo=memo):
                return load_embeddings(directory, ids, dim=args.dim, verified=memo)

            verified.append(timed(load))
            again.append(timed(load))
        assert np.array_equal(load_embeddings(directory, ids, dim=args.dim), vectors)
    check_s, plain_s, verified_s = (
        statistics.median(check),
        statistics.median(plain),
        statistics.median(verified),
    )
    again_s = statistics.median(again)
    print(
        f"{args.n} vectors × {args.dim} in {len(range(0, args.n, args.shard_rows))} shards, {size_mb:.0f} MB"
    )
    print(f"write (atomic + checksum): {write_s:.2f} s")
    print(f"checksum of every shard:        {check_s:.2f} s (median of {args.repeats})")
    print(f"plain Parquet read:             {plain_s:.2f} s")
    print(
        f"load_embeddings (checked, N×D): {verified_s:.2f} s; the check is {check_s / verified_s:.0%} of it"
    )
    print(f"load_embeddings again (same process, already verified): {again_s:.2f} s")
    print(f"RESULT n={args.n} dim={args.dim} size_mb={size_mb:.0f} write_s={write_s:.2f} "
          f"check_s={check_s:.2f} plain_read_s={plain_s:.2f} load_s={verified_s:.2f} "
          f"load_again_s={again_s:.2f} check_share={check_s / verified_s:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
