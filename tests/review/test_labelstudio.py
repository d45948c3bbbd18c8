"""Label Studio: tasks out (cluster as a prediction), annotations back in, through the app."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import pandas as pd
from review_fixtures import Browser

from visframe.review.labelstudio import import_annotations, labelstudio_config, parse_users

CHANGED = "cluster 2"  # the first task's annotator moves it here (its run cluster is not 2 in the fixture)


def _annotate(tasks, store):
    """What Label Studio exports after two annotators coded the first three tasks."""
    exported = []
    for k, task in enumerate(tasks[:3]):
        annotations = [
            {
                "id": 10 + k,
                "completed_by": {"id": 1, "email": "ana@example.org"},
                "was_cancelled": False,
                "updated_at": "2024-05-01T10:00:00Z",
                "result": [
                    {
                        "from_name": "codes",
                        "to_name": "image",
                        "type": "choices",
                        "value": {"choices": ["protest"] if k != 1 else ["protest", "new code"]},
                    },
                    {
                        "from_name": "memo",
                        "to_name": "image",
                        "type": "textarea",
                        "value": {"text": [f"memo {k}"]},
                    },
                    {
                        "from_name": "cluster_choice",
                        "to_name": "image",
                        "type": "choices",
                        "value": {
                            "choices": [
                                CHANGED
                                if k == 0
                                else task["predictions"][0]["result"][0]["value"]["choices"][0]
                            ]
                        },
                    },
                ],
            },
            {
                "id": 20 + k,
                "completed_by": 7,
                "was_cancelled": False,
                "updated_at": "2024-05-01T11:00:00Z",
                "result": [
                    {"from_name": "codes", "to_name": "image", "type": "choices", "value": {"choices": []}}
                ],
            },
        ]
        exported.append(
            {
                "id": k + 1,
                "data": task["data"],
                "annotations": annotations,
                "predictions": task["predictions"],
            }
        )
    exported.append({"id": 99, "data": {"image": "/data/upload/whatever.png"}, "annotations": []})
    exported.append({"id": 100, "data": {"image_id": "f" * 16}, "annotations": []})
    return exported


def test_export_tasks_and_config(app, store, review_run):
    store.add_code("protest", 'crowds & "marches"')
    browser = Browser(app)
    tasks = browser.get("/export/labelstudio/tasks.json").json()
    assert len(tasks) == review_run.n_images
    first = tasks[0]
    image_id = first["data"]["image_id"]
    assert first["data"]["image"] == f"http://127.0.0.1/image/{image_id}"
    prediction = first["predictions"][0]["result"][0]
    cluster = int(review_run.images.at[image_id, "cluster"])
    assert prediction["from_name"] == "cluster_choice" and prediction["value"]["choices"] == [
        "noise" if cluster == -1 else f"cluster {cluster}"
    ]
    embedded = browser.get("/export/labelstudio/tasks.json?embed=1").json()[0]["data"]["image"]
    header, data = embedded.split(",", 1)
    assert (
        header.startswith("data:image/")
        and base64.b64decode(data) == review_run.path_for(image_id).read_bytes()
    )
    config = ET.fromstring(browser.get("/export/labelstudio/config.xml").text)
    codes = config.find(".//Choices[@name='codes']")
    assert [c.get("value") for c in codes] == ["protest"] and codes[0].get("hint") == 'crowds & "marches"'
    assert len(config.find(".//Choices[@name='cluster_choice']")) == len(review_run.clusters)
    assert config.find(".//TextArea[@name='new_codes']") is not None


def test_an_empty_codebook_gets_a_config_label_studio_accepts(review_run, store):
    """Label Studio refuses a Choices without a Choice: the codes are typed in the new_codes box then."""
    config = ET.fromstring(labelstudio_config(review_run, []))
    assert config.find(".//Choices[@name='codes']") is None
    assert all(len(choices) > 0 for choices in config.iter("Choices"))
    assert config.find(".//TextArea[@name='new_codes']") is not None


def test_round_trip_through_the_import_form(app, store, review_run):
    store.add_code("protest")
    browser = Browser(app, coder="ana")
    tasks = browser.get("/export/labelstudio/tasks.json").json()
    exported = json.dumps(_annotate(tasks, store)).encode()
    page = browser.post("/import/labelstudio", files={"file": ("export.json", exported, "application/json")})
    assert page.status_code == 200, page.text
    assert "6 codings saved" in page.text and "new code" in page.text and "2 skipped" in page.text
    frame = store.codings_frame()
    ids = [t["data"]["image_id"] for t in tasks[:3]]
    assert set(zip(frame.image_id, frame.coder, frame.code)) == {
        (ids[0], "ana@example.org", "protest"),
        (ids[1], "ana@example.org", "protest"),
        (ids[1], "ana@example.org", "new code"),
        (ids[2], "ana@example.org", "protest"),
    }
    reviews = store.reviews_frame().set_index(["image_id", "coder"])
    assert reviews.loc[(ids[1], "ana@example.org"), "memo"] == "memo 1"
    assert (ids[0], "labelstudio-user-7") in reviews.index  # saved with no code (no users given)
    # The annotation's own time, not the import's; the cluster the annotator chose instead of the run's.
    assert set(frame.coded_at) == {pd.Timestamp("2024-05-01T10:00:00Z")}
    assert reviews.loc[(ids[0], "ana@example.org"), "updated_at"] == pd.Timestamp("2024-05-01T10:00:00Z")
    human = store.human_clusters().set_index(["image_id", "coder"])["human_cluster"]
    assert human.to_dict() == {(ids[0], "ana@example.org"): 2}  # the others kept the pre-annotation
    assert "1 image put in another cluster" in page.text
    # Importing the same file again changes nothing (a save is idempotent).
    before = (
        store.codings_frame()[["image_id", "coder", "code"]].sort_values(["image_id", "code"]).values.tolist()
    )
    browser.post("/import/labelstudio", files={"file": ("export.json", exported, "application/json")})
    after = (
        store.codings_frame()[["image_id", "coder", "code"]].sort_values(["image_id", "code"]).values.tolist()
    )
    assert before == after


def test_json_min_and_coder_override_and_bad_files(store, review_run):
    image_id = review_run.images.index[0]
    minimal = json.dumps(
        [
            {
                "image": f"http://127.0.0.1/image/{image_id}",
                "codes": {"choices": ["x"]},
                "memo": "min",
                "annotator": 3,
            }
        ]
    )
    summary = import_annotations(review_run, store, minimal, coder="carla")
    assert summary.saved == 1 and summary.new_codes == ["x"]
    assert store.coding_for(image_id, "carla")[1] == "min"
    import pytest

    with pytest.raises(ValueError, match="JSON"):
        import_annotations(review_run, store, b"<xml/>")
    with pytest.raises(ValueError, match="list of task"):
        import_annotations(review_run, store, b"[1, 2]")


def test_import_error_is_shown_not_raised(app):
    browser = Browser(app, coder="ana")
    page = browser.post("/import/labelstudio", files={"file": ("bad.json", b"{not json", "application/json")})
    assert page.status_code == 400 and "bad.json" in page.text and "JSON" in page.text


def test_annotators_named_by_id_become_their_emails_with_the_projects_users(store, review_run):
    image_id = review_run.images.index[0]
    exported = json.dumps(
        [
            {
                "id": 1,
                "data": {"image_id": image_id},
                "annotations": [
                    {
                        "completed_by": 7,
                        "created_at": "2024-06-02T08:00:00.5+00:00",
                        "result": [{"from_name": "new_codes", "value": {"text": ["marcha\n  otra  cosa "]}}],
                    }
                ],
            }
        ]
    )
    users = parse_users(
        json.dumps(
            [{"id": 7, "email": "carla@example.org", "username": "carla"}, {"id": 8, "username": "dani"}]
        )
    )
    assert users == {7: "carla@example.org", 8: "dani"}
    assert parse_users(json.dumps({"results": [{"id": 7, "email": "x@y.z"}]})) == {7: "x@y.z"}
    summary = import_annotations(review_run, store, exported, users=users)
    assert summary.saved == 1 and summary.new_codes == ["marcha", "otra cosa"]
    frame = store.codings_frame()
    assert set(frame.coder) == {"carla@example.org"}
    assert set(frame.coded_at) == {pd.Timestamp("2024-06-02T08:00:00.5Z")}  # created_at when no updated_at


def test_json_min_answers_do_not_lose_the_tasks_cluster(store, review_run):
    """JSON_MIN puts each control's answer beside the task's data: `cluster_choice` now, `cluster` before."""
    image_id = review_run.images.index[0]
    run_cluster = int(review_run.images.at[image_id, "cluster"])
    other = next(c for c in review_run.cluster_ids() if c != run_cluster)
    choice = "noise" if other == -1 else f"cluster {other}"
    rows = [
        {
            "image_id": image_id,
            "cluster": run_cluster,
            "cluster_choice": choice,
            "codes": {"choices": ["a"]},
            "annotator": 3,
            "updated_at": "2024-07-01T00:00:00Z",
        },
        {"image_id": review_run.images.index[1], "cluster": choice, "annotator": 3, "codes": ["b"]},
    ]
    summary = import_annotations(review_run, store, json.dumps(rows))
    assert summary.saved == 2
    human = store.human_clusters().set_index("image_id")["human_cluster"].to_dict()
    assert human[image_id] == other
    second_cluster = int(review_run.images.at[review_run.images.index[1], "cluster"])
    assert (review_run.images.index[1] in human) == (
        other != second_cluster
    )  # an old config's answer still read
