"""Ingest of the synthetic corpus against the generator's ground truth (truth.jsonl)."""

from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict

import pytest

from visframe.data.ingest import ingest_folder

EXPECTED_STATUS = {
    None: "ok",
    "placeholder": "placeholder",
    "html": "not_an_image",
    "zero_byte": "zero_byte",
    "truncated": "truncated",
}


def source_of(relpath: str, truth: dict[str, dict]) -> str:
    """The original a reshare / near-duplicate was made from (itself for an original)."""
    record = truth.get(relpath, {})
    while record.get("reshare_of") or record.get("near_duplicate_of"):
        relpath = record.get("reshare_of") or record.get("near_duplicate_of")
        record = truth.get(relpath, {})
    return relpath


def same_group_pairs(keys: list) -> set[tuple[int, int]]:
    members = defaultdict(list)
    for index, key in enumerate(keys):
        members[key].append(index)
    return {pair for group in members.values() for pair in itertools.combinations(group, 2)}


@pytest.mark.parametrize("preset", ["tiny", pytest.param("small", marks=pytest.mark.slow)])
def test_statuses_and_reshare_groups_match_the_generators_truth(tmp_path, preset):
    synthetic = pytest.importorskip("visframe.data.synthetic")
    root = tmp_path / "corpus"
    metadata = synthetic.generate_corpus(root, preset=preset, seed=0, show_progress=False)
    manifest = ingest_folder(
        root, metadata=metadata, cache_dir=tmp_path / "cache", show_progress=False
    ).manifest
    with open(root / "truth.jsonl", encoding="utf-8") as handle:
        truth = {record["file"]: record for record in map(json.loads, handle)}
    relpaths = [os.path.relpath(path, root) for path in manifest.path]
    assert set(relpaths) == set(truth), "every generated image gets exactly one row"
    wrong = {
        rel: status
        for rel, status in zip(relpaths, manifest.status)
        if EXPECTED_STATUS[truth[rel]["broken_kind"]] != status
    }
    assert not wrong, "no good image lost, no broken one kept"
    assert manifest.label[manifest.status == "ok"].notna().all()
    # Reshare groups: no two different pictures merged, every byte-identical copy found, and most
    # re-encoded / cropped / resized copies found (a crop can move the phash 16 bits: those are missed).
    ok = [i for i, status in enumerate(manifest.status) if status == "ok"]
    found = same_group_pairs([manifest.reshare_group[i] for i in ok])
    true = same_group_pairs([source_of(relpaths[i], truth) for i in ok])
    exact = same_group_pairs([manifest.image_id[i] for i in ok])
    assert found <= true
    assert exact <= found and len(exact) >= 3
    assert len(found) >= 0.85 * len(true)
