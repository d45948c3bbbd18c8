"""Array cache entries (reductions, kNN graphs) on top of `visframe.utils.integrity`.

Format: `<name>.npz` (uncompressed NumPy archive), written atomically, with the checksum sidecar
`visframe.utils.integrity` keeps beside every cache entry. An archive without its checksum (a run
killed between the two writes), truncated, or with flipped bytes is set aside as `corrupt-<name>`,
named in one warning, and the caller computes it again. Verifying costs one hash pass over the
archive (a fraction of a second for the 200 MB kNN graph of 1,000,000 points).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from visframe.utils.integrity import atomic_write, load_or_heal, set_aside

__all__ = ["load_arrays", "save_arrays", "set_aside"]


def save_arrays(path: str | Path, **arrays: np.ndarray) -> None:
    """Write `arrays` to `path` (.npz) atomically, with its checksum beside it."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle: np.savez would add ".npz" to a temporary name
            np.savez(handle, **arrays)

    atomic_write(path, write)


def _read(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def load_arrays(path: str | Path, what: str) -> dict[str, np.ndarray] | None:
    """The arrays stored at `path`, or None when there is no entry or it was damaged (set aside)."""
    del what  # the warning names the file itself
    return load_or_heal(path, _read, require_checksum=True)
