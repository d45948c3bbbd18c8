"""Message topics and slogans in the review app: the topics overview, a topic's images (filtered by
visual cluster), a slogan's images, the cluster pages' filter by message topic, and runs without them.

The fixture run with `messages=True` (review_fixtures.MESSAGE_TOPIC_OF): topic 0 on the even images
0-18 (clusters 0 and 2), topic 1 on the odd images 1-23 (clusters 1 and -1), images 20 and 22 with
text in no topic, the rest without text; slogan 0 on images 1, 5, 9, 13, slogan 1 (hostile text)
on images 3 and 7.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from review_fixtures import (
    CLUSTERS,
    MESSAGE_TOPIC_NAMES,
    MESSAGE_TOPIC_OF,
    SLOGAN_IMAGES,
    SLOGAN_TEXT,
    XSS_ACCOUNT,
    XSS_SLOGAN,
    Browser,
    make_run_dir,
    message_text,
)

from visframe import contracts as C
from visframe.review.app import create_app
from visframe.review.run_data import load_run
from visframe.review.store import ReviewStore, sqlite_url

IMAGE_ARTICLE = re.compile(r'<article class="image" id="img-([0-9a-f]{16})">')


def _client(tmp_path, page_size: int = 48, **kwargs):
    run_dir = make_run_dir(tmp_path, **kwargs)
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "r.db"), run.run_id)
    ids = pd.read_parquet(run_dir / C.MANIFEST_FILE)[C.IMAGE_ID].tolist()[:30]
    return Browser(create_app(run, store, page_size=page_size)), ids, store


@pytest.fixture
def with_topics(tmp_path):
    browser, ids, store = _client(tmp_path, messages=True)
    yield browser, ids
    store.dispose()


def _shown(page: str) -> list[str]:
    return IMAGE_ARTICLE.findall(page)


def _numbers(ids: list[str], page: str) -> list[int]:
    return [ids.index(i) for i in _shown(page)]


def test_topics_page_lists_each_topic_with_size_terms_medoid_and_the_slogans(with_topics):
    browser, ids = with_topics
    page = browser.get("/topics")
    assert page.status_code == 200
    text = page.text
    assert '<a href="/topics" aria-current="page">Topics</a>' in text  # in the header, chosen
    for topic, name in MESSAGE_TOPIC_NAMES.items():
        card = text[text.index(f'id="topic-card-{topic}"') :]
        card = card[: card.index("</a>")]
        n = sum(1 for t in MESSAGE_TOPIC_OF.values() if t == topic)
        assert name.replace("'", "&#39;") in card and f"<strong>{n}</strong> images to code" in card
        assert f"/thumb/{ids[min(k for k, t in MESSAGE_TOPIC_OF.items() if t == topic)]}" in card  # medoid
        for term in name.split(" · "):
            assert f'<span class="term">{term}</span>' in card
    # Largest first, the text in no topic last.
    assert (
        text.index('id="topic-card-1"') < text.index('id="topic-card-0"') < text.index('id="topic-card--1"')
    )
    assert "text in no topic" in text
    # Slogans: most accounts first, first account and dates, their message topic; hostile text escaped.
    assert text.index(SLOGAN_TEXT) < text.index("basta")
    assert '<a href="/slogan/0">' + SLOGAN_TEXT + "</a>" in text
    assert "@cuenta_1" in text and "2024-03-08 13:00" in text
    assert XSS_SLOGAN not in text and "&lt;script&gt;window.__xss = 2" in text
    assert XSS_ACCOUNT not in text and "&#34;&gt;&lt;b&gt;bold" in text  # a topic's top account, escaped


def test_a_topic_page_lists_its_images_most_typical_first_and_filters_by_visual_cluster(with_topics):
    browser, ids = with_topics
    page = browser.get("/topic/0").text
    topic_0 = [k for k, t in MESSAGE_TOPIC_OF.items() if t == 0]
    assert _numbers(ids, page) == sorted(topic_0)  # the fixture's probability falls with k
    assert '<h1 id="topic-title">justicia · exigimos</h1>' in page
    assert message_text(2) in page  # each image shows what its text says …
    assert '<a class="cluster" href="/cluster/2">' in page  # … and its visual cluster
    # The filter lists the visual clusters the topic spans, with counts.
    nav = page[page.index('id="cluster-filter"') : page.index("</nav>", page.index('id="cluster-filter"'))]
    assert f'href="/topic/0" aria-current="page">all <small>{len(topic_0)}</small>' in nav
    in_cluster = {c: sum(1 for k in topic_0 if CLUSTERS[k % 4] == c) for c in (0, 2)}
    for cluster, n in in_cluster.items():
        assert f'href="/topic/0?cluster={cluster}"' in nav and f"<small>{n}</small>" in nav
    assert 'href="/topic/0?cluster=1"' not in nav
    only_2 = browser.get("/topic/0?cluster=2").text
    assert _numbers(ids, only_2) == [k for k in sorted(topic_0) if CLUSTERS[k % 4] == 2]
    assert _numbers(ids, browser.get("/topic/0?cluster=1").text) == []  # a cluster outside the topic: none
    # The text in no topic has its page; the topic page lists its slogans.
    assert _numbers(ids, browser.get("/topic/-1").text) == [20, 22]
    assert 'href="/slogan/0"' in browser.get("/topic/1").text
    assert browser.get("/topic/7").status_code == 404
    assert browser.get("/topic/0?cluster=99").status_code == 404
    assert browser.get("/topic/x").status_code == 400


def test_a_topic_page_pages_with_its_cluster_filter_kept(tmp_path):
    browser, ids, store = _client(tmp_path, page_size=3, messages=True)
    first = browser.get("/topic/1?cluster=1").text
    in_topic = [k for k in sorted(MESSAGE_TOPIC_OF) if MESSAGE_TOPIC_OF[k] == 1 and CLUSTERS[k % 4] == 1]
    assert _numbers(ids, first) == in_topic[:3]
    assert 'href="/topic/1?cluster=1&amp;offset=3"' in first
    assert _numbers(ids, browser.get("/topic/1?cluster=1&offset=3").text) == in_topic[3:6]
    store.dispose()


def test_a_cluster_page_shows_the_message_topics_in_it_and_filters_by_one(with_topics):
    browser, ids = with_topics
    page = browser.get("/cluster/0").text
    nav = page[page.index('id="topic-filter"') : page.index("</nav>", page.index('id="topic-filter"'))]
    members = [k for k in range(30) if CLUSTERS[k % 4] == 0]
    in_0 = [k for k in members if MESSAGE_TOPIC_OF.get(k) == 0]
    assert f'href="/cluster/0?topic=0">justicia · exigimos <small>{len(in_0)}</small>' in nav
    assert 'href="/cluster/0?topic=-1">text in no topic <small>1</small>' in nav
    assert 'href="/cluster/0?topic=1"' not in nav  # no topic-1 image in cluster 0
    assert sorted(_numbers(ids, browser.get("/cluster/0?topic=0").text)) == in_0
    assert _numbers(ids, browser.get("/cluster/0?topic=-1").text) == [20]
    assert '<a class="topic" href="/topic/0">justicia · exigimos</a>' in page  # each image: its topic
    assert browser.get("/cluster/0?topic=9").status_code == 404
    assert browser.get("/cluster/0?topic=zz").status_code == 400


def test_a_slogan_page_shows_its_images_across_accounts_with_first_account_and_dates(with_topics):
    browser, ids = with_topics
    page = browser.get("/slogan/0").text
    assert sorted(_numbers(ids, page)) == list(SLOGAN_IMAGES)
    facts = page[page.index('id="slogan-facts"') :]
    facts = facts[: facts.index("</p>")]
    assert "on 4 designs, 4 images, 4 posts by 4 accounts" in facts
    assert '<span class="account">@cuenta_1</span>' in facts
    assert "2024-03-08 13:00" in facts and "2024-03-09 01:00" in facts
    assert '<a href="/topic/1">ni una menos · vivas</a>' in facts
    hostile = browser.get("/slogan/1").text
    assert XSS_SLOGAN not in hostile and sorted(_numbers(ids, hostile)) == [3, 7]
    assert browser.get("/slogan/2").status_code == 404
    assert browser.get("/slogan/-1").status_code == 400


def test_a_run_without_message_topics_codes_as_before_and_says_why(tmp_path):
    browser, _ids, store = _client(tmp_path)  # no messages.parquet: messages=none, or a run made before it
    overview = browser.get("/").text
    assert 'href="/topics"' not in overview
    page = browser.get("/topics")
    assert page.status_code == 200 and 'id="no-topics"' in page.text
    assert C.MESSAGES_FILE in page.text and "messages=none" in page.text
    cluster = browser.get("/cluster/0")
    assert cluster.status_code == 200 and 'id="topic-filter"' not in cluster.text
    assert len(_shown(cluster.text)) == sum(1 for k in range(30) if CLUSTERS[k % 4] == 0)
    for url in ("/topic/0", "/slogan/0", "/cluster/0?topic=0"):
        missing = browser.get(url)
        assert missing.status_code == 404 and C.MESSAGES_FILE in missing.text, url
    store.dispose()


def test_topics_without_the_describe_stage_are_numbered(tmp_path):
    """messages.parquet without message_topics.parquet (describe off): topics by number, sizes counted."""
    browser, ids, store = _client(tmp_path, messages=True, describe=False)
    text = browser.get("/topics").text
    assert 'id="topic-card-0"' in text and "<h2>topic 0</h2>" in text and "justicia · exigimos" not in text
    assert _numbers(ids, browser.get("/topic/1").text) == sorted(
        k for k, t in MESSAGE_TOPIC_OF.items() if t == 1
    )
    store.dispose()


def test_images_are_coded_from_a_topic_page_as_from_a_cluster_page(tmp_path):
    run_dir = make_run_dir(tmp_path, messages=True)
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "r.db"), run.run_id)
    code = store.add_code("denuncia")
    browser = Browser(create_app(run, store), coder="ana")
    ids = pd.read_parquet(run_dir / C.MANIFEST_FILE)[C.IMAGE_ID].tolist()
    page = browser.get("/slogan/0").text
    assert f'id="panel-{ids[1]}"' in page and f'hx-post="/code/{ids[1]}"' in page
    assert browser.code(ids[1], [code.id], memo="lema").status_code == 200
    assert store.coding_for(ids[1], "ana")[:2] == ({code.id}, "lema")
    assert "checked" in browser.get("/topic/1").text.split(f'id="panel-{ids[1]}"')[1].split("</form>")[0]
    store.dispose()
