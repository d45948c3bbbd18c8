"""Agreement between coders, from the store's reviews and codings tables.

Each code is a yes/no decision per (image, coder): a coder who saved an image without that code said
"no"; a coder who never saved the image said nothing (missing, not "no").
- Cohen's kappa per coder pair per code (`sklearn.metrics.cohen_kappa_score`) on the images both
  coders saved, plus a pooled row that treats every (image, code) cell as one decision.
- Krippendorff's alpha per code (`krippendorff.alpha`, nominal) over all coders, missing = NaN.
- Disagreements: images saved by two or more coders whose code sets differ.
- Per-cluster code distributions: how often each code was applied in each cluster.
Undefined values (e.g. kappa when both coders never vary) are NaN with the reason in `note`.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from visframe import contracts as C

POOLED = "(all codes pooled)"


@dataclass
class CodingMatrix:
    """Which codes each coder gave each image they saved."""

    coders: list[str]
    codes: list[str]
    image_ids: list[str]
    given: dict[tuple[str, str], set[str]]  # (image_id, coder) -> code names; present = saved
    memos: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_frames(cls, reviews: pd.DataFrame, codings: pd.DataFrame, codes: list[str]) -> CodingMatrix:
        given: dict[tuple[str, str], set[str]] = {}
        memos: dict[tuple[str, str], str] = {}
        for image_id, coder, memo in zip(reviews[C.IMAGE_ID], reviews[C.CODER], reviews[C.MEMO]):
            given[(image_id, coder)] = set()
            memos[(image_id, coder)] = memo
        for image_id, coder, code in zip(codings[C.IMAGE_ID], codings[C.CODER], codings[C.CODE]):
            given.setdefault((image_id, coder), set()).add(code)
        coders = sorted({c for _, c in given}, key=str.lower)
        image_ids = sorted({i for i, _ in given})
        used = {c for names in given.values() for c in names}
        all_codes = list(dict.fromkeys([*codes, *sorted(used - set(codes))]))
        return cls(coders, all_codes, image_ids, given, memos)

    def saved_by(self, coder: str) -> set[str]:
        return {i for i, c in self.given if c == coder}


@dataclass
class KappaRow:
    code: str
    coder_a: str
    coder_b: str
    n_images: int
    kappa: float
    observed_agreement: float
    note: str = ""


@dataclass
class AlphaRow:
    code: str
    n_images: int  # images saved by at least two coders (the ones alpha can use)
    n_coders: int
    alpha: float
    note: str = ""


def _kappa(a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on the undefined case we report ourselves
        value = float(cohen_kappa_score(a, b, labels=[0, 1]))
    if np.isnan(value):
        return value, "undefined: neither coder varied (chance agreement is 1)"
    return value, ""


def cohen_kappa_table(matrix: CodingMatrix) -> list[KappaRow]:
    rows: list[KappaRow] = []
    for coder_a, coder_b in itertools.combinations(matrix.coders, 2):
        both = sorted(matrix.saved_by(coder_a) & matrix.saved_by(coder_b))
        if not both:
            continue
        pooled_a: list[int] = []
        pooled_b: list[int] = []
        for code in matrix.codes:
            a = np.array([int(code in matrix.given[(i, coder_a)]) for i in both])
            b = np.array([int(code in matrix.given[(i, coder_b)]) for i in both])
            pooled_a.extend(a)
            pooled_b.extend(b)
            kappa, note = _kappa(a, b)
            rows.append(KappaRow(code, coder_a, coder_b, len(both), kappa, float(np.mean(a == b)), note))
        if matrix.codes:
            a, b = np.array(pooled_a), np.array(pooled_b)
            kappa, note = _kappa(a, b)
            rows.append(KappaRow(POOLED, coder_a, coder_b, len(both), kappa, float(np.mean(a == b)), note))
    return rows


def krippendorff_alpha_table(matrix: CodingMatrix) -> list[AlphaRow]:
    rows: list[AlphaRow] = []
    if not matrix.coders:
        return rows
    counts = pd.Series([i for i, _ in matrix.given]).value_counts()
    shared = sorted(counts[counts >= 2].index)
    for code in matrix.codes:
        data = np.full((len(matrix.coders), len(shared)), np.nan)
        for r, coder in enumerate(matrix.coders):
            for u, image_id in enumerate(shared):
                names = matrix.given.get((image_id, coder))
                if names is not None:
                    data[r, u] = float(code in names)
        if not shared:
            rows.append(
                AlphaRow(
                    code,
                    0,
                    len(matrix.coders),
                    float("nan"),
                    "undefined: no image has been coded by two coders yet",
                )
            )
            continue
        values = data[~np.isnan(data)]
        if np.unique(values).size < 2:
            answer = (
                "every coder applied it to every"
                if values.size and values[0] == 1
                else "no coder applied it to any"
            )
            rows.append(
                AlphaRow(
                    code,
                    len(shared),
                    len(matrix.coders),
                    float("nan"),
                    f"undefined: {answer} shared image (no variation)",
                )
            )
            continue
        value = float(
            krippendorff.alpha(reliability_data=data, level_of_measurement="nominal", value_domain=[0.0, 1.0])
        )
        rows.append(AlphaRow(code, len(shared), len(matrix.coders), value))
    return rows


@dataclass
class Disagreement:
    image_id: str
    cluster: int
    disputed: list[str]  # codes some but not all of the image's coders applied
    by_coder: dict[str, tuple[list[str], str]]  # coder -> (codes, memo)


def disagreements(matrix: CodingMatrix, clusters: dict[str, int]) -> list[Disagreement]:
    found: list[Disagreement] = []
    for image_id in matrix.image_ids:
        coders = [c for c in matrix.coders if (image_id, c) in matrix.given]
        if len(coders) < 2:
            continue
        sets = [matrix.given[(image_id, c)] for c in coders]
        union, common = set().union(*sets), set.intersection(*sets)
        if union == common:
            continue
        order = {name: k for k, name in enumerate(matrix.codes)}
        found.append(
            Disagreement(
                image_id=image_id,
                cluster=int(clusters.get(image_id, -1)),
                disputed=sorted(union - common, key=lambda n: order.get(n, len(order))),
                by_coder={
                    c: (
                        sorted(matrix.given[(image_id, c)], key=lambda n: order.get(n, len(order))),
                        matrix.memos.get((image_id, c), ""),
                    )
                    for c in coders
                },
            )
        )
    found.sort(key=lambda d: (-len(d.disputed), d.cluster, d.image_id))
    return found


def cluster_code_distribution(matrix: CodingMatrix, clusters: dict[str, int]) -> pd.DataFrame:
    """Long table, one row per (cluster, code): n_images (coded in the cluster), n_reviews
    (image x coder savings), n_applied (savings that applied the code), share = n_applied / n_reviews."""
    columns = [C.CLUSTER, "code", "n_images", "n_reviews", "n_applied", "share"]
    per_cluster: dict[int, dict[str, Any]] = {}
    for (image_id, _coder), names in matrix.given.items():
        entry = per_cluster.setdefault(
            int(clusters.get(image_id, -1)),
            {"images": set(), "reviews": 0, "applied": dict.fromkeys(matrix.codes, 0)},
        )
        entry["images"].add(image_id)
        entry["reviews"] += 1
        for name in names:
            entry["applied"][name] += 1
    rows = [
        (cluster, code, len(entry["images"]), entry["reviews"], n, n / entry["reviews"])
        for cluster, entry in sorted(per_cluster.items(), key=lambda kv: (kv[0] == -1, kv[0]))
        for code, n in entry["applied"].items()
    ]
    return pd.DataFrame(rows, columns=columns).astype(
        {
            C.CLUSTER: "int64",
            "n_images": "int64",
            "n_reviews": "int64",
            "n_applied": "int64",
            "share": "float64",
        }
    )


def agreement_frame(kappas: list[KappaRow], alphas: list[AlphaRow]) -> pd.DataFrame:
    """Both statistics in one long table, for the CSV download."""
    rows = [
        {
            "statistic": "cohen_kappa",
            "code": k.code,
            "coder_a": k.coder_a,
            "coder_b": k.coder_b,
            "n_images": k.n_images,
            "value": k.kappa,
            "observed_agreement": k.observed_agreement,
            "note": k.note,
        }
        for k in kappas
    ] + [
        {
            "statistic": "krippendorff_alpha",
            "code": a.code,
            "coder_a": "",
            "coder_b": "",
            "n_images": a.n_images,
            "value": a.alpha,
            "observed_agreement": np.nan,
            "note": a.note,
        }
        for a in alphas
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "statistic",
            "code",
            "coder_a",
            "coder_b",
            "n_images",
            "value",
            "observed_agreement",
            "note",
        ],
    )
