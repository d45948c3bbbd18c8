"""Metadata: CSV / JSONL edge cases, Instaloader sidecars, and the join to the folder's files."""

from __future__ import annotations

import json
import lzma
import os
from pathlib import Path

import pandas as pd
import pytest
from data_corpus import encode, rich_photo, write

from visframe.data.ingest import ingest_folder
from visframe.data.metadata import MetadataError, parse_count, parse_hashtags, parse_timestamp


def make_images(root: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        write(root, name, encode(rich_photo(40 + i), "PNG" if name.endswith(".png") else "JPEG"))


def ingest(root: Path, **kwargs) -> pd.DataFrame:
    return ingested(root, **kwargs).manifest


def ingested(root: Path, **kwargs):
    """The manifest with ingest's warnings (visframe.data.ingest.Ingested)."""
    return ingest_folder(root, cache_dir=root.parent / "cache", show_progress=False, **kwargs)


def row_of(manifest: pd.DataFrame, name: str) -> pd.Series:
    [index] = [i for i, path in enumerate(manifest.path) if path.endswith("/" + name)]
    return manifest.iloc[index]


# ----------------------------------------------------------------------------------------- parsers


@pytest.mark.parametrize(
    ("value", "tags"),
    [
        ("#8M #NiUnaMenos", ["8M", "NiUnaMenos"]),
        ("8M,NiUnaMenos", ["8M", "NiUnaMenos"]),
        ("#8M#25N; #JusticiaParaTodas", ["8M", "25N", "JusticiaParaTodas"]),
        (["#8M", "NiUnaMenos", "#8M"], ["8M", "NiUnaMenos"]),
        ('["8M", "#VivasNosQueremos"]', ["8M", "VivasNosQueremos"]),
        ("#MéxicoFeminicida #💜", ["MéxicoFeminicida", "💜"]),
        ("", None),
        (None, None),
        ([], []),
    ],
)
def test_parse_hashtags(value, tags):
    assert parse_hashtags(value) == tags


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (12, 12),
        (12.0, 12),
        ("1,234", 1234),
        ("1.234", 1234),
        ("1 234", 1234),
        ("1.2k", 1200),
        ("3M", 3_000_000),
        ("", None),
    ],
)
def test_parse_count(value, count):
    assert parse_count(value) == count


@pytest.mark.parametrize("value", ["doce", "-3", "1.5", True])
def test_parse_count_rejects(value):
    with pytest.raises((ValueError, TypeError)):
        parse_count(value)


def test_parse_timestamp_is_utc():
    assert parse_timestamp("2020-03-08T10:00:00-06:00") == pd.Timestamp("2020-03-08 16:00", tz="UTC")
    assert parse_timestamp("2020-03-08 10:00") == pd.Timestamp("2020-03-08 10:00", tz="UTC")
    assert parse_timestamp(1583661600) == pd.Timestamp("2020-03-08 10:00", tz="UTC")
    assert parse_timestamp("1583661600000") == pd.Timestamp("2020-03-08 10:00", tz="UTC")
    for bad in ("2020-02-31", "ayer", "31/31/2020"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


# --------------------------------------------------------------------------------------------- CSV


CSV_TEXT = """file,account,hashtags,likes,posted_at,caption,status,campaign
a.jpg,@colectiva,#8M #NiUnaMenos,"1,234",2020-03-08T10:00:00-06:00,¡Vivas nos queremos! 💜,x,c1
b.jpg,morada,"8M,NiUnaMenos",12,2020-02-31,Justicia,y,c2
sub/c.png,lila,"[""8M"", ""#25N""]",muchos,1583661600,"Ni una más,
ni una menos",,c3
a.jpg,duplicada,,,,,,
missing.jpg,nadie,#8M,5,2020-03-08,perdida,,c4
notes.txt,nadie,,,,,,
"""


def test_csv_edge_cases(tmp_path):
    root = tmp_path / "imgs"
    make_images(root, ["a.jpg", "b.jpg", "sub/c.png", "d.jpg"])
    (root / "notes.txt").write_text("scraper notes")
    (tmp_path / "posts.csv").write_text(CSV_TEXT, encoding="utf-8")
    result = ingested(root, metadata=tmp_path / "posts.csv")
    manifest = result.manifest
    a, b, c, d = (row_of(manifest, name) for name in ("a.jpg", "b.jpg", "sub/c.png", "d.jpg"))
    # Hashtags from a string with '#', a comma list and a JSON list; emoji and accents kept.
    assert (
        a.hashtags == ["8M", "NiUnaMenos"]
        and b.hashtags == ["8M", "NiUnaMenos"]
        and c.hashtags == ["8M", "25N"]
    )
    assert a.caption == "¡Vivas nos queremos! 💜" and c.caption == "Ni una más,\nni una menos"
    assert a.likes == 1234 and b.likes == 12 and pd.isna(c.likes)
    assert a.posted_at == pd.Timestamp("2020-03-08 16:00", tz="UTC") and pd.isna(b.posted_at)
    assert c.posted_at == pd.Timestamp("2020-03-08 10:00", tz="UTC")
    # Duplicated row: the first wins; missing columns are null; a clashing extra column is prefixed.
    assert a.account == "@colectiva"
    assert pd.isna(a.alt_text) and pd.isna(a.post_id) and pd.isna(d.account) and d.hashtags is None
    assert a.meta_status == "x" and a.status == "ok" and a.campaign == "c1" and pd.isna(c.meta_status)
    # A metadata row whose file is missing keeps its metadata; one naming a non-image file says so.
    missing, not_image = manifest[manifest.status == "metadata_only"].iloc[[0, 1]].itertuples()
    assert "that file is not an image" in not_image.reason
    assert missing.path == str(root / "missing.jpg") and pd.isna(missing.image_id)
    assert missing.account == "nadie" and missing.likes == 5 and "posts.csv line 7" in missing.reason
    warnings = result.warnings
    assert any("posts.csv line 3, column 'posted_at'" in w and "'2020-02-31'" in w for w in warnings)
    # The quoted caption spans lines 4-5: the row is reported by its first line.
    assert any("posts.csv line 4, column 'likes'" in w and "'muchos'" in w for w in warnings)
    assert any("lines 2 and 6 describe the same file 'a.jpg'" in w for w in warnings)


def test_excel_style_csv_semicolons_bom_and_windows_1252(tmp_path):
    root = tmp_path / "imgs"
    make_images(root, ["a.jpg", "b.jpg"])
    text = "Filename;Username;Tags;Likes\r\na.jpg;señora;#8M;3\r\nb.jpg;Ñandú;#NiUnaMenos;4\r\n"
    (tmp_path / "utf8.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "cp1252.csv").write_bytes(text.encode("cp1252"))
    utf8 = ingested(root, metadata=tmp_path / "utf8.csv")
    assert list(utf8.manifest.account) == ["señora", "Ñandú"] and list(utf8.manifest.likes) == [3, 4]
    assert not utf8.warnings
    legacy = ingested(root, metadata=tmp_path / "cp1252.csv")
    assert list(legacy.manifest.account) == ["señora", "Ñandú"]
    assert any("not UTF-8" in w and "Windows-1252" in w for w in legacy.warnings)


def test_file_references_relative_bare_suffix_absolute_and_ambiguous(tmp_path):
    root = tmp_path / "imgs"
    make_images(root, ["2020/a.jpg", "2021/b.jpg", "x/same.jpg", "y/same.jpg"])
    rows = [
        {"file": "a.jpg", "account": "bare"},
        {"file": "export\\imgs\\2021\\b.jpg", "account": "windows suffix"},
        {"file": "same.jpg", "account": "ambiguous"},
        {"file": str(root / "y" / "same.jpg"), "account": "absolute"},
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(row) for row in rows))
    manifest = ingest(root, metadata=tmp_path / "m.jsonl")
    assert row_of(manifest, "2020/a.jpg").account == "bare"
    assert row_of(manifest, "2021/b.jpg").account == "windows suffix"
    assert row_of(manifest, "y/same.jpg").account == "absolute" and pd.isna(
        row_of(manifest, "x/same.jpg").account
    )
    [ambiguous] = manifest[manifest.status == "metadata_only"].itertuples()
    assert ambiguous.account == "ambiguous" and "matches 2 files" in ambiguous.reason


def test_jsonl_lists_bad_lines_and_nested_extras(tmp_path):
    root = tmp_path / "imgs"
    make_images(root, ["a.jpg", "b.jpg"])
    lines = [
        json.dumps(
            {
                "filename": "a.jpg",
                "hashtags": ["#8M", "25N"],
                "likes": 7,
                "label": "statement",
                "extra": {"source": "scraper", "depth": 2},
                "alt": "Texto morado 💜",
            },
            ensure_ascii=False,
        ),
        "{not json",
        json.dumps({"filename": "b.jpg", "hashtags": "#8M", "likes": "7.5", "label": "photo", "extra": None}),
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingested(root, metadata=tmp_path / "m.jsonl")
    manifest = result.manifest
    a, b = row_of(manifest, "a.jpg"), row_of(manifest, "b.jpg")
    assert a.hashtags == ["8M", "25N"] and a.label == "statement" and b.label == "photo"
    assert a.alt_text == "Texto morado 💜" and a.extra == {"source": "scraper", "depth": 2}
    assert pd.isna(b.likes)
    warnings = result.warnings
    assert any("m.jsonl line 2 is not valid JSON" in w for w in warnings)
    assert any("m.jsonl line 3, column 'likes'" in w for w in warnings)


def test_label_from_dirs_wins_over_a_label_column(tmp_path):
    root = tmp_path / "imgs"
    make_images(root, ["animals/birds/owl.png", "food/pear.png", "loose.png"])
    (tmp_path / "m.csv").write_text("file,label\nowl.png,bird\npear.png,fruit\n")
    result = ingested(root, metadata=tmp_path / "m.csv", label_from_dirs=True)
    manifest = result.manifest
    owl, pear, loose = (row_of(manifest, n) for n in ("owl.png", "pear.png", "loose.png"))
    assert (owl.label, pear.label) == ("animals", "food") and pd.isna(loose.label)
    assert (owl.meta_label, pear.meta_label) == ("bird", "fruit")
    assert any("directly in the root folder" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("account,likes\nx,1\n", r"has no file column .*add a column named 'file'"),
        ("", "is empty"),
        ("file,account\n", "has no data rows"),
        (b"PK\x03\x04\x00\x00binary", "binary, not text"),
    ],
)
def test_unusable_metadata_raises_naming_the_file_and_fix(tmp_path, content, message):
    make_images(tmp_path / "imgs", ["a.jpg"])
    path = tmp_path / "meta.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(MetadataError, match=message) as error:
        ingest(tmp_path / "imgs", metadata=path)
    assert "meta.csv" in str(error.value)


def test_missing_metadata_file_and_unknown_extension(tmp_path):
    make_images(tmp_path / "imgs", ["a.jpg"])
    with pytest.raises(MetadataError, match="does not exist"):
        ingest(tmp_path / "imgs", metadata=tmp_path / "nope.csv")
    (tmp_path / "meta.xlsx").write_bytes(b"x")
    with pytest.raises(MetadataError, match="metadata_format"):
        ingest(tmp_path / "imgs", metadata=tmp_path / "meta.xlsx")


def test_jsonl_with_no_usable_line_raises(tmp_path):
    make_images(tmp_path / "imgs", ["a.jpg"])
    (tmp_path / "m.jsonl").write_text("not json\n[1, 2]\n")
    with pytest.raises(MetadataError, match="none of its 2 lines is a JSON object"):
        ingest(tmp_path / "imgs", metadata=tmp_path / "m.jsonl")


# ------------------------------------------------------------------------------------- Instaloader


def sidecar(
    shortcode: str,
    caption: str,
    likes_key: str,
    likes: int,
    taken_at: int,
    owner: dict,
    children: list[dict] | None = None,
    **node,
) -> dict:
    node = {
        "shortcode": shortcode,
        "owner": owner,
        "taken_at_timestamp": taken_at,
        "edge_media_to_caption": {"edges": [{"node": {"text": caption}}]},
        likes_key: {"count": likes},
        "__typename": "GraphSidecar" if children else "GraphImage",
        **node,
    }
    if children:
        node["edge_sidecar_to_children"] = {"edges": [{"node": child} for child in children]}
    return {"node": node, "instaloader": {"version": "4.14", "node_type": "Post"}}


def test_instaloader_sidecars(tmp_path):
    root = tmp_path / "#niunamenos"
    single = "2020-03-08_16-00-00_UTC"
    carousel = "2020-11-25_12-30-00_UTC"
    make_images(root, [f"{single}.jpg", f"{carousel}_1.jpg", f"{carousel}_3.jpg", "unrelated.jpg"])
    (root / f"{single}.json").write_text(
        json.dumps(
            sidecar(
                "B9abc",
                "¡Vivas nos queremos! #8M #NiUnaMenos 💜",
                "edge_media_preview_like",
                321,
                1583683200,
                {"id": "1", "username": "colectiva_morada"},
                accessibility_caption="Photo by colectiva_morada.",
            )
        )
    )
    with lzma.open(root / f"{carousel}.json.xz", "wt", encoding="utf-8") as handle:
        json.dump(
            sidecar(
                "CHxyz",
                "Marcha #25N",
                "edge_liked_by",
                45,
                1606307400,
                {"id": "2"},
                children=[
                    {"is_video": False, "accessibility_caption": "slide uno"},
                    {"is_video": False, "accessibility_caption": "slide dos"},
                    {"is_video": False, "accessibility_caption": "slide tres"},
                    {"is_video": True},
                ],
                owner_username="lila_mx",
            ),
            handle,
        )
    (root / "colectiva_morada_1.json").write_text(
        json.dumps(
            {"node": {"username": "colectiva_morada", "id": "1"}, "instaloader": {"node_type": "Profile"}}
        )
    )
    (root / f"{single}.txt").write_text("¡Vivas nos queremos! #8M #NiUnaMenos 💜")
    manifest = ingest(root, metadata_format="instaloader")
    one = row_of(manifest, f"{single}.jpg")
    assert (one.post_id, one.account, one.likes) == ("B9abc", "colectiva_morada", 321)
    assert one.hashtags == ["8M", "NiUnaMenos"] and one.caption.endswith("💜")
    assert one.posted_at == pd.Timestamp("2020-03-08 16:00", tz="UTC") and pd.isna(one.carousel_index)
    assert one.alt_text == "Photo by colectiva_morada."
    first, third = row_of(manifest, f"{carousel}_1.jpg"), row_of(manifest, f"{carousel}_3.jpg")
    assert (first.post_id, first.account, first.likes, first.carousel_index) == ("CHxyz", "lila_mx", 45, 1)
    assert (third.carousel_index, third.alt_text, third.hashtags) == (3, "slide tres", ["25N"])
    # Slide 2 was not downloaded: its metadata is kept; the video slide 4 is not expected as an image.
    [missing] = manifest[manifest.status == "metadata_only"].itertuples()
    assert missing.path == os.path.join(str(root), f"{carousel}_2.jpg") and missing.alt_text == "slide dos"
    assert pd.isna(row_of(manifest, "unrelated.jpg").post_id)
    assert set(manifest.status) == {"ok", "metadata_only"}


def test_instaloader_without_sidecars_is_a_clear_error(tmp_path):
    make_images(tmp_path / "imgs", ["a.jpg"])
    with pytest.raises(MetadataError, match="no Instaloader post sidecars"):
        ingest(tmp_path / "imgs", metadata_format="instaloader")


def test_instaloader_bad_sidecar_is_a_warning(tmp_path):
    root = tmp_path / "imgs"
    make_images(root, ["p1.jpg", "p2.jpg"])
    (root / "p1.json").write_text(
        json.dumps(sidecar("A1", "hola #8M", "edge_media_preview_like", 1, 1583683200, {"username": "x"}))
    )
    (root / "p2.json").write_text("{broken")
    result = ingested(root, metadata=root, metadata_format="auto")
    manifest = result.manifest  # a folder as metadata = Instaloader
    assert row_of(manifest, "p1.jpg").post_id == "A1" and pd.isna(row_of(manifest, "p2.jpg").post_id)
    assert any("p2.json: cannot read this Instaloader sidecar" in w for w in result.warnings)


def test_an_unchanged_table_is_parsed_once_per_session_and_each_caller_gets_its_own_copy(
    tmp_path, monkeypatch
):
    """Validation and ingest (and every job of a sweep) read the same file: parsed once per session."""
    from visframe.data import metadata
    from visframe.session import Session

    memo = Session().metadata_tables

    table = tmp_path / "posts.csv"
    table.write_text("file,account,hashtags\na.jpg,ana,#8M\nb.jpg,bea,#NiUnaMenos\n")
    parses = []
    real_parse = metadata._parse_metadata
    monkeypatch.setattr(metadata, "_parse_metadata", lambda *args: parses.append(args) or real_parse(*args))
    first = metadata.read_metadata(table, memo=memo)
    first.rows[0]["account"] = "changed by a caller"
    first.warnings.append("a caller's note")
    second = metadata.read_metadata(table, memo=memo)
    assert len(parses) == 1
    assert second.rows[0]["account"] == "ana" and "a caller's note" not in second.warnings
    table.write_text("file,account,hashtags\na.jpg,carla,#8M\n")
    os.utime(table, ns=(1, 1))  # a new mtime even on a coarse clock
    assert metadata.read_metadata(table, memo=memo).rows[0]["account"] == "carla" and len(parses) == 2
    metadata.read_metadata(table, "csv", memo=memo)  # another format option: parsed again
    assert len(parses) == 3
    metadata.read_metadata(table, "csv")  # no session: nothing remembered
    assert len(parses) == 4
