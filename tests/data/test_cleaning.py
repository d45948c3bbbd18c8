"""Every case of the cleaning taxonomy (issue 6 item 1) ends with the right status and reason."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from data_corpus import NON_UTF8_NAME, Expected, build_messy_corpus, encode, rich_photo, write

from visframe.data import cleaning
from visframe.data.images import load_rgb
from visframe.data.ingest import IngestError, ingest_folder
from visframe.utils.hashing import image_id_from_bytes


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> tuple[Path, dict[str, Expected], list[str], pd.DataFrame]:
    root = tmp_path_factory.mktemp("messy")
    expected, no_row = build_messy_corpus(root)
    manifest = ingest_folder(root, cache_dir=tmp_path_factory.mktemp("cache"), show_progress=False).manifest
    return root, expected, no_row, manifest


def by_relpath(root: Path, manifest: pd.DataFrame) -> dict[str, pd.Series]:
    return {os.path.relpath(row.path, root): row for _, row in manifest.iterrows()}


def test_every_file_gets_its_status_and_reason(messy):
    root, expected, no_row, manifest = messy
    rows = by_relpath(root, manifest)
    assert set(rows) == set(expected), "exactly the image files get rows"
    wrong = {
        rel: (rows[rel].status, rows[rel].reason)
        for rel, want in expected.items()
        if rows[rel].status != want.status or want.reason not in rows[rel].reason
    }
    assert not wrong
    for rel in no_row:
        assert rel not in rows
    # Every bad file says why; every good one has an empty reason.
    assert (manifest.loc[manifest.status != "ok", "reason"].str.len() > 20).all()
    assert (manifest.loc[manifest.status == "ok", "reason"] == "").all()


def test_every_good_image_survives_and_opens(messy):
    root, expected, _, manifest = messy
    good = {rel for rel, want in expected.items() if want.status == "ok"}
    ok_rows = manifest[manifest.status == "ok"]
    assert {os.path.relpath(p, root) for p in ok_rows.path} == good
    for row in ok_rows.itertuples():
        image = load_rgb(row.path)
        assert image.mode == "RGB" and image.size == (row.width, row.height)
        assert len(row.image_id) == 16 and len(row.phash) == 16 and row.file_size > 0


def test_reasons_read_as_sentences(messy):
    root, _, _, manifest = messy
    rows = by_relpath(root, manifest)
    assert rows["broken/zero.jpg"].reason == "file is 0 bytes (a failed download)"
    assert rows["broken/login.jpg"].reason == (
        "file is HTML, not an image (a login or error page saved with an image extension)"
    )
    assert "limit of 89,478,485" in rows["broken/bomb.png"].reason
    assert "JPEG data ends early" in rows["broken/cut.jpg"].reason
    assert "PNG data ends early" in rows["broken/cut.png"].reason
    assert "minimum side of 32" in rows["broken/tiny.png"].reason


def test_undecoded_rows_have_no_size_or_phash(messy):
    root, _, _, manifest = messy
    rows = by_relpath(root, manifest)
    for rel in (
        "broken/bomb.png",
        "broken/cut.jpg",
        "broken/login.jpg",
        "broken/zero.jpg",
        "broken/pipe.jpg",
    ):
        assert pd.isna(rows[rel].width) and pd.isna(rows[rel].phash)
    # Rows whose bytes were read carry their hash (all empty files share one); unreadable ones cannot.
    assert (
        rows["broken/zero.jpg"].image_id == image_id_from_bytes(b"")
        and rows["broken/zero.jpg"].file_size == 0
    )
    assert pd.isna(rows["broken/pipe.jpg"].image_id) and pd.isna(rows["broken/dangling.jpg"].file_size)


def test_symlink_keeps_its_path_and_shares_the_targets_image_id(messy):
    root, _, _, manifest = messy
    rows = by_relpath(root, manifest)
    link, target = rows["good/link_to_photo.jpg"], rows["good/photo.jpg"]
    assert link.path == os.path.join(str(root), "good", "link_to_photo.jpg")
    assert link.image_id == target.image_id and link.reshare_group == target.reshare_group


def test_non_utf8_file_name_round_trips(messy):
    root, _, _, manifest = messy
    [path] = [p for p in manifest.path if os.fsencode(p).endswith(NON_UTF8_NAME)]
    assert os.fsencode(path) == os.path.join(os.fsencode(str(root)), b"good", NON_UTF8_NAME)
    assert load_rgb(path).size == (160, 120)


def test_exif_rotation_swaps_width_and_height(messy):
    root, _, _, manifest = messy
    row = by_relpath(root, manifest)["good/rotated.jpg"]
    assert (row.width, row.height) == (100, 200)  # stored 200×100, EXIF orientation 6


def test_placeholders_are_told_apart_from_a_popular_reshared_photo(messy):
    root, _, _, manifest = messy
    rows = by_relpath(root, manifest)
    blocked = [rows[f"blocked/unavailable_{i}.{'jpg' if i % 2 else 'png'}"] for i in range(5)]
    popular = [rows[f"popular/reshare_{i}.jpg"] for i in range(5)]
    assert {row.status for row in blocked} == {"placeholder"}
    assert "appears in 5 files" in blocked[0].reason
    # Same frequency, rich content: kept, and collapsed into one reshare group of distinct files.
    assert {row.status for row in popular} == {"ok"}
    assert len({row.reshare_group for row in popular}) == 1
    assert len({row.image_id for row in popular}) >= 3
    assert popular[0].reshare_group in {row.image_id for row in popular}


def test_placeholder_rule_can_be_turned_off_and_needs_the_minimum_count(messy, tmp_path):
    root, _, _, _ = messy
    off = ingest_folder(
        root / "blocked", placeholder_min_count=0, cache_dir=tmp_path, show_progress=False
    ).manifest
    assert set(off.status) == {"ok"}
    high = ingest_folder(
        root / "blocked", placeholder_min_count=6, cache_dir=tmp_path, show_progress=False
    ).manifest
    assert set(high.status) == {"ok"}
    exact = ingest_folder(
        root / "blocked", placeholder_min_count=5, cache_dir=tmp_path, show_progress=False
    ).manifest
    assert set(exact.status) == {"placeholder"}


def test_thresholds_reclassify_from_the_cache(messy, tmp_path, monkeypatch):
    root, _, _, _ = messy
    first = ingest_folder(root / "broken", cache_dir=tmp_path, show_progress=False).manifest
    assert first.set_index(first.path.map(os.path.basename)).loc["tiny.png", "status"] == "too_small"
    checked = []
    real_inspect = cleaning.inspect_file
    monkeypatch.setattr(
        cleaning, "inspect_file", lambda path, *a: checked.append(path) or real_inspect(path, *a)
    )
    second = ingest_folder(root / "broken", min_side=16, cache_dir=tmp_path, show_progress=False).manifest
    # Only the unreadable entries are looked at again (never cached: a fixed permission must show).
    assert sorted(map(os.path.basename, checked)) == ["dangling.jpg", "pipe.jpg"]
    statuses = second.set_index(second.path.map(os.path.basename))["status"]
    assert statuses["tiny.png"] == "ok"
    assert statuses["bomb.png"] == "too_many_pixels"


def test_pixel_limit_refuses_before_decoding_and_a_raised_limit_decodes(tmp_path):
    write(tmp_path / "imgs", "big.png", encode(rich_photo(1, 160, 120), "PNG"))
    refused = ingest_folder(
        tmp_path / "imgs", max_pixels=10_000, cache_dir=tmp_path / "c", show_progress=False
    ).manifest
    assert refused.status.tolist() == ["too_many_pixels"]
    assert "160×120 = 19,200 pixels, above the limit of 10,000" in refused.reason[0]
    allowed = ingest_folder(tmp_path / "imgs", cache_dir=tmp_path / "c", show_progress=False).manifest
    assert allowed.status.tolist() == ["ok"] and allowed.width[0] == 160


def test_permission_and_io_errors_are_unreadable(tmp_path, monkeypatch):
    for name in ("a.jpg", "locked.jpg", "failing.jpg"):
        write(tmp_path / "imgs", name, encode(rich_photo(len(name)), "JPEG"))
    real_read = cleaning.read_file_bytes

    def flaky_read(path: str) -> bytes:
        if path.endswith("locked.jpg"):
            raise PermissionError(13, "Permission denied", path)
        if path.endswith("failing.jpg"):
            raise OSError(5, "Input/output error", path)
        return real_read(path)

    monkeypatch.setattr(cleaning, "read_file_bytes", flaky_read)
    manifest = ingest_folder(tmp_path / "imgs", cache_dir=tmp_path / "c", show_progress=False).manifest
    statuses = dict(zip(manifest.path.map(os.path.basename), zip(manifest.status, manifest.reason)))
    assert statuses["a.jpg"] == ("ok", "")
    assert statuses["locked.jpg"][0] == "unreadable" and "permission denied" in statuses["locked.jpg"][1]
    assert statuses["failing.jpg"][0] == "unreadable" and "Input/output error" in statuses["failing.jpg"][1]
    # Unreadable results are never cached: fixed permissions are seen by the next run.
    monkeypatch.setattr(cleaning, "read_file_bytes", real_read)
    again = ingest_folder(tmp_path / "imgs", cache_dir=tmp_path / "c", show_progress=False).manifest
    assert set(again.status) == {"ok"}


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads chmod-000 files; the FIFO/symlink/monkeypatch cases cover it"
)
def test_chmod_000_is_unreadable(tmp_path):
    write(tmp_path / "imgs", "locked.jpg", encode(rich_photo(1), "JPEG"))
    os.chmod(tmp_path / "imgs" / "locked.jpg", 0)
    manifest = ingest_folder(tmp_path / "imgs", cache_dir=tmp_path / "c", show_progress=False).manifest
    assert manifest.status.tolist() == ["unreadable"] and "permission denied" in manifest.reason[0]


def test_one_corrupt_file_among_good_ones(tmp_path):
    for i in range(4):
        write(tmp_path / "imgs", f"good_{i}.jpg", encode(rich_photo(20 + i), "JPEG"))
    good = encode(rich_photo(30), "JPEG")
    write(tmp_path / "imgs", "corrupt.jpg", good[:300] + b"\x00" * 50)
    manifest = ingest_folder(tmp_path / "imgs", cache_dir=tmp_path / "c", show_progress=False).manifest
    statuses = dict(zip(manifest.path.map(os.path.basename), manifest.status))
    assert statuses.pop("corrupt.jpg") == "truncated"
    assert statuses == {f"good_{i}.jpg": "ok" for i in range(4)}


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        ingest_folder(tmp_path / "nope", cache_dir=tmp_path / "c", show_progress=False)
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(IngestError, match="is a file, not a folder"):
        ingest_folder(tmp_path / "file.jpg", cache_dir=tmp_path / "c", show_progress=False)
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "readme.txt").write_text("hola")
    with pytest.raises(IngestError, match=r"no image files under .*texts.*1 \.txt"):
        ingest_folder(tmp_path / "texts", cache_dir=tmp_path / "c", show_progress=False)


def test_skipped_files_are_counted(messy, tmp_path):
    root = messy[0]
    skipped = ingest_folder(root, cache_dir=tmp_path, show_progress=False).skipped_files
    assert skipped[".json"] == 1 and skipped[".mp4"] == 1 and skipped[".txt"] == 1 and skipped["hidden"] == 1


def test_blank_needs_near_zero_variance():
    flat = cleaning.FileFacts(width=100, height=100, decoded=True, pixel_std=1.0, mean_colour="#FFFFFF")
    textured = cleaning.FileFacts(width=100, height=100, decoded=True, pixel_std=12.0, mean_colour="#808080")
    assert cleaning.classify(flat, 32, 10**8)[0] == "blank"
    assert cleaning.classify(textured, 32, 10**8) == ("ok", "")
