"""Agreement statistics checked against scikit-learn and the krippendorff package on the same codes."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from visframe.review import agreement as agree


def _matrix(given: dict[tuple[str, str], set[str]], codes: list[str]) -> agree.CodingMatrix:
    reviews = pd.DataFrame([{"image_id": i, "coder": c, "memo": ""} for i, c in given])
    codings = pd.DataFrame(
        [{"image_id": i, "coder": c, "code": n} for (i, c), names in given.items() for n in names],
        columns=["image_id", "coder", "code"],
    )
    return agree.CodingMatrix.from_frames(reviews, codings, codes)


@pytest.fixture
def three_coders():
    rng = np.random.default_rng(0)
    codes = ["protest", "text", "memorial"]
    given = {}
    for k in range(40):
        image = f"{k:016x}"
        truth = {c for c in codes if rng.random() < 0.4}
        for coder, noise in (("ana", 0.1), ("bea", 0.25), ("cy", 0.4)):
            if coder == "cy" and k % 3 == 0:
                continue  # cy did not code every image: missing, not "no"
            given[(image, coder)] = {c for c in codes if (c in truth) != (rng.random() < noise)}
    return _matrix(given, codes), given, codes


def test_kappa_per_pair_and_code_equals_sklearn(three_coders):
    matrix, given, codes = three_coders
    rows = agree.cohen_kappa_table(matrix)
    assert {(r.coder_a, r.coder_b) for r in rows} == {("ana", "bea"), ("ana", "cy"), ("bea", "cy")}
    for row in rows:
        shared = sorted({i for i, c in given if c == row.coder_a} & {i for i, c in given if c == row.coder_b})
        assert row.n_images == len(shared)
        check = codes if row.code == agree.POOLED else [row.code]
        a = [int(c in given[(i, row.coder_a)]) for c in check for i in shared]
        b = [int(c in given[(i, row.coder_b)]) for c in check for i in shared]
        assert row.kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
        assert row.observed_agreement == pytest.approx(np.mean(np.array(a) == np.array(b)))


def test_alpha_per_code_equals_krippendorff_with_missing_values(three_coders):
    matrix, given, codes = three_coders
    rows = {r.code: r for r in agree.krippendorff_alpha_table(matrix)}
    images = sorted({i for i, _ in given})
    for code in codes:
        data = np.array(
            [
                [float(code in given[(i, c)]) if (i, c) in given else np.nan for i in images]
                for c in ("ana", "bea", "cy")
            ]
        )
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert rows[code].alpha == pytest.approx(expected, abs=1e-12)
        assert rows[code].n_coders == 3 and rows[code].n_images == 40


def test_undefined_statistics_are_nan_with_a_reason():
    matrix = _matrix(
        {
            ("a" * 16, "ana"): {"x"},
            ("a" * 16, "bea"): {"x"},
            ("b" * 16, "ana"): {"x"},
            ("b" * 16, "bea"): {"x"},
        },
        ["x", "y"],
    )
    kappas = {r.code: r for r in agree.cohen_kappa_table(matrix)}
    assert math.isnan(kappas["x"].kappa) and "neither coder varied" in kappas["x"].note
    assert kappas["x"].observed_agreement == 1.0
    alphas = {r.code: r for r in agree.krippendorff_alpha_table(matrix)}
    assert math.isnan(alphas["x"].alpha) and "every coder applied it" in alphas["x"].note
    assert math.isnan(alphas["y"].alpha) and "no coder applied it" in alphas["y"].note


def test_disagreements_and_cluster_distribution():
    matrix = _matrix(
        {
            ("a" * 16, "ana"): {"x", "y"},
            ("a" * 16, "bea"): {"x"},
            ("b" * 16, "ana"): {"y"},
            ("b" * 16, "bea"): {"y"},
            ("c" * 16, "ana"): set(),
        },
        ["x", "y"],
    )
    clusters = {"a" * 16: 0, "b" * 16: 0, "c" * 16: 1}
    found = agree.disagreements(matrix, clusters)
    assert [d.image_id for d in found] == ["a" * 16]
    assert found[0].disputed == ["y"] and found[0].by_coder["bea"] == (["x"], "")
    table = agree.cluster_code_distribution(matrix, clusters).set_index(["cluster", "code"])
    assert table.loc[(0, "y"), "n_applied"] == 3 and table.loc[(0, "y"), "n_reviews"] == 4
    assert table.loc[(0, "x"), "share"] == pytest.approx(0.5)
    assert table.loc[(1, "x"), "n_images"] == 1 and table.loc[(1, "x"), "n_applied"] == 0
