"""The synthetic social-media corpus: deterministic, resumable, realistic metadata, real breakage."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visframe.data.synthetic import GENRE_NAMES, GENRES, generate_corpus, messages, vocab
from visframe.data.synthetic import generator as generator_module
from visframe.data.synthetic.__main__ import main as cli_main
from visframe.data.synthetic.drawing import FONT_FILES, font_path, get_font
from visframe.data.synthetic.plan import PRESETS, build_plan

METADATA_KEYS = {
    "file",
    "post_id",
    "account",
    "hashtags",
    "likes",
    "caption",
    "alt_text",
    "posted_at",
    "carousel_index",
    "label",
    "message",
    "rendered_text",
}
TEXT_GENRES = ("text_statement", "hashtag_graphic", "memo_notice", "missing_person_poster")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny-seed0")
    metadata = generate_corpus(root, preset="tiny", seed=0, show_progress=False)
    assert metadata == root / "metadata.jsonl"
    return root


@pytest.fixture(scope="module")
def records(corpus) -> tuple[list[dict], dict[str, dict]]:
    meta = read_jsonl(corpus / "metadata.jsonl")
    truth = {t["file"]: t for t in read_jsonl(corpus / "truth.jsonl")}
    return meta, truth


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(corpus, tmp_path):
    again = tmp_path / "again"
    generate_corpus(again, preset="tiny", seed=0, show_progress=False)
    first, second = file_digests(corpus), file_digests(again)
    assert first == second
    assert len(first) > 120

    other = tmp_path / "other"
    generate_corpus(other, preset="tiny", seed=1, show_progress=False)
    third = file_digests(other)
    assert third["metadata.jsonl"] != first["metadata.jsonl"]
    shared_images = [name for name in first if name.startswith("images/") and name in third]
    # Only the fixed "content unavailable" placeholder may coincide between seeds.
    assert sum(first[n] == third[n] for n in shared_images) <= 6


def test_worker_processes_do_not_change_the_bytes(tmp_path):
    serial = tmp_path / "serial"
    parallel = tmp_path / "parallel"
    generate_corpus(serial, preset="tiny", n_posts=40, seed=3, show_progress=False, workers=1)
    generate_corpus(parallel, preset="tiny", n_posts=40, seed=3, show_progress=False, workers=2)
    assert file_digests(serial) == file_digests(parallel)


def test_every_genre_appears_with_its_intended_share(records):
    meta, truth = records
    labels = Counter(m["label"] for m in meta)
    assert set(labels) == set(GENRE_NAMES) and len(GENRE_NAMES) >= 8
    # Posts (first image of original posts) follow the genre shares to the nearest post.
    originals = [
        m
        for m in meta
        if m["carousel_index"] == 0
        and not truth[m["file"]]["reshare_of"]
        and not truth[m["file"]]["near_duplicate_of"]
    ]
    post_labels = Counter(m["label"] for m in originals)
    for name, genre in GENRES.items():
        assert abs(post_labels[name] - genre.share * len(originals)) <= 1, name
    # Images (carousel pages included) stay close, and the classes are imbalanced.
    for name, genre in GENRES.items():
        assert abs(labels[name] / len(meta) - genre.share) < 0.08, name
    assert max(labels.values()) >= 3 * min(labels.values())


def test_spanish_text_renders_with_dejavu_glyphs():
    for face in FONT_FILES:
        assert font_path(face).is_file() and font_path(face).name.startswith("DejaVu")
    font = get_font("bold", 40)

    def glyph(ch: str) -> np.ndarray:
        return np.asarray(font.getmask(ch))

    missing = glyph("\ue000")  # a private-use code point: DejaVu draws its "missing glyph" box
    for accented, plain in (("á", "a"), ("é", "e"), ("ñ", "n"), ("Ú", "U"), ("¡", "!"), ("¿", "?")):
        got = glyph(accented)
        assert got.shape != glyph(plain).shape or (got != glyph(plain)).any(), accented
        assert got.shape != missing.shape or (got != missing).any(), f"{accented} drawn as a missing glyph"


def test_metadata_has_every_key_with_the_right_type(corpus, records):
    meta, truth = records
    assert len(meta) == len(truth) == sum(1 for _ in (corpus / "images").iterdir())
    for m in meta:
        assert set(m) == METADATA_KEYS
        assert (corpus / m["file"]).is_file() and m["file"].startswith("images/")
        assert isinstance(m["post_id"], str) and len(m["post_id"]) == 11
        assert isinstance(m["account"], str) and m["account"]
        assert isinstance(m["hashtags"], list) and m["hashtags"]
        assert all(isinstance(t, str) and t and not t.startswith("#") for t in m["hashtags"])
        assert isinstance(m["likes"], int) and m["likes"] >= 0
        assert isinstance(m["caption"], str) and m["caption"]
        assert isinstance(m["alt_text"], str)
        when = datetime.strptime(m["posted_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert datetime(2019, 1, 1, tzinfo=UTC) <= when < datetime(2022, 3, 1, tzinfo=UTC)
        assert isinstance(m["carousel_index"], int) and m["carousel_index"] >= 0
        assert m["label"] in GENRE_NAMES
        assert m["message"] is None or m["message"] in messages.MESSAGE_KEYS
    assert any(not m["alt_text"] for m in meta) and any(m["alt_text"] for m in meta)
    captions = " ".join(m["caption"] for m in meta)
    assert any(ch in captions for ch in "áéíóúñ¡¿") and "💜" in captions
    # Posting concentrates around 8 March and 25 November.
    near = 0
    for m in meta:
        when = datetime.strptime(m["posted_at"], "%Y-%m-%dT%H:%M:%SZ")
        near += any(abs((when - datetime(when.year, mo, day)).days) <= 7 for mo, day in ((3, 8), (11, 25)))
    assert near / len(meta) > 0.5
    likes = np.array([m["likes"] for m in meta])
    assert likes.max() > 5 * np.median(likes), "likes are heavy-tailed"


def test_posts_peak_in_the_weeks_of_8m_and_25n(records):
    meta, _ = records
    weeks = Counter(datetime.strptime(m["posted_at"], "%Y-%m-%dT%H:%M:%SZ").isocalendar()[:2] for m in meta)
    movement_weeks = {
        datetime(year, month, day).isocalendar()[:2]
        for year in (2019, 2020, 2021)
        for month, day in ((3, 8), (11, 25))
    }
    busiest = [week for week, _ in weeks.most_common(len(movement_weeks))]
    # The busiest weeks are (next to) the movement's dates: a posts-over-time plot shows the peaks.
    near = {(y, w + k) for y, w in movement_weeks for k in (-1, 0, 1)}
    assert sum(week in near for week in busiest) >= len(movement_weeks) - 1
    assert weeks.most_common(1)[0][1] >= 5 * np.median(list(weeks.values()))


def test_rendered_text_is_the_text_each_image_shows(records):
    meta, truth = records
    by_file = {m["file"]: m for m in meta}
    assert all(isinstance(m["rendered_text"], str) for m in meta)
    for m in meta:
        t = truth[m["file"]]
        if t["broken_kind"] in ("zero_byte", "truncated", "html"):
            assert m["rendered_text"] == "", "no picture, no text"
        elif t["reshare_of"]:
            assert m["rendered_text"] == by_file[t["reshare_of"]]["rendered_text"]
        elif m["label"] in TEXT_GENRES and not t["broken_kind"]:
            assert m["rendered_text"].strip(), m
    # Text in the picture is in the ground truth, line by line: Spanish accents kept, reading order
    # (a communiqué starts with its title, or the notes-app header above it).
    memos = [
        m["rendered_text"]
        for m in meta
        if m["label"] == "memo_notice" and not truth[m["file"]]["broken_kind"]
    ]
    starts = sum(" ".join(r.split()).startswith(tuple(vocab.MEMO_TITLES) + ("< Notas", "@")) for r in memos)
    assert memos and starts >= 0.9 * len(memos)
    assert all(len(r.splitlines()) >= 5 for r in memos)
    assert any(ch in " ".join(m["rendered_text"] for m in meta) for ch in "áéíóúñ")
    # Picture genres mostly show no text at all.
    portraits = [m["rendered_text"] for m in meta if m["label"] == "photo_portrait"]
    assert sum(r == "" for r in portraits) >= 0.6 * len(portraits)


def test_accounts_favour_their_genres(corpus, records):
    meta, truth = records
    favourites = json.loads((corpus / "corpus.json").read_text())["account_favourites"]
    originals = [m for m in meta if not truth[m["file"]]["reshare_of"] and m["carousel_index"] == 0]
    in_favourites = np.mean([m["label"] in favourites[m["account"]] for m in originals])
    # Under no association an account's 1–2 favourites would hold about a fifth of its posts.
    assert in_favourites > 0.6
    assert 12 <= len({m["account"] for m in meta}) <= 150


def test_carousels_share_post_id_caption_and_account(records):
    meta, _ = records
    posts = defaultdict(list)
    for m in meta:
        posts[m["post_id"]].append(m)
    carousels = [group for group in posts.values() if len(group) > 1]
    assert carousels
    for group in carousels:
        assert sorted(m["carousel_index"] for m in group) == list(range(len(group)))
        for key in ("caption", "account", "hashtags", "likes", "posted_at"):
            assert len({json.dumps(m[key]) for m in group}) == 1, key
    assert all(group[0]["carousel_index"] == 0 for group in posts.values() if len(group) == 1)


def test_reshares_are_byte_identical_copies_by_other_accounts(corpus, records):
    meta, truth = records
    by_file = {m["file"]: m for m in meta}
    reshares = [t for t in truth.values() if t["reshare_of"]]
    assert len(reshares) >= 0.03 * len(meta)
    for t in reshares:
        copy, source = by_file[t["file"]], by_file[t["reshare_of"]]
        assert t["file"] != t["reshare_of"]
        assert (corpus / t["file"]).read_bytes() == (corpus / t["reshare_of"]).read_bytes()
        assert copy["account"] != source["account"] and copy["post_id"] != source["post_id"]
        assert copy["label"] == source["label"] and copy["posted_at"] > source["posted_at"]

    near = [t for t in truth.values() if t["near_duplicate_of"]]
    assert near
    for t in near:
        a = Image.open(corpus / t["file"]).convert("L")
        b = Image.open(corpus / t["near_duplicate_of"]).convert("L")
        assert (corpus / t["file"]).read_bytes() != (corpus / t["near_duplicate_of"]).read_bytes()
        assert by_file[t["file"]]["label"] == by_file[t["near_duplicate_of"]]["label"]
        small_a = np.asarray(a.resize((32, 32)), dtype=float)
        small_b = np.asarray(b.resize((32, 32)), dtype=float)
        assert np.abs(small_a - small_b).mean() < 25, "a near-duplicate still looks like its source"


def test_broken_downloads_are_really_broken_and_recorded_only_in_truth(corpus, records):
    meta, truth = records
    kinds = Counter(t["broken_kind"] for t in truth.values() if t["broken_kind"])
    assert set(kinds) == {"zero_byte", "truncated", "html", "placeholder"}
    assert kinds["placeholder"] >= 3
    for t in truth.values():
        path = corpus / t["file"]
        if t["broken_kind"] in ("zero_byte", "truncated", "html"):
            with pytest.raises(OSError), Image.open(path) as img:  # UnidentifiedImageError is an OSError
                img.load()
            assert path.suffix == ".jpg"
        else:
            with Image.open(path) as img:
                img.load()
                assert img.size[0] == 256 or t["near_duplicate_of"] or t["broken_kind"] == "placeholder"
    assert (corpus / next(f for f, t in truth.items() if t["broken_kind"] == "zero_byte")).stat().st_size == 0
    html = next(f for f, t in truth.items() if t["broken_kind"] == "html")
    assert b"<html" in (corpus / html).read_bytes()
    placeholders = {(corpus / f).read_bytes() for f, t in truth.items() if t["broken_kind"] == "placeholder"}
    assert len(placeholders) == 1, "the 'content unavailable' image is the same file every time"
    assert all("broken" not in json.dumps(m) for m in meta)


def test_a_complete_corpus_is_returned_without_touching_it(corpus, monkeypatch):
    before = {p: p.stat().st_mtime_ns for p in corpus.rglob("*")}

    def must_not_plan(*args, **kwargs):
        raise AssertionError("a complete corpus must not be planned or painted again")

    monkeypatch.setattr(generator_module, "build_plan", must_not_plan)
    assert generate_corpus(corpus, preset="tiny", seed=0, show_progress=False) == corpus / "metadata.jsonl"
    assert {p: p.stat().st_mtime_ns for p in corpus.rglob("*")} == before


def test_an_interrupted_run_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    reference = tmp_path / "reference"
    generate_corpus(reference, preset="tiny", n_posts=30, seed=5, show_progress=False)

    resumed = tmp_path / "resumed"
    real_write = generator_module._atomic_write
    writes = {"n": 0}

    def dying_write(path, data):
        writes["n"] += 1
        if writes["n"] > 15:
            raise KeyboardInterrupt("killed mid-run")
        real_write(path, data)

    monkeypatch.setattr(generator_module, "_atomic_write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        generate_corpus(resumed, preset="tiny", n_posts=30, seed=5, show_progress=False)
    assert not (resumed / "corpus.json").exists()
    kept = {p.name: p.stat().st_mtime_ns for p in (resumed / "images").iterdir()}
    assert 0 < len(kept) < 30

    monkeypatch.setattr(generator_module, "_atomic_write", real_write)
    generate_corpus(resumed, preset="tiny", n_posts=30, seed=5, show_progress=False)
    assert file_digests(resumed) == file_digests(reference)
    assert all((resumed / "images" / n).stat().st_mtime_ns == t for n, t in kept.items()), "kept, not redone"

    # A different key in the same folder regenerates it cleanly (no stale files left behind).
    generate_corpus(resumed, preset="tiny", n_posts=20, seed=5, show_progress=False)
    listed = {m["file"] for m in read_jsonl(resumed / "metadata.jsonl")}
    assert {f"images/{p.name}" for p in (resumed / "images").iterdir()} == listed
    assert json.loads((resumed / "corpus.json").read_text())["n_posts"] == 20


def test_bad_arguments_and_foreign_folders_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="preset"):
        generate_corpus(tmp_path / "x", preset="huge", show_progress=False)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_bytes(b"important")
    with pytest.raises(FileExistsError, match="not empty"):
        generate_corpus(foreign, preset="tiny", n_posts=12, show_progress=False)
    assert (foreign / "thesis.docx").read_bytes() == b"important"


def test_cli_generates_a_corpus(tmp_path, capsys):
    cli_main([str(tmp_path / "cli"), "--preset", "tiny", "--n-posts", "15", "--seed", "2", "--quiet"])
    assert capsys.readouterr().out.strip() == str(tmp_path / "cli" / "metadata.jsonl")
    summary = json.loads((tmp_path / "cli" / "corpus.json").read_text())
    assert summary["n_posts"] == 15 and summary["seed"] == 2
    assert sum(summary["message_counts"].values()) + summary["n_without_message"] == summary["n_images"]
    first = read_jsonl(tmp_path / "cli" / "metadata.jsonl")[0]
    Image.open(io.BytesIO((tmp_path / "cli" / first["file"]).read_bytes())).load()


# ---------------------------------------------------------------- messages: what the images' text says


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


@pytest.fixture(scope="module")
def small_plan():
    """The small preset's plan: every post decided, nothing painted (a few seconds)."""
    return build_plan(PRESETS["small"], seed=0, image_size=256)


def _originals_with_text(plan) -> list:
    """One image per original post that carries text: the first of its pages that does."""
    seen, firsts = set(), []
    for s in plan.images:
        if s.message and s.reshare_of is None and s.near_duplicate_of is None and s.post_id not in seen:
            seen.add(s.post_id)
            firsts.append(s)
    return firsts


def test_the_seven_messages_each_have_ten_distinct_phrasings():
    assert set(messages.MESSAGE_KEYS) == {
        "woman_man_comparison",
        "authorities_accused",
        "victim_story",
        "domestic_violence",
        "gender_violence",
        "protest_call",
        "solidarity",
    }
    assert set(messages.MESSAGE_SHARES) == set(messages.MESSAGE_KEYS)
    everything = [p for m in messages.MESSAGE_KEYS for p in messages.PHRASINGS[m]]
    assert len(set(map(_flat, everything))) == len(everything), "no phrasing said twice, nor by two messages"
    for message in messages.MESSAGE_KEYS:
        said = messages.PHRASINGS[message]
        # Enough for every genre's space: banners and signs, cards, communiqués.
        assert len(messages.phrasings(message, max_chars=messages.SHORT_MAX)) >= 10, message
        assert len(messages.phrasings(message, min_chars=messages.MEMO_MIN)) >= 5, message
        # Distinct wording, not one template with a word swapped: no two share most of their words.
        words = [set(_flat(p).replace(",", " ").replace(".", " ").split()) for p in said]
        for i in range(len(words)):
            for j in range(i + 1, len(words)):
                overlap = len(words[i] & words[j]) / len(words[i] | words[j])
                assert overlap < 0.5, (said[i], said[j])
        # Hashtags stay out of most phrasings.
        assert sum("#" in p for p in said) <= 2, message
    # No phrasing shows inside another message's (the truth of a text is unambiguous).
    for message in messages.MESSAGE_KEYS:
        for phrasing in messages.PHRASINGS[message]:
            assert messages.message_of(phrasing) == message, phrasing


def test_every_image_with_text_says_one_message_and_no_other_image_does(small_plan):
    for s in small_plan.images:
        drawn = "\n".join((s.headline, *s.body))
        if not s.headline:
            assert s.message is None and not s.body and not s.phrasing, s
            continue
        assert s.message in messages.MESSAGE_KEYS, s
        assert s.phrasing in messages.PHRASINGS[s.message]
        assert _flat(s.phrasing) in _flat(drawn), "the drawn text says the message in its phrasing"
        assert messages.message_of(drawn) == s.message
    by_label = defaultdict(list)
    for s in small_plan.images:
        by_label[s.label].append(s.message is not None)
    for genre, spec in GENRES.items():
        share = np.mean(by_label[genre])
        if spec.text_share == 1.0:  # text genres, hashtag graphics and search posters included
            assert share == 1.0, genre
        else:  # photos, illustrations and landmarks mostly show no words at all
            assert abs(share - spec.text_share) < 0.12, genre
    assert sum(s.message is None for s in small_plan.images) > 300


def test_messages_are_independent_of_the_genre_and_spread_across_it(small_plan):
    from scipy.stats import chi2_contingency

    firsts = _originals_with_text(small_plan)
    table = Counter((s.message, s.label) for s in firsts)
    for message in messages.MESSAGE_KEYS:
        genres = {g for (m, g), n in table.items() if m == message and n > 0}
        assert len(genres) >= 3, message
        assert {"text_statement", "hashtag_graphic", "memo_notice", "purple_overlay"} <= genres, message

    overall = Counter(s.message for s in firsts)
    big = [g for g in GENRE_NAMES if sum(table[(m, g)] for m in messages.MESSAGE_KEYS) >= 40]
    observed = np.array([[table[(m, g)] for g in big] for m in messages.MESSAGE_KEYS])
    assert chi2_contingency(observed).pvalue > 0.01, "messages do not depend on the genre"
    for j, genre in enumerate(big):
        if observed[:, j].sum() >= 100:
            shares = observed[:, j] / observed[:, j].sum()
            expected = np.array([overall[m] / len(firsts) for m in messages.MESSAGE_KEYS])
            assert np.abs(shares - expected).max() < 0.12, genre
    # The test has the power to see a dependence: messages tied to genres fail it by far.
    tied = np.diag(observed.sum(axis=0)[: len(messages.MESSAGE_KEYS)]) + 1
    assert chi2_contingency(tied).pvalue < 1e-6


def test_each_message_is_said_in_many_phrasings_in_the_small_corpus(small_plan):
    used = defaultdict(set)
    for s in small_plan.images:
        if s.message:
            used[s.message].add(s.phrasing)
    assert set(used) == set(messages.MESSAGE_KEYS)
    for message, phrasings in used.items():
        assert len(phrasings) >= 10, message
    counts = Counter(s.message for s in _originals_with_text(small_plan))
    assert min(counts.values()) >= 80, counts


def test_copies_and_carousel_pages_keep_the_message_of_their_post(small_plan):
    images = small_plan.images
    copies = [s for s in images if s.reshare_of is not None or s.near_duplicate_of is not None]
    assert copies
    for s in copies:
        source = images[s.reshare_of if s.reshare_of is not None else s.near_duplicate_of]
        assert (s.message, s.headline, s.body, s.phrasing) == (
            source.message,
            source.headline,
            source.body,
            source.phrasing,
        )
    pages = defaultdict(list)
    for s in images:
        if s.reshare_of is None and s.near_duplicate_of is None:
            pages[s.post_id].append(s)
    carousels = [group for group in pages.values() if sum(s.message is not None for s in group) > 1]
    assert carousels
    for group in carousels:
        assert len({s.message for s in group if s.message}) == 1, "one post, one message"
    assert any(len({s.phrasing for s in group if s.message}) > 1 for group in carousels), "pages vary words"


def test_alt_text_quotes_the_text_the_image_shows(small_plan):
    quoted = 0
    for s in small_plan.images:
        if 'dice "' in s.alt_text:
            quote = s.alt_text.split('dice "', 1)[1].rsplit('"', 1)[0]
            assert quote == " ".join(part for part in (s.headline, *s.body[:1]) if part)
            assert _flat(s.phrasing) in _flat(quote), "the quote says the message"
            quoted += 1
    assert quoted > 300


def test_the_plan_of_messages_is_deterministic(small_plan):
    again = build_plan(PRESETS["small"], seed=0, image_size=256)
    assert [(s.message, s.phrasing, s.headline, s.body) for s in again.images] == [
        (s.message, s.phrasing, s.headline, s.body) for s in small_plan.images
    ]
    other = build_plan(PRESETS["small"], seed=1, image_size=256)
    assert [s.message for s in other.images[:200]] != [s.message for s in small_plan.images[:200]]


def test_rendered_text_says_the_images_message(records):
    meta, truth = records
    with_message = [m for m in meta if m["message"] and not truth[m["file"]]["broken_kind"]]
    assert len(with_message) > 60
    said = [messages.message_of(m["rendered_text"]) for m in with_message]
    # Wrapped over lines, cased as the genre writes it, but every word of one of its phrasings; only a
    # re-crop on the way to the feed may cut a line off (as it does to every text: drawing.map_lines).
    assert all(got in (m["message"], None) for got, m in zip(said, with_message))
    assert np.mean([got == m["message"] for got, m in zip(said, with_message)]) >= 0.95
    for got, m in zip(said, with_message):
        if got is None:
            words = {w for p in messages.PHRASINGS[m["message"]] for w in _flat(p).split()}
            assert set(_flat(m["rendered_text"]).split()) & words, m
    for m in meta:
        if not m["message"]:
            assert messages.message_of(m["rendered_text"]) is None, m
        quote = m["alt_text"].split('dice "', 1)[1].rsplit('"', 1)[0] if 'dice "' in m["alt_text"] else ""
        if quote and not truth[m["file"]]["broken_kind"]:
            assert set(_flat(quote).split()) <= set(_flat(m["rendered_text"]).split()), m
    assert {m["message"] for m in with_message} == set(messages.MESSAGE_KEYS)
    # truth.jsonl names the phrasing each image shows (only the generator knows it).
    for m in meta:
        phrasing = truth[m["file"]]["phrasing"]
        assert (phrasing is None) == (m["message"] is None)
        if phrasing is not None:
            assert phrasing in messages.PHRASINGS[m["message"]]
            if messages.message_of(m["rendered_text"]) == m["message"]:
                assert _flat(phrasing) in _flat(m["rendered_text"]), m
