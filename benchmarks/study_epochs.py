"""Does the clustering need umap-learn's 200-500 epochs? The epoch budget's quality check (issue 14).

    python benchmarks/study_epochs.py                         # tuxpaint digits openclipart paper
    python benchmarks/study_epochs.py --sets digits --epochs 500 200 80 40

`reducer.epoch_budget` (src/visframe/conf/reducer/umap.yaml) lowers UMAP's epochs above 20,000
points: 40 at 100,000. Synthetic vectors settle in fewer (ARI 1.000 at 30-200 epochs), but they are
ours. Here every set goes through the pipeline's own ingest → EfficientNet-Lite0 → reduce (cached;
benchmarks/_real_sets.py), then the SAME vectors are reduced with each epoch count (the budget off,
so the count is exactly that) and clustered with the default clusterer; printed per set and count:
clusters, noise, ARI and NMI against the labels, trustworthiness@10 of the 5-d layout (2,000 points,
cosine) and the UMAP seconds. Real sets are Debian's tuxpaint-stamps-default and openclipart-png and
scikit-learn's digits (openclipart is the held-out set: nothing was tuned on it); `paper` is the
synthetic corpus at the study's size (20,119 images, a real encoder on our images). The first
count is the reference; `nmi_ratio_<set>` = NMI at the budget's floor (40) / NMI at the reference.
Ends with one line: RESULT nmi_ratio_<set>=… min_nmi_ratio_real=…
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(os.environ.get("VISFRAME_CACHE_DIR", Path.home() / ".cache/visframe")) / "numba"))
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

REAL = ("tuxpaint", "digits", "openclipart")


def study_set(name: str, epoch_counts: list[int]) -> dict[int, float]:
    import numpy as np
    from _real_sets import load_set, reduce_again
    from hydra.utils import instantiate
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from visframe.cluster import fit_clusterer

    loaded = load_set(name)
    rows = np.random.default_rng(0).choice(len(loaded.vectors), size=min(2000, len(loaded.vectors)), replace=False)
    nmi_by_epochs = {}
    for epochs in epoch_counts:
        started = time.perf_counter()
        reduced = reduce_again(loaded, n_epochs=epochs, epoch_budget={"point_epochs": None})
        seconds = time.perf_counter() - started  # 0 when read from the reduction cache
        labels = fit_clusterer(instantiate(loaded.cfg.clusterer), reduced).labels
        nmi = normalized_mutual_info_score(loaded.truth, labels)
        nmi_by_epochs[epochs] = nmi
        trust = trustworthiness(loaded.vectors[rows], reduced[rows], n_neighbors=10, metric="cosine")
        print(f"{name:<12}{len(loaded.vectors):>7}{epochs:>8}{labels.max() + 1:>9}{np.mean(labels < 0):>7.1%}"
              f"{adjusted_rand_score(loaded.truth, labels):>7.3f}{nmi:>7.3f}{trust:>8.3f}{seconds:>8.1f}", flush=True)
    return nmi_by_epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=[*REAL, "paper"])
    parser.add_argument("--epochs", nargs="+", type=int, default=[500, 200, 80, 40])
    args = parser.parse_args()
    print(f"{'set':<12}{'n':>7}{'epochs':>8}{'clusters':>9}{'noise':>7}{'ARI':>7}{'NMI':>7}{'trust':>8}{'umap s':>8}")
    fields, real_ratios = [], []
    floor = min(args.epochs)
    for name in args.sets:
        nmi = study_set(name, args.epochs)
        ratio = nmi[floor] / nmi[args.epochs[0]] if nmi[args.epochs[0]] > 0 else float("nan")
        fields.append(f"nmi_ratio_{name}={ratio:.3f}")
        if name in REAL:
            real_ratios.append(ratio)
    if real_ratios:
        fields.append(f"min_nmi_ratio_real={min(real_ratios):.3f}")
    print("RESULT " + " ".join(fields))


if __name__ == "__main__":
    main()
