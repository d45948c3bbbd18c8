"""Sampling sheet: exact band sizes, seeded middle band, readable XLSX with literal text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from visframe.report.posts import join_posts
from visframe.report.sampling import attach_thumbnails, draw_sample, write_xlsx
from visframe.report.thumbnails import ThumbnailCache


def _big_cluster(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return join_posts(
        None,
        pd.DataFrame(
            {
                "image_id": [f"{i:016x}" for i in range(n)],
                "path": [f"/img/{i}.jpg" for i in range(n)],
                "cluster": np.where(np.arange(n) < 70, 3, 5),
                "probability": rng.uniform(0, 1, n),
                "outlier_score": rng.uniform(0, 1, n),
            }
        ),
    )


def test_band_counts_are_exact_and_bands_respect_probability():
    posts = _big_cluster()
    sheet = draw_sample(posts, [3, 5], top=4, middle=6, bottom=3, seed=11, unique_images=True, model="m")
    for cluster in (3, 5):
        rows = sheet[sheet["cluster"] == cluster]
        assert rows["band"].value_counts().to_dict() == {"top": 4, "middle": 6, "bottom": 3}
        members = posts[posts["cluster"] == cluster]["probability"].sort_values(ascending=False)
        top = rows[rows["band"] == "top"].sort_values("band_rank")["probability"]
        bottom = rows[rows["band"] == "bottom"].sort_values("band_rank")["probability"]
        middle = rows[rows["band"] == "middle"]["probability"]
        assert top.tolist() == members.iloc[:4].tolist()
        assert bottom.tolist() == members.iloc[::-1].iloc[:3].tolist()  # band_rank 1 = least probable
        assert middle.between(members.iloc[-3] + 1e-12, members.iloc[3] - 1e-12).all()
        assert rows["image_id"].is_unique
    assert (sheet[["code", "memo", "coder"]] == "").all().all()


def test_middle_band_is_seeded():
    posts = _big_cluster()
    draw = lambda seed: draw_sample(posts, [3], 2, 5, 2, seed, True, "m")
    assert draw(1)["image_id"].tolist() == draw(1)["image_id"].tolist()
    assert draw(1)["image_id"].tolist() != draw(2)["image_id"].tolist()
    # another cluster's size does not change this cluster's draw
    smaller = posts[(posts["cluster"] == 3) | (posts.index % 2 == 0)]
    alone = draw_sample(smaller, [3], 2, 5, 2, 1, True, "m")
    assert alone["image_id"].tolist() == draw(1)["image_id"].tolist()


def test_small_cluster_gives_every_member_once():
    posts = _big_cluster(8)  # all in cluster 3
    sheet = draw_sample(posts, [3], top=5, middle=5, bottom=5, seed=0, unique_images=True, model="m")
    assert len(sheet) == 8 and sheet["image_id"].is_unique
    assert sheet["band"].value_counts().to_dict() == {"top": 5, "bottom": 3}


def test_xlsx_holds_the_rows_with_text_kept_literal(corpus, tmp_path):
    posts = join_posts(corpus["manifest"], corpus["assignments"])
    best = posts[posts["cluster"] == 1]["probability"].idxmax()  # surely in the top band
    posts.loc[best, "caption"] = '=HYPERLINK("http://evil")\x07 bell'
    sheet = draw_sample(posts, [0, 1, 2, -1], 3, 2, 3, seed=0, unique_images=True, model="m")
    sheet, copied = attach_thumbnails(sheet, ThumbnailCache(tmp_path / "cache", 64), tmp_path)
    assert copied and all(p.parent == tmp_path / "thumbnails" for p in copied)
    assert sheet["thumbnail"].str.startswith("thumbnails/").all()
    path = write_xlsx(sheet, tmp_path / "sheet.xlsx", tmp_path, thumb_size=48)
    ws = load_workbook(path).active
    header = [c.value for c in ws[1]]
    assert header[0] == "image" and header[1:] == list(sheet.columns)
    assert ws.max_row == len(sheet) + 1
    assert len(ws._images) == len(sheet)
    ids = [ws.cell(row=r, column=header.index("image_id") + 1).value for r in range(2, ws.max_row + 1)]
    assert ids == sheet["image_id"].tolist()
    captions = [ws.cell(row=r, column=header.index("caption") + 1) for r in range(2, ws.max_row + 1)]
    evil = [c for c in captions if c.value and c.value.startswith("=HYPERLINK")]
    assert len(evil) == 1
    assert (
        evil[0].data_type == "s" and evil[0].value == '=HYPERLINK("http://evil") bell'
    )  # text, bell removed


@pytest.mark.parametrize("fmt", ["docx"])
def test_unknown_table_format_is_a_clear_error(tmp_path, fmt):
    from visframe.report.tables import write_table

    with pytest.raises(ValueError, match="unknown table format"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t", [fmt])


def test_sampling_sheet_csv_has_no_formula_cells(tmp_path):
    """Captions, accounts and memos from strangers never run in a spreadsheet (issue 15, item 7)."""
    import csv

    from visframe.report.sampling import write_csv

    posts = _big_cluster(6).assign(
        caption=['=HYPERLINK("http://evil/")', "+1", "-1", "@x", "\tq", "fine"],
        account=["=cmd|' /C calc'!A0", "a", "b", "c", "d", "e"],
    )
    sheet = draw_sample(posts, [3], top=2, middle=2, bottom=2, seed=1, unique_images=True, model="m")
    sheet["memo"] = pd.array(["=1+1"] + [""] * (len(sheet) - 1), dtype="string")
    with open(write_csv(sheet, tmp_path / "s.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(sheet)
    cells = [v for row in rows for v in row.values()]
    assert not [
        c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or c.startswith("-") and c[1:2].isalpha()
    ]
    assert rows[0]["memo"] == "'=1+1"
    assert {r["caption"] for r in rows} >= {'\'=HYPERLINK("http://evil/")', "fine"}
    assert {float(r["probability"]) for r in rows} == set(sheet["probability"])
