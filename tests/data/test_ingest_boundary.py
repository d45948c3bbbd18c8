"""The image folder is the boundary (issue 26): links leading out of it are recorded, never followed
or read; metadata cannot make ingest look outside it; `dataset.follow_symlinks_outside` opts in.

"Never read" is checked with Python's audit hooks in a child process: every file opened and every
folder listed while ingesting is recorded, and none may lie outside the folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from data_corpus import encode, rich_photo, write
from omegaconf import OmegaConf

import visframe
from visframe.data.ingest import ingest_folder
from visframe.data.report import cleaning_report
from visframe.errors import ConfigError


def ingest(root: Path, **options) -> tuple[pd.DataFrame, list[str]]:
    """The manifest and the warnings the cleaning report prints (one place to adapt)."""
    options.setdefault("cache_dir", root.parent / "cache")
    options.setdefault("show_progress", False)
    ingested = ingest_folder(root, **options)
    return ingested.manifest, list(ingested.warnings)


def by_name(manifest: pd.DataFrame, root: Path) -> pd.DataFrame:
    return manifest.set_index(
        manifest.path.map(lambda p: os.path.relpath(p, root) if p.startswith("/") else p)
    )


@pytest.fixture
def linked(tmp_path) -> tuple[Path, Path]:
    """images/ with links in and out; elsewhere/ beside it, which nothing may read."""
    root, outside = tmp_path / "images", tmp_path / "elsewhere"
    write(root, "a.jpg", encode(rich_photo(1), "JPEG"))
    write(root, "sub/b.png", encode(rich_photo(2), "PNG"))
    write(outside, "secret.jpg", encode(rich_photo(3), "JPEG"))
    write(outside, "dir/c.jpg", encode(rich_photo(4), "JPEG"))
    write(outside, "notes.txt", encode(rich_photo(5), "JPEG"))  # an image by content, a .txt by name
    os.symlink(root / "a.jpg", root / "link_in.jpg")
    os.symlink("sub", root / "dir_in")
    os.symlink(outside / "secret.jpg", root / "link_out.jpg")
    os.symlink("../elsewhere/dir", root / "dir_out")
    os.symlink(outside / "notes.txt", root / "notes_out.txt")
    os.symlink(outside / "gone.jpg", root / "dangling_out.jpg")
    return root, outside


OUTSIDE_LINKS = {
    "link_out.jpg": "secret.jpg", "dir_out": "dir", "notes_out.txt": "notes.txt",
    "dangling_out.jpg": "gone.jpg",
}  # fmt: skip

AUDITED_INGEST = """
import json, os, sys
root, outside, metadata, cache = sys.argv[1:5]
touched = []
def hook(event, args):
    if (event in ("open", "os.scandir", "os.listdir") and args
            and isinstance(args[0], (str, bytes, os.PathLike))):
        path = os.fsdecode(args[0]) if not isinstance(args[0], int) else ""
        if os.path.abspath(path).startswith(outside):
            touched.append([event, path])
from visframe.data.ingest import ingest_folder
sys.addaudithook(hook)
manifest = ingest_folder(root, metadata=metadata, cache_dir=cache, show_progress=False).manifest
columns = (manifest.path, manifest.status, manifest.reason, manifest.caption.fillna(""))
rows = [list(row) for row in zip(*columns)]
print(json.dumps({"touched": touched, "rows": rows}))
"""


def test_links_leading_out_are_recorded_and_nothing_outside_is_read(linked, tmp_path):
    root, outside = linked
    missing = outside / "missing.jpg"
    keys = [  # pairs: one names something that exists outside the folder, one does not
        "../elsewhere/secret.jpg", "../elsewhere/missing.jpg",
        str(outside / "secret.jpg"), str(missing),
        f"file://{outside / 'secret.jpg'}", f"file://{missing}",
        "sub/../../elsewhere/secret.jpg", "sub/../../elsewhere/missing.jpg",
        "dir_out/c.jpg", "dir_out/missing.jpg",
    ]  # fmt: skip
    metadata = tmp_path / "meta.csv"
    lines = "".join(f"{key},probe {i}\n" for i, key in enumerate(keys))
    metadata.write_text("file,caption\n" + lines + "a.jpg,kept\n")
    src = str(Path(visframe.__file__).resolve().parents[1])
    child = subprocess.run(
        [sys.executable, "-c", AUDITED_INGEST, str(root), str(outside), str(metadata),
         str(tmp_path / "cache")],
        check=False, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src}, timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    found = json.loads(child.stdout.strip().splitlines()[-1])
    assert found["touched"] == []  # no file opened, no folder listed outside the image folder
    rows = {
        os.path.relpath(p, root) if p.startswith(str(root)) else p: (s, r) for p, s, r, _ in found["rows"]
    }
    for link, target in OUTSIDE_LINKS.items():
        status, reason = rows[link]
        assert status == "outside_root", (link, status)
        assert repr(link) in reason and target in reason and "dataset.follow_symlinks_outside=true" in reason
    assert rows["a.jpg"][0] == rows["link_in.jpg"][0] == "ok"  # a link inside the folder is fine
    assert sum(name.endswith("b.png") for name in rows) == 1  # the linked folder inside is listed once
    assert not any(name.startswith("dir_out/") and rows[name][0] != "metadata_only" for name in rows)
    # Metadata keys: one reason for every key leading out, whether or not its target exists.
    why = {}  # key → the reason without "listed in meta.csv line N, but" and the key itself
    for _, status, reason, caption in found["rows"]:
        if caption.startswith("probe "):
            assert status == "metadata_only", (caption, status)
            why[keys[int(caption.split()[1])]] = reason.split(", but ", 1)[1].rsplit(": '", 1)[0]
    assert len(why) == len(keys)
    for exists, absent in zip(keys[::2], keys[1::2]):
        assert why[exists] == why[absent], (exists, absent)
        assert "nothing was looked up" in why[exists] and "not an image" not in why[exists]
    assert len(set(why.values())) == 2  # names leading out; names through a link leading out


def test_the_cleaning_report_lists_the_links_that_lead_out(linked):
    root, _ = linked
    manifest, _ = ingest(root)
    report = cleaning_report(manifest, str(root)).set_index("status")
    assert report.loc["outside_root", "count"] == len(OUTSIDE_LINKS)
    assert "not followed, not read" in report.loc["outside_root", "reason"]
    assert report.loc["outside_root", "examples"] == "dangling_out.jpg, dir_out, link_out.jpg"
    named = by_name(manifest, root)
    assert pd.isna(named.loc["link_out.jpg", "image_id"]) and pd.isna(named.loc["link_out.jpg", "file_size"])


def test_the_opt_in_follows_the_links_and_the_report_says_so(linked, capsys):
    root, _ = linked
    refused, _ = ingest(root)
    followed, warnings = ingest(root, follow_symlinks_outside=True, show_progress=True)
    # The option is part of the listing fingerprint: the refused manifest is not reused for it.
    named = by_name(followed, root)
    assert named.loc["link_out.jpg", "status"] == "ok" and named.loc["dir_out/c.jpg", "status"] == "ok"
    assert named.loc["notes_out.txt", "status"] == "ok"  # sniffed as an image, now that it may be read
    assert named.loc["dangling_out.jpg", "status"] == "unreadable"
    [note] = [w for w in warnings if "dataset.follow_symlinks_outside=true" in w]
    assert "4 file(s) reached through them" in note
    assert "follow_symlinks_outside=true" in capsys.readouterr().err  # printed with the cleaning report
    again, _ = ingest(root)
    pd.testing.assert_frame_equal(again, refused)  # and off again: the refused manifest, as before


def test_the_setting_reaches_ingest_from_the_config_and_must_be_a_boolean(linked):
    from visframe.data import stage
    from visframe.stages import StageContext
    from visframe.validation import check_dataset_switches

    root, _ = linked
    dataset = OmegaConf.create({"name": "folder", "root": str(root), "generator": None, "metadata": None,
                                "follow_symlinks_outside": True, "ingest": {"min_side": 32}})  # fmt: skip
    context = StageContext(cache_dir=str(root.parent / "cache"))
    followed = stage.run(stage.IngestInputs(), dataset, context)
    assert "outside_root" not in set(followed.manifest.status)
    assert any("follow_symlinks_outside=true" in w for w in followed.warnings)
    dataset.follow_symlinks_outside = False
    refused = stage.run(stage.IngestInputs(), dataset, context)
    assert (refused.manifest.status == "outside_root").sum() == len(OUTSIDE_LINKS)
    assert refused.report.set_index("status").loc["outside_root", "count"] == len(OUTSIDE_LINKS)
    for value in ("yes", "no", 1):
        dataset.follow_symlinks_outside = value
        with pytest.raises(ConfigError, match="dataset.follow_symlinks_outside must be true or false"):
            check_dataset_switches(dataset)
    defaults = OmegaConf.load(Path(visframe.__file__).parent / "conf" / "dataset" / "folder.yaml")
    assert defaults.follow_symlinks_outside is False


def test_an_instaloader_sidecar_linked_from_outside_is_not_read(tmp_path):
    root, outside = tmp_path / "images", tmp_path / "elsewhere"
    write(root, "post.jpg", encode(rich_photo(1), "JPEG"))
    sidecar = {"node": {"shortcode": "ABC", "owner": {"username": "leak"}, "taken_at_timestamp": 1709900000}}
    outside.mkdir()
    (outside / "post.json").write_text(json.dumps(sidecar))
    os.symlink(outside / "post.json", root / "post.json")
    (root / "other.json").write_text(json.dumps({"node": {"shortcode": "X", "owner": {"username": "ok"}}}))
    manifest, warnings = ingest(root, metadata_format="instaloader")
    assert pd.isna(by_name(manifest, root).loc["post.jpg", "account"])
    assert any("post.json: a symbolic link leading outside" in w for w in warnings)
    followed, _ = ingest(root, metadata_format="instaloader", follow_symlinks_outside=True)
    assert by_name(followed, root).loc["post.jpg", "account"] == "leak"
