"""The app serves files under the run's image folder only, whatever the manifest says (issue 26).

The manifest here is an old or edited one: rows with status ok whose files are a symbolic link out
of the folder, a file inside a linked folder outside it, and a plain absolute path elsewhere. Every
route that reads image bytes (original, thumbnail, map tile, Label Studio's embedded export) is asked
for them through the app; none may send a byte of them. With `dataset.follow_symlinks_outside=true`
in the run's config the links inside the folder are the user's choice and are served, the absolute
path elsewhere still is not.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf
from PIL import Image
from review_fixtures import Browser, make_run_dir

from visframe import contracts
from visframe.review.app import create_app
from visframe.review.run_data import load_run
from visframe.review.store import ReviewStore, sqlite_url
from visframe.utils.hashing import image_id_from_file

# A picture nobody may see through the app: bright magenta, so a thumbnail of it is recognisable.
SECRET_COLOUR = (255, 0, 255)


def _secret(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (48, 40), SECRET_COLOUR)
    image.putpixel((seed, seed), (0, 0, 0))  # each secret file its own bytes, so its own image_id
    image.save(path)
    return path


def _outside_run(tmp_path: Path, follow: bool | None) -> tuple[Path, dict[str, str], str]:
    """A run whose manifest claims three outside files are ok; {kind: image_id}, a normal image_id."""
    run_dir = make_run_dir(tmp_path)
    images = tmp_path / "images"
    outside = tmp_path / "elsewhere"
    linked = _secret(outside / "linked.png", 1)
    in_folder = _secret(outside / "folder" / "in_folder.png", 2)
    absolute = _secret(outside / "absolute.png", 3)
    os.symlink(linked, images / "leak.png")
    os.symlink(outside / "folder", images / "leakdir")
    manifest = pd.read_parquet(run_dir / contracts.MANIFEST_FILE)
    assignments = pd.read_parquet(run_dir / contracts.ASSIGNMENTS_FILE)
    normal = str(manifest.image_id.iloc[0])
    # An image the app shows (it is in the assignments): its manifest path now leads out by a link.
    shown = str(manifest.image_id.iloc[2])
    ids = {"link": shown}
    manifest.loc[manifest.image_id == shown, "path"] = str(images / "leak.png")
    extra = []
    for kind, path in (("folder link", images / "leakdir" / "in_folder.png"), ("absolute", absolute)):
        ids[kind] = image_id_from_file(path)
        extra.append(
            {
                **manifest.iloc[0].to_dict(),
                "image_id": ids[kind],
                "reshare_group": ids[kind],
                "path": str(path),
                "post_id": kind,
            }
        )
    manifest = pd.concat([manifest, pd.DataFrame(extra)], ignore_index=True)
    assignments.loc[assignments.image_id == shown, "path"] = str(images / "leak.png")
    manifest.to_parquet(run_dir / contracts.MANIFEST_FILE, index=False)
    assignments.to_parquet(run_dir / contracts.ASSIGNMENTS_FILE, index=False)
    config = {"dataset": {"root": str(images)}}
    if follow is not None:
        config["dataset"]["follow_symlinks_outside"] = follow
    OmegaConf.save(OmegaConf.create(config), run_dir / contracts.CONFIG_FILE)
    assert image_id_from_file(in_folder) == ids["folder link"]
    return run_dir, ids, normal


@pytest.fixture
def served(tmp_path, request):
    run_dir, ids, normal = _outside_run(tmp_path, request.param)
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "review.db"), run.run_id)
    yield Browser(create_app(run, store)), ids, normal, run_dir
    store.dispose()


def _is_secret_thumbnail(data: bytes) -> bool:
    import io

    with Image.open(io.BytesIO(data)) as image:
        red, green, blue = image.convert("RGB").resize((1, 1)).getpixel((0, 0))
    return red > 200 and blue > 200 and green < 60


@pytest.mark.parametrize("served", [None, False], indirect=True)
def test_no_route_serves_a_file_outside_the_folder(served):
    browser, ids, normal, run_dir = served
    assert browser.get(f"/image/{normal}").status_code == 200  # the folder's own images still are
    assert browser.get(f"/thumb/{normal}").status_code == 200
    secrets = [Path(p).read_bytes() for p in (run_dir.parent / "elsewhere").rglob("*.png")]
    for kind, image_id in ids.items():
        for route in ("image", "thumb", "map/tile"):
            response = browser.get(f"/{route}/{image_id}")
            assert response.status_code == 404, (kind, route, response.status_code)
            assert not any(secret in response.content for secret in secrets)
    tasks = browser.get("/export/labelstudio/tasks.json?embed=1")
    assert tasks.status_code == 200
    leaked = [task for task in tasks.json() if task["data"]["image_id"] == ids["link"]]
    assert leaked and not leaked[0]["data"]["image"].startswith("data:")  # a URL (that answers 404)
    embedded = tasks.text
    assert not any(base64.b64encode(secret).decode() in embedded for secret in secrets)


@pytest.mark.parametrize("served", [True], indirect=True)
def test_the_opt_in_serves_links_inside_the_folder_but_never_a_path_elsewhere(served):
    browser, ids, _, _ = served
    for kind in ("link", "folder link"):
        assert browser.get(f"/image/{ids[kind]}").status_code == 200, kind
        thumb = browser.get(f"/thumb/{ids[kind]}")
        assert thumb.status_code == 200 and _is_secret_thumbnail(thumb.content), kind
    assert browser.get(f"/image/{ids['absolute']}").status_code == 404
    assert browser.get(f"/thumb/{ids['absolute']}").status_code == 404


def test_a_run_without_a_recorded_root_serves_the_folder_its_images_share(tmp_path):
    """Hand-made run directories (no config.yaml) keep working; the shared folder is the boundary."""
    run_dir = make_run_dir(tmp_path)
    images = tmp_path / "images"
    outside = _secret(tmp_path / "elsewhere" / "linked.png", 1)
    manifest = pd.read_parquet(run_dir / contracts.MANIFEST_FILE)
    leaking = str(manifest.image_id.iloc[3])
    shutil.move(manifest.path.iloc[3], tmp_path / "moved.png")
    os.symlink(outside, manifest.path.iloc[3])  # the manifest's own path, now a link leading out
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "review.db"), run.run_id)
    try:
        browser = Browser(create_app(run, store))
        assert browser.get(f"/image/{manifest.image_id.iloc[0]}").status_code == 200
        assert browser.get(f"/image/{leaking}").status_code == 404
        assert browser.get(f"/thumb/{leaking}").status_code == 404
    finally:
        store.dispose()
    assert images.is_dir()
