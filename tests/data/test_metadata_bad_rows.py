"""A bad metadata row costs that row at most (issue 26): an oversized cell, a NUL byte, a line that is
not UTF-8, a quote never closed, a line or item that is not a JSON object, a malformed or oversized
Instaloader sidecar. Each is a warning naming the file and line (the cleaning report prints them);
every other row's metadata is joined to its image.
"""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pandas as pd
import pytest
from data_corpus import encode, rich_photo, write

from visframe.data import instaloader
from visframe.data.ingest import ingest_folder
from visframe.data.metadata import MAX_CELL_CHARS, MetadataError

N_ROWS = 30
TEN_MB = 10 * 1024 * 1024


def ingest(root: Path, **options) -> tuple[pd.DataFrame, list[str]]:
    """The manifest and the warnings the cleaning report prints (one place to adapt)."""
    ingested = ingest_folder(root, cache_dir=root.parent / "cache", show_progress=False, **options)
    return ingested.manifest, list(ingested.warnings)


@pytest.fixture
def thirty(tmp_path) -> Path:
    root = tmp_path / "imgs"
    for i in range(N_ROWS):
        write(root, f"p{i:02d}.jpg", encode(rich_photo(100 + i, 48, 40), "JPEG", quality=70))
    return root


def csv_lines(bad: dict[int, bytes] | None = None) -> bytes:
    """header + one line per image (account a<i>, caption 'post <i> ñ', likes i); `bad` replaces lines."""
    lines = [b"file,account,caption,likes"]
    for i in range(N_ROWS):
        lines.append((bad or {}).get(i, f"p{i:02d}.jpg,a{i},post {i} ñ,{i}".encode()))
    return b"\n".join(lines) + b"\n"


def accounts(manifest: pd.DataFrame) -> dict[str, str | None]:
    rows = manifest[manifest.status != "metadata_only"]
    return {Path(p).stem: (None if pd.isna(a) else a) for p, a in zip(rows.path, rows.account)}


def assert_only_lost(manifest: pd.DataFrame, lost: set[int]) -> None:
    found = accounts(manifest)
    assert len(found) == N_ROWS
    for i in range(N_ROWS):
        expected = None if i in lost else f"a{i}"
        assert found[f"p{i:02d}"] == expected, (i, found[f"p{i:02d}"])


CASES = {
    # case: (line index, bytes of that line, rows lost, words the warning must hold)
    "a 10 MB cell": (
        4,
        b"p04.jpg,a4," + b"x" * TEN_MB + b",4",
        set(),
        ["line 6", "10,485,760 characters", "cut"],
    ),
    "a NUL byte": (9, b"p09.jpg,a9,post\x00 9,9", set(), ["line 11", "NUL", "removed"]),
    "a NUL byte in the first 4,096 bytes": (0, b"p00.jpg,a0\x00,post 0,0", set(), ["line 2", "NUL"]),
    "a line that is not UTF-8": (
        14,
        b"p14.jpg,a14,caf\xe9 14,14",
        set(),
        ["line 16", "not valid UTF-8", "0xE9"],
    ),
    "a quote never closed": (19, b'p19.jpg,a19,"post 19,19', {19}, ["line 21", "quote", "never closed"]),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_csv_row_costs_that_row_at_most(thirty, case):
    index, line, lost, words = CASES[case]
    (thirty.parent / "meta.csv").write_bytes(csv_lines({index: line}))
    manifest, warnings = ingest(thirty, metadata=thirty.parent / "meta.csv")
    assert_only_lost(manifest, lost)
    assert any(all(word in w for word in words) for w in warnings), warnings
    assert set(manifest.status) == {"ok"}  # no row of the folder lost, no metadata_only ghost rows


def test_the_bad_cells_themselves(thirty):
    bad = {
        CASES[case][0]: CASES[case][1] for case in ("a 10 MB cell", "a NUL byte", "a line that is not UTF-8")
    }
    (thirty.parent / "meta.csv").write_bytes(csv_lines(bad))
    manifest, _ = ingest(thirty, metadata=thirty.parent / "meta.csv")
    captions = dict(zip(manifest.path.map(lambda p: Path(p).stem), manifest.caption))
    assert captions["p04"] == "x" * MAX_CELL_CHARS
    assert captions["p09"] == "post 9"
    assert captions["p14"] == "caf\ufffd 14"
    assert captions["p13"] == "post 13 ñ"  # the rest of the file is still read as UTF-8
    likes = dict(zip(manifest.path.map(lambda p: Path(p).stem), manifest.likes))
    assert likes["p04"] == 4 and likes["p29"] == 29


def test_every_kind_at_once_loses_only_the_unclosed_quote(thirty):
    bad = {index: line for index, line, _, _ in CASES.values()}
    (thirty.parent / "meta.csv").write_bytes(csv_lines(bad))
    manifest, warnings = ingest(thirty, metadata=thirty.parent / "meta.csv")
    assert_only_lost(manifest, {19})
    assert sum("meta.csv line" in w for w in warnings) >= 5


def test_a_multi_line_caption_is_not_taken_for_an_unclosed_quote(thirty):
    bad = {3: b'p03.jpg,a3,"first line\nsecond line, with a comma",3', 7: b'p07.jpg,a7,"short\nrow"'}
    (thirty.parent / "meta.csv").write_bytes(csv_lines(bad))
    manifest, warnings = ingest(thirty, metadata=thirty.parent / "meta.csv")
    assert_only_lost(manifest, set())
    assert not any("quote" in w for w in warnings)
    caption = manifest.caption[manifest.path.str.endswith("p03.jpg")].iloc[0]
    assert caption == "first line\nsecond line, with a comma"


def test_notes_of_one_kind_are_counted_past_a_few(thirty):
    bad = {i: f"p{i:02d}.jpg,a{i},\x00post {i},{i}".encode() for i in range(N_ROWS)}
    (thirty.parent / "meta.csv").write_bytes(csv_lines(bad))
    manifest, warnings = ingest(thirty, metadata=thirty.parent / "meta.csv")
    assert_only_lost(manifest, set())
    assert sum("NUL" in w for w in warnings) == 21  # 20 listed, then one count
    assert any("… and 10 more line(s) held NUL bytes" in w for w in warnings)


@pytest.mark.parametrize(
    ("head", "what"),
    [(b"PK\x03\x04\x14\x00", "Excel .xlsx"), (b"\xff\xfef\x00i\x00l\x00e\x00", "UTF-16"),
     (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "Excel .xls")],
)  # fmt: skip
def test_a_binary_file_is_still_refused_whole(thirty, head, what):
    (thirty.parent / "meta.csv").write_bytes(head + b"\x00" * 64)
    with pytest.raises(MetadataError, match=f"binary, not text.*{what}"):
        ingest(thirty, metadata=thirty.parent / "meta.csv")


def test_json_lines_and_json_lists(thirty):
    lines = [
        json.dumps({"file": f"p{i:02d}.jpg", "account": f"a{i}", "caption": f"post {i}"})
        for i in range(N_ROWS)
    ]
    lines[2] = json.dumps({"file": "p02.jpg", "account": "a2", "caption": "x" * (MAX_CELL_CHARS + 5)})
    lines[5] = '{"file": "p05.jpg", "account": "a5", "caption": "with\u2028a line separator"}'  # raw U+2028
    lines[8] = '{"file": "p08.jpg", "account": "a8", "caption": "nul\x00"}'
    lines[11] = '{"file": "p11.jpg", "account": "a11", broken'
    lines[13] = "[" * 100_000 + "]" * 100_000  # nested beyond the recursion limit
    (thirty.parent / "m.jsonl").write_bytes("\n".join(lines).encode())
    manifest, warnings = ingest(thirty, metadata=thirty.parent / "m.jsonl")
    assert_only_lost(manifest, {11, 13})
    captions = dict(zip(manifest.path.map(lambda p: Path(p).stem), manifest.caption))
    assert len(captions["p02"]) == MAX_CELL_CHARS and captions["p08"] == "nul"
    assert captions["p05"] == "with\u2028a line separator"
    assert any("m.jsonl line 12 is not valid JSON" in w for w in warnings)
    items = [{"file": f"p{i:02d}.jpg", "account": f"a{i}"} for i in range(N_ROWS)]
    items[6] = "p06.jpg"  # not an object: skipped, the list is still read
    (thirty.parent / "m.json").write_text(json.dumps(items))
    manifest, warnings = ingest(thirty, metadata=thirty.parent / "m.json")
    assert_only_lost(manifest, {6})
    assert any("m.json item 7 is not a JSON object" in w for w in warnings)


def post(shortcode: str, account: str, **node) -> dict:
    node = {"shortcode": shortcode, "owner": {"username": account}, "taken_at_timestamp": 1583683200,
            "edge_media_to_caption": {"edges": [{"node": {"text": f"{account} #8M"}}]}, **node}  # fmt: skip
    return {"node": node, "instaloader": {"node_type": "Post"}}


def test_a_bad_instaloader_sidecar_costs_its_own_post_only(thirty, monkeypatch):
    monkeypatch.setattr(instaloader, "MAX_SIDECAR_BYTES", 1024 * 1024)  # the same rule, a smaller bomb
    for i in range(N_ROWS):
        (thirty / f"p{i:02d}.json").write_text(json.dumps(post(f"S{i}", f"a{i}")))
    # Carousel edges of the wrong shape: the post is skipped, never half-read.
    (thirty / "p03.json").write_text(json.dumps(post("S3", "a3", edge_sidecar_to_children={"edges": 7})))
    # Decompresses to 2 MiB of JSON, over the (patched) 1 MiB cap.
    big = json.dumps(post("S5", "a5", padding="x" * (2 * 1024 * 1024))).encode()
    (thirty / "p05.json").unlink()
    (thirty / "p05.json.xz").write_bytes(lzma.compress(big, preset=1))
    (thirty / "p07.json").write_bytes(json.dumps(post("S7", "a7")).encode().replace(b'"S7"', b'"S\x007"'))
    (thirty / "p09.json").write_text("{ not json")
    long_caption = post("S11", "a11")
    long_caption["node"]["edge_media_to_caption"]["edges"][0]["node"]["text"] = "#8M " + "y" * MAX_CELL_CHARS
    (thirty / "p11.json").write_text(json.dumps(long_caption))
    manifest, warnings = ingest(thirty, metadata_format="instaloader")
    assert_only_lost(manifest, {3, 5, 9})
    named = manifest.set_index(manifest.path.map(lambda p: Path(p).stem))
    assert named.loc["p07", "post_id"] == "S7" and len(named.loc["p11", "caption"]) == MAX_CELL_CHARS
    for words in (["p03.json", "unexpected shape"], ["p05.json.xz", "more than 1 MiB"], ["p07.json", "NUL"],
                  ["p09.json", "cannot read"], ["p11.json", "cut to that length"]):  # fmt: skip
        assert any(all(word in w for word in words) for w in warnings), words


def test_the_cleaning_report_file_lists_each_bad_row_with_its_line(thirty, tmp_path):
    """cleaning_report.csv, the file a user opens after the run, holds the row notes too (not only the
    console): one `warning` row per note, naming the metadata file and the line."""
    from visframe.data import stage as data_stage
    from visframe.run_dir import RunDir
    from visframe.stages import StageContext

    (thirty.parent / "meta.csv").write_bytes(
        csv_lines({9: b"p09.jpg,a9,post\x00 9,9", 19: b'p19.jpg,a19,"post 19,19'})
    )
    from omegaconf import OmegaConf

    settings = OmegaConf.create({"root": str(thirty), "metadata": str(thirty.parent / "meta.csv")})
    context = StageContext(cache_dir=tmp_path / "cache", show_progress=False)
    result = data_stage.run(data_stage.IngestInputs(None), settings, context)
    back = pd.read_csv(RunDir(tmp_path / "run").write_cleaning_report(result.report))
    notes = back[back.status == "warning"]["reason"].tolist()
    assert any("meta.csv line 11" in note and "NUL" in note for note in notes)
    assert any("meta.csv line 21" in note and "never closed" in note for note in notes)
    files = back[back.status != "warning"]
    assert files["count"].sum() == N_ROWS  # the per-status counts still count files
