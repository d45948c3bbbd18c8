"""build_report end to end on the fixture run (ingested, then described by the real describe stage):
every artefact, their content, the named gallery first, a safe offline page."""

from __future__ import annotations

import base64
import io
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from PIL import Image
from report_helpers import (
    PROMPTS,
    SCRIPT_CAPTION,
    SCRIPT_TAG,
    FakeTextEncoder,
    describe_into,
    fake_vectors,
)

from visframe import CONFIG_DIR
from visframe.errors import ConfigError
from visframe.report import build_report, plot_cluster_map, resolve_report_config
from visframe.report.html import RunInfo

REPO = Path(__file__).resolve().parents[2]
RUN_INFO = RunInfo(
    config_hash="cfg0123456789abc",
    dataset_fingerprint="data0123456789ab",
    code_version="0.1.0+gdeadbee",
    model="fake-clip",
    metric_spaces={"silhouette": "reduced (euclidean)", "noise_fraction": "labels"},
    config_yaml="seed: 1\nreport:\n  top_k: 10\n",
)


@pytest.fixture(scope="module")
def report(corpus, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    ids = list(corpus["assignments"]["image_id"])
    vectors, vector_ids, expected = fake_vectors(ids)
    cfg = OmegaConf.create(
        {
            "seed": 7,
            "describe": {"zero_shot": {"prompts": PROMPTS}},
            "report": {"seed": "${seed}", "sampling": {"top": 3, "middle": 2, "bottom": 3}},
        }
    )
    described = describe_into(
        run_dir,
        cfg.describe,
        corpus["manifest"],
        corpus["assignments"],
        None,
        FakeTextEncoder(),
        vectors,
        vector_ids,
    )
    files = build_report(
        run_dir,
        cfg.report,
        corpus["manifest"],
        corpus["assignments"],
        {"silhouette": 0.41, "noise_fraction": 0.133, "calinski_harabasz": float("nan")},
        warnings=["13% of posts are noise <b>check</b>"],
        run_info=RUN_INFO,
        cache_dir=tmp_path_factory.mktemp("cache"),
        show_progress=False,
        notes=described.notes,
    )
    return {"dir": run_dir / "report", "files": files, "expected": expected, "described": described}


def test_every_artefact_is_written_and_returned(report):
    out = report["dir"]
    names = [
        "cluster_map.png",
        "cluster_sizes.png",
        "confidence.png",
        "zero_shot_by_cluster.png",
        "posts_over_time.png",
        "report.html",
        "sampling_sheet.csv",
        "sampling_sheet.xlsx",
        "notes.json",
    ]
    tables = [
        "samples",
        "cluster_metadata",
        "cluster_hashtags",
        "cluster_accounts",
        "cluster_confidence",
        "cluster_terms",
        "cluster_timeline",
        "zero_shot_by_cluster",
    ]
    names += [f"{t}.{ext}" for t in tables for ext in ("parquet", "csv")]
    names += [f"clusters/cluster_{k}.csv" for k in (0, 1, 2, -1)]
    names += [f"montages/cluster_{k}.png" for k in (0, 1, 2, -1)]
    names += [f"medoids/cluster_{k}.jpg" for k in (0, 1, 2, -1)]
    for name in names:
        assert (out / name).is_file(), name
        assert out / name in report["files"].files, name
    assert all(Path(p).is_file() for p in report["files"].files)
    assert report["files"].notes == ()


def test_samples_table_puts_the_most_probable_image_first(report, corpus):
    samples = pd.read_parquet(report["dir"] / "samples.parquet")
    assignments = corpus["assignments"]
    for cluster in (0, 1, 2):
        first = samples[
            (samples["cluster"] == cluster) & (samples["rank_kind"] == "top") & (samples["rank"] == 1)
        ]
        best = assignments[assignments["cluster"] == cluster].sort_values("probability").iloc[-1]
        assert first["image_id"].item() == best["image_id"]
    assert set(samples["model"]) == {"fake-clip"}


def test_plots_are_images_of_sensible_size(report):
    for name in ("cluster_map.png", "cluster_sizes.png", "confidence.png", "montages/cluster_0.png"):
        with Image.open(report["dir"] / name) as image:
            assert image.width >= 400 and image.height >= 200, name


def test_sampling_sheet_band_counts(report):
    sheet = pd.read_csv(report["dir"] / "sampling_sheet.csv", keep_default_na=False)
    counts = sheet.groupby(["cluster", "band"]).size().unstack(fill_value=0)
    for cluster in (0, 1, 2, -1):  # every cluster has >= 8 unique images
        assert counts.loc[cluster].to_dict() == {"bottom": 3, "middle": 2, "top": 3}
    for column in (
        "caption",
        "hashtags",
        "account",
        "likes",
        "posted_at",
        "alt_text",
        "thumbnail",
        "code",
        "memo",
        "coder",
    ):
        assert column in sheet.columns
    assert (sheet[["code", "memo", "coder"]] == "").all().all()
    assert all((report["dir"] / t).is_file() for t in sheet["thumbnail"])


def test_zero_shot_outputs(report):
    by_cluster = pd.read_parquet(report["dir"] / "zero_shot_by_cluster.parquet")
    assert {"cluster", "label", "count", "share", "lift"} <= set(by_cluster.columns)
    for _, group in by_cluster.groupby("cluster"):
        assert group["share"].sum() == pytest.approx(1.0)
        assert len(group) == len(PROMPTS)


def test_lift_table_in_run(report):
    tags = pd.read_parquet(report["dir"] / "cluster_hashtags.parquet")
    total = 60
    row = tags[(tags["cluster"] == 2) & (tags["hashtag"] == "#25N")].iloc[0]
    # #25N: all 12 posts of cluster 2 and nowhere else
    assert row["count"] == 12 and row["lift"] == pytest.approx(1.0 / (12 / total))
    meta = pd.read_parquet(report["dir"] / "cluster_metadata.parquet").set_index("cluster")
    assert bool(meta.loc[0, "dominant_account"]) and meta.loc[0, "top_account"] == "ana"
    assert not bool(meta.loc[1, "dominant_account"])
    assert meta.loc[0, "top_account_share"] == pytest.approx(14 / 24)
    names = report["described"].names()
    assert meta["name"].to_dict() == names


def test_page_opens_on_the_named_gallery(report):
    html = (report["dir"] / "report.html").read_text(encoding="utf-8")
    names = report["described"].names()
    gallery = html.index('id="gallery"')
    assert gallery < html.index('id="metrics"') < html.index('id="plots"')
    assert gallery < html.index('id="notes"') if 'id="notes"' in html else True
    for cluster, name in names.items():
        card = html.index(f'id="cluster-{cluster}"')
        assert gallery < card < html.index('id="metrics"')
        assert escape(name) in html[card : card + 3000]
    # a card shows size, medoid, montage, hashtags with posts and lift
    card = html[html.index('id="cluster-2"') : html.index('id="cluster-2"') + 200000]
    assert "12 posts" in card and "medoid" in card and "montage of" in card
    assert "#25N 12 (×5.0)" in card
    # posts over time: the plot and the table (clusters × periods)
    assert 'id="posts-over-time"' in html and 'id="timeline"' in html
    assert "2024-03-04" in html[html.index('id="timeline"') :]  # the fixture's week (a Monday)


class _Tags(HTMLParser):
    """Every tag and attribute the browser would see (escaped text is not a tag)."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.styles = [], [], []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def test_html_is_self_contained(report):
    html = (report["dir"] / "report.html").read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(html)
    links = [
        v for name, v in parser.attributes if name in ("src", "href", "action", "poster", "data", "srcset")
    ]
    assert links, "the page should embed images"
    assert all(v.startswith(("data:", "#")) for v in links), [
        v[:60] for v in links if not v.startswith(("data:", "#"))
    ]
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(parser.tags)
    assert not any(name.startswith("on") for name, _ in parser.attributes)
    assert not re.search(r"url\(|@import|https?://", "".join(parser.styles), flags=re.IGNORECASE)
    assert not any(re.search(r"https?://", v) for _, v in parser.attributes)
    # every embedded image decodes
    uris = re.findall(r'src="data:image/(?:png|jpeg);base64,([^"]+)"', html)
    assert len(uris) == 5 + 4 + 4  # 5 plots (map, time, sizes, confidence, zero-shot), 4 medoids, 4 montages
    for payload in uris:
        Image.open(io.BytesIO(base64.b64decode(payload))).verify()


def test_html_escapes_user_strings_and_shows_the_run(report):
    html = (report["dir"] / "report.html").read_text(encoding="utf-8")
    assert SCRIPT_CAPTION not in html and "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; ni una menos" in html
    assert SCRIPT_TAG not in html and "&lt;img/src=x/onerror=alert(1)&gt;" in html
    assert "13% of posts are noise &lt;b&gt;check&lt;/b&gt;" in html
    for value in (
        "cfg0123456789abc",
        "data0123456789ab",
        "0.1.0+gdeadbee",
        "reduced (euclidean)",
        "study-2024",
    ):
        assert value in html
    assert re.search(r"silhouette</td><td[^>]*>0\.410</td><td>reduced \(euclidean\)", html)
    assert 'class="warnings"' in html


def test_run_without_describe_and_bare_manifest(corpus, tmp_path):
    """A folder without metadata, and no describe tables: a report, with notes saying what is missing."""
    manifest = corpus["manifest"][["image_id", "path", "status", "reason"]]
    assignments = corpus["assignments"].drop(columns=["outlier_score"])
    files = build_report(
        tmp_path,
        {"sampling": {"formats": ["csv"]}},
        manifest,
        assignments,
        {},
        cache_dir=tmp_path / "cache",
        show_progress=False,
        notes=["zero-shot labels skipped: encoder 'fake-resnet' is image-only"],
    )
    out = tmp_path / "report"
    assert not (out / "zero_shot_by_cluster.parquet").exists()
    assert any("clusters.parquet" in n for n in files.notes)
    assert any("hashtags" in n and "account" in n for n in files.notes)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "image-only" in html and "cluster 0" in html
    meta = pd.read_parquet(out / "cluster_metadata.parquet")
    assert meta["n_posts"].sum() == len(assignments)
    assert meta["name"].tolist() == ["cluster 0", "cluster 1", "cluster 2", "noise"]
    sheet = pd.read_csv(out / "sampling_sheet.csv")
    assert "caption" not in sheet.columns and len(sheet) > 0


def test_disabled_report_writes_nothing(corpus, tmp_path):
    result = build_report(tmp_path, {"enabled": False}, corpus["manifest"], corpus["assignments"], {})
    assert list(result.files) == [] and not (tmp_path / "report").exists()


def test_defaults_come_from_the_yaml_alone():
    resolved = resolve_report_config(None)
    text = OmegaConf.load(Path(CONFIG_DIR) / "report" / "default.yaml")
    assert resolved.top_k == text.top_k and resolved.sampling.top == text.sampling.top
    assert resolved.seed == 0  # `${seed}` with no job config
    assert resolve_report_config({"top_k": 3, "html": {"max_montages": 5}}).html.max_montages == 5
    assert "zero_shot" not in resolved  # the prompts belong to describe


def test_unknown_config_key_is_an_error():
    with pytest.raises(ConfigError, match="top_kk"):
        resolve_report_config({"top_kk": 3})


def test_cluster_map_with_many_clusters(tmp_path):
    rng = np.random.default_rng(0)
    n, k = 6000, 60
    labels = rng.integers(-1, k, n)
    centres = rng.uniform(0, 10, (k, 2))
    xy = centres[np.maximum(labels, 0)] + rng.normal(0, 0.3, (n, 2))
    frame = pd.DataFrame(
        {
            "image_id": [str(i) for i in range(n)],
            "path": "",
            "cluster": labels,
            "probability": 1.0,
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )
    path = plot_cluster_map(frame, tmp_path / "map.png", title="60 clusters")
    with Image.open(path) as image:
        assert image.width > 1000


def test_a_layered_run_gets_the_cluster_tree_figure(corpus, tmp_path):
    """A run with layers (cluster_tree.parquet + cluster_layer_* columns) gets the tree figure; a giant
    cluster of the chosen layer is opened into its sub-clusters from the finer layer."""
    from visframe import contracts as C

    coarse = corpus["assignments"]["cluster"].map({0: 0, 1: 0, 2: 2, -1: -1})
    assignments = corpus["assignments"].assign(
        cluster=coarse, cluster_layer_0=corpus["assignments"]["cluster"], cluster_layer_1=coarse
    )
    describe_into(tmp_path, {"zero_shot": {"enabled": False}}, corpus["manifest"], assignments)
    sizes = corpus["assignments"]["cluster"].value_counts()
    tree = pd.DataFrame(
        {
            "layer": [0, 0, 0],
            "cluster": [0, 1, 2],
            "parent_layer": [1, 1, 1],
            "parent_cluster": [0, 0, 2],
            "size": [int(sizes.get(c, 0)) for c in (0, 1, 2)],
        }
    )
    C.validate(C.CLUSTER_TREE, tree).to_parquet(tmp_path / C.CLUSTER_TREE_FILE)
    config = {"sampling": {"enabled": False}, "html": {"enabled": False}}
    files = build_report(
        tmp_path, config, corpus["manifest"], assignments, {}, cache_dir=tmp_path / "c", show_progress=False
    )
    figure = tmp_path / "report" / "cluster_tree.png"
    assert figure in files.files and Image.open(figure).width > 200
    if (coarse == 0).mean() > 0.5:
        opened = pd.read_csv(tmp_path / "report" / "giant_clusters_opened.csv")
        assert set(opened["sub_cluster"]) >= {0, 1}
