"""umap-learn's spectral initialisations timed on one graph: is anything faster than its default?

    python experiments/scale/spectral_init.py 100000

Builds the bench's synthetic vectors (benchmarks/_vectors.py), the shared kNN graph as visframe
computes it (seeded, 2 threads) and umap-learn's fuzzy simplicial set from it, then times
`spectral_layout` (ARPACK eigsh, what UMAP(init="spectral") runs), `tswspectral_layout`
(init="tswspectral") and `tswspectral_layout(method="lobpcg")`, printing each one's largest
principal angle to the eigsh subspace. 2026-12-03, 100,000 points: 8.14 / 9.19 / 6.93 s,
0 / 0 / 0.86 degrees; the fuzzy set 4.0 s on its first call (numba compiling), 0.6 s on its second
(experiments/scale/README.md).
"""

import sys
import time
from pathlib import Path

import numpy as np
from scipy.linalg import subspace_angles
from scipy.sparse.csgraph import connected_components
from umap.spectral import spectral_layout, tswspectral_layout
from umap.umap_ import fuzzy_simplicial_set

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _vectors import synthetic_embeddings

from visframe.reduce.knn import compute_knn


def timed(step, *args, **kwargs):
    started = time.perf_counter()
    result = step(*args, **kwargs)
    return result, time.perf_counter() - started


def main(n_points: int) -> None:
    vectors, _ = synthetic_embeddings(n_points, seed=0)
    (indices, distances, _), seconds = timed(compute_knn, vectors, 25, "cosine", 42, threads=2)
    print(f"kNN {seconds:.1f}s")
    seconds = []
    for _ in range(2):  # the first call also compiles umap-learn's numba code in this process
        (graph, _, _), took = timed(
            fuzzy_simplicial_set,
            vectors,
            25,
            np.random.RandomState(42),
            "cosine",
            knn_indices=indices,
            knn_dists=distances,
        )
        seconds.append(took)
    print(
        f"fuzzy simplicial set {seconds[0]:.1f}s first call, {seconds[1]:.1f}s second; "
        f"{connected_components(graph)[0]} connected component(s)"
    )
    layouts = {
        "eigsh": lambda: spectral_layout(vectors, graph, 5, np.random.RandomState(42)),
        "tswspectral": lambda: tswspectral_layout(vectors, graph, 5, np.random.RandomState(42)),
        "tswspectral lobpcg": lambda: tswspectral_layout(
            vectors, graph, 5, np.random.RandomState(42), method="lobpcg"
        ),
    }
    reference = None
    for name, layout in layouts.items():
        embedding, seconds = timed(layout)
        reference = embedding if reference is None else reference
        angle = np.degrees(subspace_angles(reference, embedding)).max()
        print(f"{name:>20}: {seconds:.2f}s, largest angle to eigsh {angle:.2f} degrees")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
