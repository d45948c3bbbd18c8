"""build_report: everything a human reads about one run, written under `<run_dir>/report/`.

Order matters only for speed: tables first (cheap, always useful), then the thumbnails every
montage and the sampling sheet need (made once, in parallel, cached), then pictures, then the page.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig
from tqdm.auto import tqdm

from visframe.report import plots
from visframe.report.config import ReportConfig, resolve_report_config
from visframe.report.html import Montage, ReportPage, render_report
from visframe.report.montages import montage_filename, render_montage, select_montage_samples
from visframe.report.posts import NOISE, cluster_name, cluster_order, has_column, join_posts
from visframe.report.sampling import attach_thumbnails, draw_sample, write_xlsx
from visframe.report.tables import (
    cluster_confidence,
    cluster_file_lists,
    cluster_metadata,
    term_lift,
    write_table,
)
from visframe.report.thumbnails import ThumbnailCache
from visframe.report.zero_shot import ZeroShotSkipped, zero_shot_by_cluster, zero_shot_labels

log = logging.getLogger(__name__)


class ReportFiles(list):
    """The files written (a plain list of Paths for callers that log them), plus what the report
    skipped and why (`notes`) and seconds per step (`timings`)."""

    notes: list[str]
    timings: dict[str, float]


def build_report(
    run_dir: str | Path,
    cfg: DictConfig | dict | None,
    manifest: pd.DataFrame | None,
    assignments: pd.DataFrame,
    metrics: dict[str, float],
    warnings: Sequence[str] = (),
    vectors: np.ndarray | None = None,
    vector_ids: list[str] | None = None,
    encoder: object | None = None,
    run_info: dict | None = None,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
) -> ReportFiles:
    """Write plots, montages, tables, zero-shot labels, the sampling sheet and report.html under
    `run_dir/report/`; return the files written (for MLflow), with `.notes` and `.timings`."""
    config = resolve_report_config(cfg)
    files = ReportFiles()
    files.notes, files.timings = [], {}
    if not config.enabled:
        files.notes.append("report.enabled is false: no report was made")
        return files
    builder = _ReportBuilder(Path(run_dir) / "report", config, files, show_progress)
    builder.run(
        manifest,
        assignments,
        metrics,
        list(warnings),
        vectors,
        vector_ids,
        encoder,
        dict(run_info or {}),
        cache_dir,
    )
    return files


class _ReportBuilder:
    def __init__(self, out: Path, config: ReportConfig, files: ReportFiles, show_progress: bool):
        self.out = out
        self.cfg = config
        self.files = files
        self.notes = files.notes
        self.show_progress = show_progress
        out.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def step(self, name: str):
        start = time.perf_counter()
        yield
        self.files.timings[name] = round(time.perf_counter() - start, 3)
        log.info("report: %s took %.1f s", name, self.files.timings[name])

    def note(self, text: str) -> None:
        self.notes.append(text)
        log.warning("report: %s", text)

    def table(self, frame: pd.DataFrame, name: str) -> None:
        self.files.extend(write_table(frame, self.out / name, list(self.cfg.formats)))

    def run(
        self, manifest, assignments, metrics, warnings, vectors, vector_ids, encoder, run_info, cache_dir
    ):
        cfg = self.cfg
        posts = join_posts(manifest, assignments)
        model = str(run_info.get("model") or run_info.get("model_name") or getattr(encoder, "name", "") or "")
        run_info.setdefault("model", model)
        plot_list: list[tuple[Path, str]] = []
        montage_list: list[Montage] = []
        zero_shot_summary = None
        if posts.empty:
            self.note("the run has no clustered posts: nothing to plot, tabulate or sample")
            confidence = metadata = pd.DataFrame()
        else:
            clusters = cluster_order(posts, include_noise=cfg.include_noise)
            thumbs = ThumbnailCache(cache_dir, cfg.thumb_size)
            with self.step("tables"):
                confidence, metadata = self._tables(posts, clusters)
            with self.step("plots"):
                plot_list = self._plots(posts)
            with self.step("montages"):
                montage_list = self._montages(posts, clusters, thumbs, model)
            with self.step("zero_shot"):
                zero_shot_summary = self._zero_shot(posts, encoder, vectors, vector_ids, plot_list)
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
                    run_info,
                    metrics,
                    warnings,
                    plot_list,
                    montage_list,
                    confidence,
                    metadata,
                    zero_shot_summary,
                )

    # --- the parts -------------------------------------------------------------------------------

    def _tables(self, posts: pd.DataFrame, clusters: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
        cfg = self.cfg
        self.files.extend(cluster_file_lists(posts, clusters, self.out / "clusters"))
        confidence = cluster_confidence(posts)
        self.table(confidence, "cluster_confidence")
        hashtags = term_lift(posts, "hashtags", "hashtag")
        accounts = term_lift(posts, "account", "account")
        missing = [name for name in ("hashtags", "account") if not has_column(posts, name)]
        if missing:
            self.note(
                f"no {' or '.join(missing)} metadata in the manifest: the per-cluster "
                f"{' and '.join(missing)} tables are empty"
            )
        metadata = cluster_metadata(posts, hashtags, accounts, cfg.top_n_terms, cfg.dominant_account_share)
        self.table(metadata, "cluster_metadata")
        self.table(hashtags, "cluster_hashtags")
        self.table(accounts, "cluster_accounts")
        return confidence, metadata

    def _plots(self, posts: pd.DataFrame) -> list[tuple[Path, str]]:
        made = []
        if posts[["x", "y"]].notna().all(axis=1).any():
            path = plots.plot_cluster_map(
                posts,
                self.out / "cluster_map.png",
                title="cluster map",
                legend_max_clusters=self.cfg.legend_max_clusters,
            )
            made.append((path, "2-D map of the clustered posts: clusters coloured and numbered, noise grey"))
        else:
            self.note("assignments have no x/y map coordinates: the cluster map was skipped")
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
        self.files.extend(path for path, _ in made)
        return made

    def _montages(self, posts, clusters, thumbs: ThumbnailCache, model: str) -> list[Montage]:
        cfg = self.cfg
        samples = select_montage_samples(posts, clusters, cfg.top_k, cfg.unique_images, model)
        self.table(samples, "samples")
        needed = samples.drop_duplicates("image_id")
        made = {}
        for start in tqdm(
            range(0, len(needed), 256), desc="thumbnails", unit="batch", disable=not self.show_progress
        ):
            chunk = needed.iloc[start : start + 256]
            made.update(thumbs.ensure_many(zip(chunk["image_id"], chunk["path"])))
        sizes = posts["cluster"].value_counts()
        by_cluster = {k: rows for k, rows in samples.groupby("cluster", sort=False)}

        def render(cluster: int) -> Montage:
            rows = by_cluster.get(cluster, samples.iloc[:0])
            path = render_montage(
                rows,
                cluster,
                int(sizes[cluster]),
                thumbs,
                cfg.montage_columns,
                self.out / "montages" / montage_filename(cluster),
            )
            return Montage(
                cluster, cluster_name(cluster), int(sizes[cluster]), path, _montage_posts(rows, posts)
            )

        # PNG encoding and JPEG decoding release the GIL: threads use the cores a laptop has.
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            montages = list(
                tqdm(
                    pool.map(render, clusters),
                    total=len(clusters),
                    desc="montages",
                    unit="cluster",
                    disable=not self.show_progress,
                )
            )
        self.files.extend(m.png for m in montages)
        return montages

    def _zero_shot(self, posts, encoder, vectors, vector_ids, plot_list) -> pd.DataFrame | None:
        zcfg = self.cfg.zero_shot
        if not zcfg.enabled:
            self.note("zero-shot labels are off (report.zero_shot.enabled=false)")
            return None
        try:
            labels = zero_shot_labels(
                encoder,
                vectors,
                vector_ids,
                list(posts["image_id"]),
                list(zcfg.prompts),
                zcfg.prompt_set_version,
            )
        except ZeroShotSkipped as why:
            self.note(f"zero-shot labels skipped: {why}")
            return None
        by_cluster = zero_shot_by_cluster(posts, labels, list(zcfg.prompts))
        self.table(labels, "zero_shot_labels")
        self.table(by_cluster, "zero_shot_by_cluster")
        path = plots.plot_zero_shot(by_cluster, self.out / "zero_shot_by_cluster.png")
        self.files.append(path)
        plot_list.append((path, f"zero-shot top labels per cluster (prompt set {zcfg.prompt_set_version})"))
        return _top_labels(by_cluster)

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
                sheet.to_csv(path, index=False)
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
        self,
        posts,
        run_info,
        metrics,
        warnings,
        plot_list,
        montage_list,
        confidence,
        metadata,
        zero_shot_summary,
    ) -> None:
        cfg = self.cfg
        shown = montage_list
        if cfg.html.max_montages is not None:
            kept = [m for m in montage_list if m.cluster != NOISE][: cfg.html.max_montages]
            shown = kept + [m for m in montage_list if m.cluster == NOISE]
        clusters = [k for k in posts["cluster"].unique() if k != NOISE] if not posts.empty else []
        page = ReportPage(
            run_info=run_info,
            metrics=dict(metrics or {}),
            warnings=warnings,
            notes=self.notes,
            plots=plot_list,
            montages=shown,
            cluster_table=_cluster_table(confidence, metadata),
            zero_shot_table=zero_shot_summary,
            prompt_set_version=cfg.zero_shot.prompt_set_version if zero_shot_summary is not None else None,
            files=_file_summary(self.files, self.out),
            counts={
                "posts": len(posts),
                "images": int(posts["image_id"].nunique()) if not posts.empty else 0,
                "clusters": len(clusters),
                "noise": int((posts["cluster"] == NOISE).sum()) if not posts.empty else 0,
            },
            dominant_share=cfg.dominant_account_share,
            montages_left_out=len(montage_list) - len(shown),
            max_table_rows=cfg.html.max_table_rows,
        )
        self.files.append(render_report(page, self.out / "report.html", cfg.html.image_quality))


CLUSTER_TABLE_HEADERS = {
    "n_posts": "posts",
    "n_unique_images": "unique images",
    "probability_median": "median probability",
    "n_accounts": "accounts",
    "top_account_share": "top account's share",
    "top_hashtags": "top hashtags (posts, lift)",
    "top_accounts": "top accounts (posts, lift)",
    "dominant_account": "dominant account",
}


def _cluster_table(confidence: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """The page's cluster table: sizes, median probability, accounts, top terms, dominance flag."""
    if metadata.empty:
        return metadata
    table = metadata.merge(confidence[["cluster", "probability_median"]], on="cluster", how="left")
    table["cluster"] = [("noise" if k == NOISE else str(k)) for k in table["cluster"]]
    columns = [
        "cluster",
        "n_posts",
        "n_unique_images",
        "probability_median",
        "n_accounts",
        "top_account_share",
        "top_hashtags",
        "top_accounts",
        "dominant_account",
    ]
    table = table[columns].astype(object).where(table[columns].notna(), None)
    return table.rename(columns=lambda c: CLUSTER_TABLE_HEADERS.get(c, c))


def _montage_posts(samples: pd.DataFrame, posts: pd.DataFrame, caption_chars: int = 280) -> pd.DataFrame:
    """The montage's tiles as rows with the post text a reader needs (caption, hashtags)."""
    text = [c for c in ("hashtags", "caption") if c in posts.columns]
    rows = samples[["rank_kind", "rank", "image_id", "path", "probability", "account"]]
    if text:
        rows = rows.merge(posts[["path", *text]], on="path", how="left")
    rows = rows.drop(columns="path")
    if "hashtags" in rows:
        rows["hashtags"] = rows["hashtags"].map(lambda tags: " ".join(f"#{t}" for t in tags))
    if "caption" in rows:
        rows["caption"] = rows["caption"].map(
            lambda c: (
                None
                if c is None or pd.isna(c)
                else (c if len(c) <= caption_chars else c[:caption_chars] + "…")
            )
        )
    return rows.astype(object).where(rows.notna(), None)


def _top_labels(by_cluster: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    rows = []
    for cluster, group in by_cluster.groupby("cluster", sort=False):
        best = group[group["count"] > 0].sort_values(["share", "label"], ascending=[False, True]).head(n)
        row = {"cluster": "noise" if cluster == NOISE else str(cluster)}
        for i in range(n):
            row[f"label {i + 1}"] = (
                f"{best['label'].iloc[i]} ({best['share'].iloc[i]:.0%})" if i < len(best) else None
            )
        rows.append(row)
    return pd.DataFrame(rows)


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
