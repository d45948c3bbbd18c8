"""Row selection without copies where none is needed, and rows scaled to unit length."""

from __future__ import annotations

import numpy as np


def rows_of(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[rows], but `values` itself when rows are all of them in order: no copy (1,000,000 ×
    1,280 float32 vectors would be 5 GB more; on this VM, whose fresh memory is slow to touch, a
    19,903 × 1,280 copy took 0.56 s under the profiler)."""
    every = len(rows) == len(values) and bool((np.asarray(rows) == np.arange(len(values))).all())
    return values if every else values[rows]


def unit_rows(values: np.ndarray, dtype=np.float64) -> np.ndarray:
    """A copy of the rows as `dtype`, scaled to length 1 in place (a zero row stays zero), as
    scikit-learn's `normalize`: no n × d temporaries beside the copy."""
    unit = np.array(values, dtype=dtype)
    norms = np.sqrt(np.einsum("ij,ij->i", unit, unit))[:, None]
    unit /= np.where(norms > 0, norms, 1).astype(dtype)
    return unit
