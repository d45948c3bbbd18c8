"""Reshare groups: the bucketed search finds exactly the brute-force components."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from visframe.data.reshares import hamming, near_duplicate_components, reshare_groups


def brute_force_components(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    distance = hamming(hashes[:, None], hashes[None, :])
    rows, cols = np.nonzero(distance <= max_distance)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(hashes), len(hashes)))
    return connected_components(graph, directed=False)[1]


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def flip_bits(value: int, n_bits: int, rng: np.random.Generator) -> int:
    for bit in rng.choice(64, size=n_bits, replace=False):
        value ^= 1 << int(bit)
    return value


@pytest.mark.parametrize("max_distance", [0, 2, 4, 6])
def test_bucketed_search_matches_brute_force(max_distance):
    rng = np.random.default_rng(max_distance)
    base = [int(v) for v in rng.integers(0, 2**63, size=1500, dtype=np.int64)]
    # Near copies at every distance around the threshold, chains, and exact duplicates.
    hashes = list(base)
    for value in base[:400]:
        hashes.append(flip_bits(value, int(rng.integers(0, 9)), rng))
    hashes.extend(base[:50])
    hashes = np.array(hashes, dtype=np.uint64)
    found = near_duplicate_components(hashes, max_distance)
    assert same_partition(found, brute_force_components(hashes, max_distance))


def test_flat_graphics_with_similar_hashes_stay_exact():
    # Many hashes within a few bits of one another: the buckets are large; the result must not change.
    rng = np.random.default_rng(1)
    centre = 0x0F0F0F0F0F0F0F0F
    hashes = np.array([flip_bits(centre, int(rng.integers(0, 12)), rng) for _ in range(800)], dtype=np.uint64)
    assert same_partition(near_duplicate_components(hashes, 4), brute_force_components(hashes, 4))


def test_representative_is_the_most_posted_version():
    ids = ["b", "a", "a", "c", "d"]
    hashes = [
        "ffff000000000000",
        "ffff000000000001",
        "ffff000000000001",
        "ffff000000000003",
        "0000ffffffff0000",
    ]
    groups = reshare_groups(ids, hashes, max_distance=4)
    assert groups == ["a", "a", "a", "a", "d"]


def test_exact_copies_only_when_near_duplicates_are_off():
    ids = ["x", "x", "y"]
    hashes = ["ffff000000000000", "ffff000000000000", "ffff000000000001"]
    assert reshare_groups(ids, hashes, max_distance=-1) == ["x", "x", "y"]
    assert reshare_groups(ids, [None, None, None], max_distance=4) == ["x", "x", "y"]


def test_largest_picture_breaks_a_tie():
    groups = reshare_groups(["small", "large"], ["00000000000000ff", "00000000000000fe"], 4, areas=[100, 400])
    assert groups == ["large", "large"]


def test_thumbnails_veto_phash_only_matches():
    # Two different flat graphics can share a layout (phash 1 bit apart); their colours differ.
    purple = np.full(16 * 16 * 3, 120, dtype=np.uint8)
    purple[0::3] = 140
    black = np.full(16 * 16 * 3, 30, dtype=np.uint8)
    purple_reencoded = np.clip(
        purple.astype(int) + np.random.default_rng(0).integers(-3, 4, purple.size), 0, 255
    )
    ids = ["purple", "black", "purple_copy"]
    hashes = ["c1c13e3e85c1d17e", "c1c13e3e85c1d17f", "c1c13e3e85c1d17e"]
    thumbs = [purple.tobytes(), black.tobytes(), purple_reencoded.astype(np.uint8).tobytes()]
    assert reshare_groups(ids, hashes, 4, thumbnails=thumbs) == ["purple", "black", "purple"]
    assert len(set(reshare_groups(ids, hashes, 4))) == 1  # phash alone merges all three


def test_each_candidate_pair_is_confirmed_once():
    from visframe.data.reshares import _close_pairs

    rng = np.random.default_rng(3)
    hashes = np.array(
        [flip_bits(0x123456789ABCDEF, int(rng.integers(0, 5)), rng) for _ in range(300)], dtype=np.uint64
    )
    pairs = [pair for a, b in _close_pairs(hashes, 4) for pair in zip(a.tolist(), b.tolist())]
    assert len(pairs) == len(set(pairs))
    brute = {(a, b) for a in range(300) for b in range(a + 1, 300) if int(hamming(hashes[a], hashes[b])) <= 4}
    assert set(pairs) == brute
