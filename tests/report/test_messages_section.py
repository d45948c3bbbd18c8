""" "What the text says": the report's section on message topics and slogans (report/messages.py).

The fixture run (conftest: clusters 0, 1, 2 and noise) gets message tables by design: each image is
given a message topic, "text in no topic" or no text, and the expected clusters × topics counts are
counted here post by post, independently of the report's code."""

from __future__ import annotations

import re
from collections import Counter
from html import escape

import pandas as pd
import pytest
from PIL import Image
from report_helpers import describe_into

from visframe import contracts as C
from visframe.report import build_report

CONFIG = {"sampling": {"enabled": False}, "messages": {"top_slogans": 1}}
TOPIC_NAMES = {0: "justicia, todas · #8M", 1: "<i>vivas</i>, queremos", -1: "noise · otros"}
XSS_SLOGAN = "<b>Ni una más</b> vivas nos queremos"
NO_TEXT = "no text"


def _design(assignments: pd.DataFrame) -> dict[str, int | None]:
    """image_id -> its message topic (-1: text in no topic; None: no text), by the image's first post."""
    design: dict[str, int | None] = {}
    seen = Counter()
    for image_id, cluster in zip(assignments[C.IMAGE_ID], assignments[C.CLUSTER]):
        if image_id in design:
            continue
        k = seen[cluster]
        seen[cluster] += 1
        if cluster == 0:
            design[image_id] = 0 if k < 12 else (-1 if k < 18 else None)
        elif cluster == 1:
            design[image_id] = 0 if k < 8 else 1
        elif cluster == 2:
            design[image_id] = 1
        else:
            design[image_id] = None
    return design


def _write_messages(run_dir, assignments: pd.DataFrame, with_topics: bool = True) -> pd.DataFrame:
    """messages.parquet, message_topics.parquet and slogans.parquet as the pipeline writes them; returns
    the assignments with their message_topic column."""
    design = _design(assignments)
    if not with_topics:
        design = {i: (None if t is None else -1) for i, t in design.items()}
    texted = [i for i, t in design.items() if t is not None]
    messages = pd.DataFrame(
        {
            C.IMAGE_ID: pd.array(texted, dtype="string"),
            C.MESSAGE_TEXT: pd.array([f"texto de {i}\nsegunda línea" for i in texted], dtype="string"),
            C.MESSAGE_TOPIC: pd.array([design[i] for i in texted], dtype="int64"),
            C.MESSAGE_PROBABILITY: [0.0 if design[i] == -1 else 0.9 for i in texted],
        }
    )
    C.validate(C.MESSAGES, messages).to_parquet(run_dir / C.MESSAGES_FILE)
    topic = assignments[C.IMAGE_ID].map(lambda i: -1 if design[i] is None else design[i]).astype("int64")
    with_column = assignments.assign(**{C.MESSAGE_TOPIC: topic})
    if not with_topics:
        return with_column
    first_of = {t: next(i for i in texted if design[i] == t) for t in (0, 1, -1)}
    rows = []
    for t in (0, 1, -1):
        posts = with_column[[design[i] == t for i in with_column[C.IMAGE_ID]]]
        rows.append(
            {
                C.MESSAGE_TOPIC: t,
                C.NAME: TOPIC_NAMES[t],
                C.SIZE: len(posts),
                C.N_UNIQUE_IMAGES: posts[C.IMAGE_ID].nunique(),
                C.TOP_TERMS: ["justicia", "todas"],
                C.TOP_HASHTAGS: ["#8M"],
                C.TOP_ACCOUNTS: ["ana", "bea"],
                C.MEDOID_IMAGE_ID: first_of[t],
                C.FIRST_POSTED_AT: pd.Timestamp("2024-03-08", tz="UTC"),
                C.LAST_POSTED_AT: pd.Timestamp("2024-03-10", tz="UTC"),
            }
        )
    C.validate(C.MESSAGE_TOPICS, pd.DataFrame(rows)).to_parquet(run_dir / C.MESSAGE_TOPICS_FILE)
    slogans = pd.DataFrame(
        {
            C.SLOGAN: [XSS_SLOGAN, "justicia para todas"],
            C.N_DESIGNS: [3, 2],
            C.N_UNIQUE_IMAGES: [3, 2],
            C.N_POSTS: [4, 2],
            C.N_ACCOUNTS: [3, 2],
            C.FIRST_ACCOUNT: ["ana", "bea"],
            C.FIRST_POSTED_AT: pd.to_datetime(["2024-03-08", "2024-03-09"], utc=True),
            C.LAST_POSTED_AT: pd.to_datetime(["2024-03-10", "2024-03-11"], utc=True),
            C.MESSAGE_TOPIC: [1, 0],
            C.IMAGE_IDS: [texted[:3], texted[3:5]],
        }
    )
    C.validate(C.SLOGANS, slogans).to_parquet(run_dir / C.SLOGANS_FILE)
    return with_column


@pytest.fixture(scope="module")
def with_topics(corpus, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("messages_run")
    describe_into(run_dir, {"zero_shot": {"enabled": False}}, corpus["manifest"], corpus["assignments"])
    assignments = _write_messages(run_dir, corpus["assignments"])
    result = build_report(
        run_dir,
        CONFIG,
        corpus["manifest"],
        assignments,
        {},
        cache_dir=tmp_path_factory.mktemp("cache"),
        show_progress=False,
    )
    return {"out": run_dir / "report", "result": result, "assignments": assignments}


def _expected_crosstab(assignments: pd.DataFrame) -> dict[tuple[int, str], int]:
    design = _design(assignments)
    label = {0: f"0 · {TOPIC_NAMES[0]}", 1: f"1 · {TOPIC_NAMES[1]}", -1: "text in no topic", None: NO_TEXT}
    return Counter(
        (int(c), label[design[i]]) for i, c in zip(assignments[C.IMAGE_ID], assignments[C.CLUSTER])
    )


def test_the_section_writes_its_tables_figure_and_medoids(with_topics):
    out, files = with_topics["out"], with_topics["result"].files
    for name in (
        "cluster_by_message_topic.parquet",
        "cluster_by_message_topic.csv",
        "cluster_by_message_topic.png",
        "slogans.parquet",
        "slogans.csv",
        "medoids/topic_0.jpg",
        "medoids/topic_1.jpg",
        "medoids/topic_-1.jpg",
    ):
        assert (out / name).is_file() and out / name in files, name
    with Image.open(out / "cluster_by_message_topic.png") as figure:
        assert figure.width >= 400 and figure.height >= 200
    assert not any("message" in note for note in with_topics["result"].notes)


def test_the_crosstab_counts_every_post_by_cluster_and_topic(with_topics):
    table = pd.read_parquet(with_topics["out"] / "cluster_by_message_topic.parquet")
    expected = _expected_crosstab(with_topics["assignments"])
    topic_columns = [c for c in table.columns if c not in ("cluster", "name", "posts")]
    # topics largest first (topic 0 has 12 + 8 images, topic 1 8 + 12 posts), then the two without a topic
    assert topic_columns[-2:] == ["text in no topic", NO_TEXT]
    assert set(topic_columns[:2]) == {f"0 · {TOPIC_NAMES[0]}", f"1 · {TOPIC_NAMES[1]}"}
    assert table["cluster"].tolist() == [0, 1, 2, -1]  # largest first, noise last
    for row in table.to_dict("records"):
        for column in topic_columns:
            assert row[column] == expected.get((row["cluster"], column), 0), (row["cluster"], column)
        assert row["posts"] == sum(row[c] for c in topic_columns)
    assert table["posts"].sum() == len(with_topics["assignments"])
    csv = pd.read_csv(with_topics["out"] / "cluster_by_message_topic.csv")
    assert csv[NO_TEXT].tolist() == table[NO_TEXT].tolist()


def test_the_page_shows_topics_crosstab_and_slogans_escaped(with_topics):
    html = (with_topics["out"] / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="messages"') : html.index('id="run"')]
    assert html.index('id="gallery"') < html.index('id="messages"')
    for topic in (0, 1, -1):
        assert f'id="topic-{topic}"' in section
    assert "<i>vivas</i>" not in html and escape("<i>vivas</i>, queremos") in section
    card = section[section.index('id="topic-0"') : section.index('id="topic-1"')]
    assert "medoid" in card and "@ana" in card and "2024-03-08 → 2024-03-10" in card
    assert "texto de" in card and "segunda línea" in card  # what its medoid says
    assert 'id="cluster-by-message-topic"' in section and "data:image/png;base64," in section
    slogans = section[section.index('id="slogans"') :]
    assert XSS_SLOGAN not in html and escape(XSS_SLOGAN) in slogans and ">ana<" in slogans
    assert "justicia para todas" not in slogans  # top_slogans=1 on the page …
    assert len(pd.read_csv(with_topics["out"] / "slogans.csv")) == 2  # … every slogan in the file
    assert re.search(r"2 slogans, most accounts first", slogans)


def test_a_run_without_message_topics_has_no_section_and_the_stage_s_note(corpus, tmp_path):
    """The messages stage skipped (no messages.parquet): no section, no files, and the stage's reason,
    which the pipeline hands to the report, is the one note about it."""
    skipped = "2 image(s) carry text (text=none and no platform alt text quoting any?): no message topics"
    result = build_report(
        tmp_path,
        CONFIG,
        corpus["manifest"],
        corpus["assignments"],
        {},
        cache_dir=tmp_path / "cache",
        show_progress=False,
        notes=[skipped],
    )
    out = tmp_path / "report"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="messages"' not in html and "What the text says" not in html
    assert not (out / "cluster_by_message_topic.parquet").exists() and not (out / "slogans.csv").exists()
    assert [n for n in result.notes if "message topic" in n] == [skipped]
    assert escape(skipped) in html[html.index('id="notes"') :]


def test_text_in_no_topic_only_is_a_note_too(corpus, tmp_path):
    assignments = _write_messages(tmp_path, corpus["assignments"], with_topics=False)
    result = build_report(
        tmp_path,
        CONFIG,
        corpus["manifest"],
        assignments,
        {},
        cache_dir=tmp_path / "cache",
        show_progress=False,
    )
    assert any("none fell in a topic" in n for n in result.notes)
    assert 'id="messages"' not in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")


def test_topics_come_from_messages_parquet_when_the_assignments_lack_the_column(corpus, tmp_path):
    """An older assignments table (no message_topic) and no message_topics.parquet: the posts' topics are
    their images' topics in messages.parquet, unnamed ('topic 0'), with a note saying what is missing."""
    _write_messages(tmp_path, corpus["assignments"])
    (tmp_path / C.MESSAGE_TOPICS_FILE).unlink()
    result = build_report(
        tmp_path,
        CONFIG,
        corpus["manifest"],
        corpus["assignments"],
        {},
        cache_dir=tmp_path / "cache",
        show_progress=False,
    )
    table = pd.read_parquet(tmp_path / "report" / "cluster_by_message_topic.parquet").set_index("cluster")
    expected = _expected_crosstab(corpus["assignments"])
    for cluster in (0, 1, 2):
        for topic in (0, 1):
            assert table.loc[cluster, f"topic {topic}"] == expected.get(
                (cluster, f"{topic} · {TOPIC_NAMES[topic]}"), 0
            )
    assert table.loc[2, "topic 1"] == 12
    assert any(C.MESSAGE_TOPICS_FILE in n for n in result.notes)
