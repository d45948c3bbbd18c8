"""build_report: everything a human reads about one run, written under `<run_dir>/report/`.

The report holds no model: it reads the run's tables (manifest, assignments, and what the describe
stage wrote: clusters.parquet, cluster_terms.parquet, cluster_timeline.parquet,
zero_shot_labels.parquet, and cluster_tree.parquet when the clustering has layers; the messages
stage's message topics and slogans for "What the text says", report/messages.py) and renders them.
Order matters only for speed: tables first (cheap, always useful), then the thumbnails every
montage and the sampling sheet need (made once, in parallel, cached), then pictures, then the page,
which opens on the named cluster gallery.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig
from tqdm.auto import tqdm

from visframe import contracts as C
from visframe.data.manifest_io import merge_on_path
from visframe.describe import terms as T
from visframe.describe.timeline import FREQUENCY
from visframe.report import plots
from visframe.report.config import resolve_report_config
from visframe.report.gallery import gallery_cards, zero_shot_summary
from visframe.report.html import ReportPage, RunInfo, render_report
from visframe.report.inputs import Described, read_described
from visframe.report.messages import message_section
from visframe.report.montages import montage_filename, render_montage, select_montage_samples
from visframe.report.posts import NOISE, cluster_order, has_column, join_posts
from visframe.report.sampling import attach_thumbnails, draw_sample, write_csv, write_xlsx
from visframe.report.tables import (
    cluster_confidence,
    cluster_file_lists,
    cluster_metadata,
    terms_of,
    write_table,
)
from visframe.report.thumbnails import ThumbnailCache
from visframe.run_dir import RunDir
from visframe.utils.hashtags import format_hashtag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportResult:
    """The files written, what the report skipped and why (`notes`), and seconds per step (`timings`)."""

    files: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)


def build_report(
    run_dir: str | Path | RunDir,
    cfg: DictConfig | dict | None,
    manifest: pd.DataFrame | None,
    assignments: pd.DataFrame,
    metrics: dict[str, float],
    warnings: Sequence[str] = (),
    run_info: RunInfo | None = None,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
    notes: Sequence[str] = (),
) -> ReportResult:
    """Write plots, montages, tables, the sampling sheet and report.html under the run's `report/`,
    reading describe's tables from the run directory; return the files written, notes and timings.

    `notes`: what earlier stages skipped and why (e.g. describe's `Descriptions.notes`: "zero-shot
    labels skipped: encoder 'resnet50' is image-only"), shown on the page with the report's own."""
    config = resolve_report_config(cfg)
    if not config.enabled:
        return ReportResult((), (*notes, "report.enabled is false: no report was made"))
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    builder = _ReportBuilder(run, config, list(notes), show_progress)
    builder.run(
        read_described(run), manifest, assignments, metrics, list(warnings), run_info or RunInfo(), cache_dir
    )
    return ReportResult(tuple(builder.files), tuple(builder.notes), dict(builder.timings))


class _ReportBuilder:
    def __init__(self, run: RunDir, config: DictConfig, notes: list[str], show_progress: bool):
        self.run_files = run
        self.out = out = run.report_dir
        self.cfg = config
        self.files: list[Path] = []
        self.notes = notes
        self.timings: dict[str, float] = {}
        self.show_progress = show_progress
        out.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def step(self, name: str):
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        log.info("report: %s took %.1f s", name, self.timings[name])

    def note(self, text: str) -> None:
        self.notes.append(text)
        log.warning("report: %s", text)

    def table(self, frame: pd.DataFrame, name: str) -> None:
        self.files.extend(write_table(frame, self.out / name, list(self.cfg.formats)))

    def run(
        self, described: Described, manifest, assignments, metrics, warnings, run_info: RunInfo, cache_dir
    ):
        cfg = self.cfg
        for text in described.notes:
            self.note(text)
        posts = join_posts(manifest, assignments)
        model = run_info.model
        plot_list: list[tuple[Path, str]] = []
        cards = []
        confidence = metadata = pd.DataFrame()
        messages = None
        if posts.empty:
            self.note("the run has no clustered posts: nothing to plot, tabulate or sample")
        else:
            clusters = cluster_order(posts, include_noise=cfg.include_noise)
            thumbs = ThumbnailCache(cache_dir, cfg.thumb_size)
            with self.step("tables"):
                confidence, metadata = self._tables(posts, described)
            with self.step("plots"):
                plot_list = self._plots(posts, described)
            with self.step("montages"):
                montages = self._montages(posts, clusters, thumbs, model, described.names)
            with self.step("gallery"):
                cards = gallery_cards(posts, described, montages, thumbs, self.out, cfg.top_n_terms)
                self.files.extend(card.medoid for card in cards if card.medoid is not None)
            with self.step("messages"):
                messages = self._messages(posts, described, thumbs)
            with self.step("sampling_sheet"):
                self._sampling_sheet(posts, thumbs, model)
            if thumbs.unreadable:
                self.note(
                    f"{len(thumbs.unreadable)} image(s) could not be read for thumbnails; "
                    "they show as grey placeholders"
                )
        notes_path = self.out / "notes.json"
        notes_path.write_text(json.dumps(self.notes, indent=2, ensure_ascii=False), encoding="utf-8")
        self.files.append(notes_path)
        if cfg.html.enabled:
            with self.step("html"):
                self._html(
                    posts,
                    described,
                    run_info,
                    metrics,
                    warnings,
                    plot_list,
                    cards,
                    confidence,
                    metadata,
                    messages,
                )

    # --- the parts -------------------------------------------------------------------------------

    def _tables(self, posts: pd.DataFrame, described: Described) -> tuple[pd.DataFrame, pd.DataFrame]:
        cfg = self.cfg
        clusters = cluster_order(posts, include_noise=cfg.include_noise)
        self.files.extend(cluster_file_lists(posts, clusters, self.out / "clusters"))
        confidence = cluster_confidence(posts)
        self.table(confidence, "cluster_confidence")
        missing = [name for name in (C.HASHTAGS, C.ACCOUNT) if not has_column(posts, name)]
        if missing:
            self.note(
                f"no {' or '.join(missing)} metadata in the manifest: the per-cluster "
                f"{' and '.join(missing)} tables are empty"
            )
        terms = described.terms
        metadata = cluster_metadata(
            posts, described.clusters, terms, cfg.top_n_terms, cfg.dominant_account_share
        )
        self.table(metadata, "cluster_metadata")
        for kind, name, column in (
            (T.KIND_HASHTAG, "cluster_hashtags", "hashtag"),
            (T.KIND_ACCOUNT, "cluster_accounts", "account"),
            (T.KIND_TERM, "cluster_terms", "term"),
        ):
            self.table(terms_of(terms, kind, column), name)
        if not described.timeline.empty:
            self.table(described.timeline, "cluster_timeline")
        return confidence, metadata

    def _plots(self, posts: pd.DataFrame, described: Described) -> list[tuple[Path, str]]:
        names = described.names
        made = []
        if posts[[C.X, C.Y]].notna().all(axis=1).any():
            path = plots.plot_cluster_map(
                posts,
                self.out / "cluster_map.png",
                title="cluster map",
                legend_max_clusters=self.cfg.legend_max_clusters,
                names=names,
            )
            made.append((path, "2-D map of the clustered posts: clusters coloured and numbered, noise grey"))
        else:
            self.note("assignments have no x/y map coordinates: the cluster map was skipped")
        if not described.timeline.empty:
            path = plots.plot_timeline(
                described.timeline,
                names,
                self.out / "posts_over_time.png",
                int(self.cfg.timeline.max_clusters),
            )
            made.append(
                (path, "posts over time: one panel per cluster (largest first), each on its own scale")
            )
        made.append(
            (
                plots.plot_cluster_sizes(posts, self.out / "cluster_sizes.png"),
                "posts per cluster (noise in grey)",
            )
        )
        made.append(
            (
                plots.plot_confidence(posts, self.out / "confidence.png"),
                "membership probability per cluster, largest cluster on top",
            )
        )
        by_label = terms_of(described.terms, T.KIND_ZERO_SHOT, "label")
        if not by_label.empty:
            self.table(by_label, "zero_shot_by_cluster")
            path = plots.plot_zero_shot(by_label, self.out / "zero_shot_by_cluster.png")
            made.append(
                (path, f"zero-shot top labels per cluster (prompt set {described.prompt_set_version})")
            )
        tree = self._cluster_tree(described, posts)
        if tree is not None:
            made.append(tree)
        self.files.extend(path for path, _ in made)
        return made

    def _cluster_tree(self, described: Described, posts: pd.DataFrame) -> tuple[Path, str] | None:
        """The cluster layers, coarse to fine (cluster_tree.parquet + the assignments' layer columns):
        the tree figure, and a giant cluster opened into its sub-clusters from the finer layers."""
        from visframe.report.layers import TREE_FIGURE, write_layer_report

        columns = C.layer_columns(posts.columns)
        if described.tree is None or described.tree.empty or not columns:
            return None
        layers = [posts[c].to_numpy() for c in columns]
        chosen_rows = described.all_clusters.loc[described.all_clusters[C.IS_CHOSEN_LAYER], C.LAYER]
        chosen = int(chosen_rows.iloc[0]) if len(chosen_rows) else None
        written = write_layer_report(described.tree, layers, self.out, chosen)
        self.files.extend(written)
        figure = next((path for path in written if path.name == TREE_FIGURE), None)
        return (
            None
            if figure is None
            else (figure, "the cluster layers, coarse to fine: which clusters merge into which")
        )

    def _montages(self, posts, clusters, thumbs: ThumbnailCache, model: str, names: dict[int, str]) -> dict:
        cfg = self.cfg
        samples = select_montage_samples(posts, clusters, cfg.top_k, cfg.unique_images, model)
        self.table(samples, "samples")
        needed = samples.drop_duplicates(C.IMAGE_ID)
        for start in tqdm(
            range(0, len(needed), 256), desc="thumbnails", unit="batch", disable=not self.show_progress
        ):
            chunk = needed.iloc[start : start + 256]
            thumbs.ensure_many(zip(chunk[C.IMAGE_ID], chunk[C.PATH]))
        sizes = posts[C.CLUSTER].value_counts()
        by_cluster = {k: rows for k, rows in samples.groupby(C.CLUSTER, sort=False)}

        def render(cluster: int) -> tuple[int, Path, pd.DataFrame]:
            rows = by_cluster.get(cluster, samples.iloc[:0])
            path = render_montage(
                rows,
                cluster,
                int(sizes[cluster]),
                thumbs,
                cfg.montage_columns,
                self.out / "montages" / montage_filename(cluster),
                name=names.get(cluster),
            )
            return cluster, path, _montage_posts(rows, posts)

        # PNG encoding and JPEG decoding release the GIL: threads use the cores a laptop has.
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            made = list(
                tqdm(
                    pool.map(render, clusters),
                    total=len(clusters),
                    desc="montages",
                    unit=C.CLUSTER,
                    disable=not self.show_progress,
                )
            )
        self.files.extend(path for _, path, _ in made)
        return {cluster: (path, rows) for cluster, path, rows in made}

    def _messages(self, posts: pd.DataFrame, described: Described, thumbs: ThumbnailCache):
        """ "What the text says" (report/messages.py): message topics, clusters × topics, slogans."""
        mcfg = self.cfg.messages
        section, files, notes = message_section(
            self.run_files,
            posts,
            described.names,
            thumbs,
            self.out,
            self.table,
            self.cfg.top_n_terms,
            int(mcfg.top_slogans),
            int(mcfg.max_heatmap_clusters),
        )
        self.files.extend(files)
        for text in notes:
            self.note(text)
        return section

    def _sampling_sheet(self, posts, thumbs: ThumbnailCache, model: str) -> None:
        scfg = self.cfg.sampling
        if not scfg.enabled:
            return
        clusters = cluster_order(posts, include_noise=scfg.include_noise)
        sheet = draw_sample(
            posts, clusters, scfg.top, scfg.middle, scfg.bottom, self.cfg.seed, self.cfg.unique_images, model
        )
        sheet, copied = attach_thumbnails(sheet, thumbs, self.out)
        self.files.extend(copied)
        for fmt in scfg.formats:
            path = self.out / f"sampling_sheet.{fmt}"
            if fmt == "csv":
                write_csv(sheet, path)
            elif fmt == "xlsx":
                write_xlsx(sheet, path, self.out, scfg.xlsx_thumb_size if scfg.xlsx_thumbnails else None)
            elif fmt == "parquet":
                sheet.to_parquet(path, index=False)
            else:
                raise ValueError(
                    f"report.sampling.formats: unknown format {fmt!r}; use csv, xlsx and/or parquet"
                )
            self.files.append(path)

    def _html(
        self, posts, described, run_info, metrics, warnings, plot_list, cards, confidence, metadata, messages
    ):
        cfg = self.cfg
        shown = cards
        if cfg.html.max_montages is not None:
            kept = [c for c in cards if c.cluster != NOISE][: cfg.html.max_montages]
            shown = kept + [c for c in cards if c.cluster == NOISE]
        clusters = [k for k in posts[C.CLUSTER].unique() if k != NOISE] if not posts.empty else []
        page = ReportPage(
            run_info=run_info,
            metrics=dict(metrics or {}),
            warnings=warnings,
            notes=self.notes,
            plots=plot_list,
            gallery=shown,
            cluster_table=_cluster_table(confidence, metadata),
            zero_shot_table=zero_shot_summary(described.terms),
            prompt_set_version=described.prompt_set_version,
            timeline_table=_timeline_table(described),
            files=_file_summary(self.files, self.out),
            counts={
                "posts": len(posts),
                "images": int(posts[C.IMAGE_ID].nunique()) if not posts.empty else 0,
                "clusters": len(clusters),
                "noise": int((posts[C.CLUSTER] == NOISE).sum()) if not posts.empty else 0,
            },
            dominant_share=cfg.dominant_account_share,
            montages_left_out=len(cards) - len(shown),
            max_table_rows=cfg.html.max_table_rows,
            messages=messages,
        )
        self.files.append(render_report(page, self.out / "report.html", cfg.html.image_quality))


CLUSTER_TABLE_HEADERS = {
    "n_posts": "posts",
    C.N_UNIQUE_IMAGES: "unique images",
    C.TEXT_SHARE: "text share",
    "probability_median": "median probability",
    "n_accounts": "accounts",
    "top_account_share": "top account's share",
    C.TOP_TERMS: "top terms (c-TF-IDF)",
    C.TOP_HASHTAGS: "top hashtags (posts, lift)",
    C.TOP_ACCOUNTS: "top accounts (posts, lift)",
    "dominant_account": "dominant account",
}


def _cluster_table(confidence: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """The page's cluster table: name, sizes, text share, median probability, accounts, top terms,
    dominance flag."""
    if metadata.empty:
        return metadata
    table = metadata.merge(confidence[[C.CLUSTER, "probability_median"]], on=C.CLUSTER, how="left")
    table[C.CLUSTER] = [("noise" if k == NOISE else str(k)) for k in table[C.CLUSTER]]
    columns = [C.CLUSTER, C.NAME, *CLUSTER_TABLE_HEADERS]
    columns = [c for c in columns if c in table.columns]
    table = table[columns].astype(object).where(table[columns].notna(), None)
    return table.rename(columns=lambda c: CLUSTER_TABLE_HEADERS.get(c, c))


def _timeline_table(described: Described) -> pd.DataFrame | None:
    """Clusters (rows, largest first, noise last) × periods (columns): posts, for the page."""
    timeline = described.timeline
    if timeline.empty:
        return None
    frequency = str(timeline[FREQUENCY].iloc[0]) if FREQUENCY in timeline else "month"
    fmt = "%Y-%m-%d" if frequency == "week" else "%Y-%m"
    table = timeline.pivot_table(
        index=C.CLUSTER, columns=C.PERIOD, values=C.N_POSTS, aggfunc="sum", fill_value=0
    )
    order = sorted(table.index, key=lambda k: (k == NOISE, -int(table.loc[k].sum()), k))
    table = table.loc[order]
    table.columns = [pd.Timestamp(p).strftime(fmt) for p in table.columns]
    names = described.names
    table.insert(
        0, C.NAME, [names.get(int(k), "noise" if k == NOISE else f"cluster {k}") for k in table.index]
    )
    table = table.reset_index()
    table[C.CLUSTER] = ["noise" if k == NOISE else str(k) for k in table[C.CLUSTER]]
    return table.astype(object)


def _montage_posts(samples: pd.DataFrame, posts: pd.DataFrame, caption_chars: int = 280) -> pd.DataFrame:
    """The montage's tiles as rows with the post text a reader needs (caption, hashtags)."""
    text = [c for c in (C.HASHTAGS, C.CAPTION) if c in posts.columns]
    rows = samples[["rank_kind", "rank", C.IMAGE_ID, C.PATH, C.PROBABILITY, C.ACCOUNT]]
    if text:
        rows = merge_on_path(rows, posts[[C.PATH, *text]].drop_duplicates(C.PATH), how="left")
    rows = rows.drop(columns=C.PATH)
    if C.HASHTAGS in rows:
        rows[C.HASHTAGS] = rows[C.HASHTAGS].map(lambda tags: " ".join(format_hashtag(t) for t in tags))
    if C.CAPTION in rows:
        rows[C.CAPTION] = rows[C.CAPTION].map(
            lambda c: (
                None
                if c is None or pd.isna(c)
                else (c if len(c) <= caption_chars else c[:caption_chars] + "…")
            )
        )
    return rows.astype(object).where(rows.notna(), None)


def _file_summary(files: list[Path], out: Path) -> list[str]:
    """Relative names of the files written; folders of many files (montages…) as one line each."""
    singles, folders = [], {}
    for path in files:
        relative = path.relative_to(out)
        if len(relative.parts) > 1:
            folders[relative.parts[0]] = folders.get(relative.parts[0], 0) + 1
        else:
            singles.append(str(relative))
    return sorted(singles) + [f"{name}/ ({count} files)" for name, count in sorted(folders.items())]
