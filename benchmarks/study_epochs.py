"""Does the clustering need umap-learn's 200-500 epochs? The epoch budget's quality check (issue 14).

    python benchmarks/study_epochs.py                         # tuxpaint digits openclipart paper, 3 seeds
    python benchmarks/study_epochs.py --sets digits --epochs 200 80 40 --seeds 42
    python benchmarks/study_epochs.py --sets paper --epochs 80 --set init=pca   # reducer overrides

`reducer.epoch_budget` (src/visframe/conf/reducer/umap.yaml) lowers UMAP's epochs above 20,000
points, never below its floor (`min_epochs`). Synthetic vectors settle in 30 epochs (ARI 1.000), but
they are ours and easy; real-encoder embeddings did not (experiments/scale/README.md). Here every set
goes through the pipeline's own ingest → EfficientNet-Lite0 → reduce (cached; benchmarks/_real_sets.py),
then the SAME vectors are reduced with each epoch count (the budget off, so the count is exactly that),
once per UMAP seed, and clustered with the default clusterer; printed per set, count and seed: clusters,
noise, ARI and NMI against the labels, trustworthiness@10 of the 5-d layout (2,000 points, cosine) and
the UMAP seconds, then the mean NMI over the seeds. Real sets are Debian's tuxpaint-stamps-default and
openclipart-png and scikit-learn's digits (openclipart is the held-out set: nothing was tuned on it);
`paper` is the synthetic corpus at the study's size (19,903 clean posts, a real encoder on our images).
The reference is umap-learn's own count; `nmi_ratio_<set>` = mean NMI at the budget's floor / at the
reference. Ends with one line: RESULT floor_epochs=… nmi_ratio_<set>=… min_nmi_ratio_real=…
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
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    str(Path(os.environ.get("VISFRAME_CACHE_DIR", Path.home() / ".cache/visframe")) / "numba"),
)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

REAL = ("tuxpaint", "digits", "openclipart")


def study_set(
    name: str, epoch_counts: list[int | None], seeds: list[int], overrides: tuple[str, ...] | list[str] = ()
) -> dict:
    import numpy as np
    from _real_sets import load_set
    from hydra.utils import instantiate
    from omegaconf import OmegaConf
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from visframe.cluster import fit_clusterer
    from visframe.reduce import reduce_cached
    from visframe.reduce.epochs import library_epochs

    loaded = load_set(name)
    n = len(loaded.vectors)
    rows = np.random.default_rng(0).choice(n, size=min(2000, n), replace=False)
    base = OmegaConf.create(
        OmegaConf.to_container(loaded.cfg.reducer, resolve=True)
    )  # not struct: n_epochs may be absent
    base = OmegaConf.merge(base, OmegaConf.from_dotlist(list(overrides)))
    mean_nmi = {}
    for epochs in epoch_counts:
        count = library_epochs(n) if epochs is None else epochs
        scores = []
        for seed in seeds:
            reducer = OmegaConf.merge(
                base, {"n_epochs": count, "random_state": seed, "epoch_budget": {"point_epochs": None}}
            )
            started = time.perf_counter()
            reduced = reduce_cached(
                reducer, loaded.vectors, loaded.input_key, str(loaded.cfg.paths.cache_dir)
            ).coordinates
            seconds = time.perf_counter() - started  # 0 when read from the reduction cache
            labels = fit_clusterer(instantiate(loaded.cfg.clusterer), reduced).labels
            nmi = normalized_mutual_info_score(loaded.truth, labels)
            scores.append(nmi)
            trust = trustworthiness(loaded.vectors[rows], reduced[rows], n_neighbors=10, metric="cosine")
            print(
                f"{name:<12}{n:>7}{count:>8}{seed:>6}{labels.max() + 1:>9}{np.mean(labels < 0):>7.1%}"
                f"{adjusted_rand_score(loaded.truth, labels):>7.3f}{nmi:>7.3f}{trust:>8.3f}{seconds:>8.1f}",
                flush=True,
            )
        mean_nmi[epochs] = float(np.mean(scores))
        print(f"{name:<12}{n:>7}{count:>8}{'mean':>6}{'':>23}{mean_nmi[epochs]:>7.3f}", flush=True)
    return mean_nmi


def configured_floor() -> int:
    from omegaconf import OmegaConf

    from visframe import CONFIG_DIR
    from visframe.reduce.epochs import EPOCHS_OPTION

    return int(OmegaConf.load(Path(CONFIG_DIR) / "reducer" / "umap.yaml")[EPOCHS_OPTION]["min_epochs"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", default=[*REAL, "paper"])
    parser.add_argument(
        "--epochs",
        nargs="+",
        type=int,
        default=[120, 100, 60, 40],
        help="counts besides umap-learn's own (the reference) and the budget's floor",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 7, 11])
    parser.add_argument(
        "--set", nargs="*", default=[], dest="overrides", help="reducer overrides, e.g. init=pca"
    )
    args = parser.parse_args()
    floor = configured_floor()
    counts = [None, *sorted({*args.epochs, floor}, reverse=True)]
    print(
        "reference: umap-learn's own epochs (500 up to 10,000 points, 200 above); "
        f"the budget's floor: {floor}"
    )
    print(
        f"{'set':<12}{'n':>7}{'epochs':>8}{'seed':>6}{'clusters':>9}{'noise':>7}{'ARI':>7}{'NMI':>7}"
        f"{'trust':>8}{'umap s':>8}"
    )
    fields, real_ratios = [], []
    for name in args.sets:
        nmi = study_set(name, counts, args.seeds, args.overrides)
        ratio = nmi[floor] / nmi[None] if nmi[None] > 0 else float("nan")
        fields.append(f"nmi_ratio_{name}={ratio:.3f}")
        if name in REAL:
            real_ratios.append(ratio)
    if real_ratios:
        fields.append(f"min_nmi_ratio_real={min(real_ratios):.3f}")
    print("RESULT floor_epochs=" + str(floor) + " " + " ".join(fields))


if __name__ == "__main__":
    main()
