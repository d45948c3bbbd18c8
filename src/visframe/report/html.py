"""report.html: one self-contained page per run, fit for a paper's supplement.

Self-contained means no request leaves the page: images are base64 `data:` URIs, CSS is inline,
no scripts, no web fonts. Every string from the data (captions, hashtags, accounts, warnings) goes
through Jinja2 autoescaping, so a caption holding `<script>` shows as text.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image

from visframe import contracts as C

TEMPLATES = Path(__file__).parent / "templates"
# run_info keys shown first, in this order, under these names; other scalar keys follow as given.
RUN_KEYS = {
    "model": "model",
    "config_hash": "config hash",
    "dataset_fingerprint": "dataset fingerprint",
    "code_version": "code version",
}
TERM_COLUMNS = {C.TOP_HASHTAGS, C.TOP_ACCOUNTS, "top hashtags (posts, lift)", "top accounts (posts, lift)"}
GALLERY_ANCHOR = "gallery"


@dataclass(frozen=True)
class RunInfo:
    """What the report says about the run that made it (the pipeline fills it; every field optional)."""

    model: str = ""
    config_hash: str = ""
    dataset_fingerprint: str = ""
    code_version: str = ""
    encoder_key: str = ""
    config_yaml: str | None = None  # the resolved config, shown folded on the page
    metric_spaces: Mapping[str, str] = field(
        default_factory=dict
    )  # metric name → the space it is computed in
    extra: Mapping[str, str | int | float | bool] = field(default_factory=dict)  # more rows for the run table

    def rows(self) -> list[tuple[str, str | int | float | bool]]:
        """(label, value) rows of the page's run table: the known fields first, then `extra`."""
        known = [
            (label, getattr(self, key))
            for key, label in RUN_KEYS.items()
            if getattr(self, key) not in (None, "")
        ]
        if self.encoder_key:
            known.append(("encoder_key", self.encoder_key))
        return known + list(self.extra.items())


@dataclass
class HtmlTable:
    columns: list[str]
    rows: list[dict]
    empty: str = "No rows."
    truncated: int = 0


@dataclass
class ReportPage:
    """Everything the page shows; built by `build_report`, rendered by `render_report`."""

    run_info: RunInfo
    metrics: dict[str, float]
    warnings: list[str]
    notes: list[str]
    plots: list[tuple[Path, str]]  # (png, caption)
    gallery: list  # visframe.report.gallery.GalleryCard, largest cluster first, noise last
    cluster_table: pd.DataFrame
    zero_shot_table: pd.DataFrame | None
    prompt_set_version: str | None
    files: list[str]
    counts: dict[str, int]
    dominant_share: float
    montages_left_out: int = 0
    timeline_table: pd.DataFrame | None = None  # clusters × periods, posts (from cluster_timeline)
    max_table_rows: int = 300
    messages: Any = (
        None  # visframe.report.messages.MessageSection: "What the text says", when the run has topics
    )


def data_uri(path: Path, jpeg_quality: int | None = None) -> str:
    """The file as a `data:` URI; with `jpeg_quality`, re-encoded as JPEG (montages: ~5× smaller)."""
    if jpeg_quality is None:
        mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        payload = path.read_bytes()
    else:
        buffer = io.BytesIO()
        with Image.open(path) as image:
            image.convert("RGB").save(buffer, format="JPEG", quality=jpeg_quality, optimize=True)
        mime, payload = "image/jpeg", buffer.getvalue()
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def html_table(
    frame: pd.DataFrame | None, max_rows: int, empty: str, flag_column: str | None = None
) -> HtmlTable:
    if frame is None or frame.empty:
        return HtmlTable([], [], empty=empty)
    shown = frame.head(max_rows)
    rows = []
    for record in shown.to_dict("records"):
        cells = [_table_cell(k, v) for k, v in record.items()]
        flag = (
            bool(record.get(flag_column)) if flag_column and not pd.isna(record.get(flag_column)) else False
        )
        rows.append({"cells": cells, "flag": flag})
    return HtmlTable(list(frame.columns), rows, empty=empty, truncated=max(0, len(frame) - max_rows))


def _table_cell(column: str, value: object) -> dict:
    """A cell for the template; term lists ('#a 3 (×1.5); #b 2 (×1.1)') show one term per line."""
    if column in TERM_COLUMNS and isinstance(value, str):
        return {"text": value.replace("; ", "\n"), "num": False, "terms": True}
    return {"text": _cell(value), "num": _is_number(value), "terms": False}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.1f}"
    return str(value)


def _metric_value(value: object) -> str:
    try:
        return _cell(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _cell(value)


def _card(card, max_rows: int, image_quality: int) -> dict:
    """One gallery card for the template (every string is autoescaped there)."""
    facts = [f"{card.n_posts:,} posts", f"{card.n_unique_images:,} unique images"]
    if card.text_share is not None:
        facts.append(f"text on {card.text_share:.0%} of images")
    facts += _dates(card.first_posted_at, card.last_posted_at)
    return {
        C.CLUSTER: card.cluster,
        "name": card.name,
        "facts": " · ".join(facts),
        "medoid": data_uri(card.medoid) if card.medoid is not None else None,
        "medoid_id": card.medoid_image_id,
        "terms": ", ".join(card.top_terms),
        "hashtags": card.top_hashtags,
        "accounts": card.top_accounts,
        "zero_shot": ", ".join(card.zero_shot),
        "uri": data_uri(card.montage, jpeg_quality=image_quality),
        "table": html_table(card.posts, max_rows, "No posts."),
    }


def _dates(first: str | None, last: str | None) -> list[str]:
    """['2024-03-08 → 2024-11-25'] (one day once; [] without dates)."""
    if not first:
        return []
    return [first if first == last else f"{first} → {last}"]


def _messages(section, max_rows: int) -> dict | None:
    """ "What the text says" for the template: topic cards, the clusters × topics table and heatmap,
    slogans."""
    if section is None:
        return None
    cards = [
        {
            "topic": card.topic,
            "name": card.name,
            "facts": " · ".join(
                [
                    f"{card.n_posts:,} posts",
                    f"{card.n_unique_images:,} unique images",
                    *_dates(card.first_posted_at, card.last_posted_at),
                ]
            ),
            "medoid": data_uri(card.medoid) if card.medoid is not None else None,
            "medoid_id": card.medoid_image_id,
            "says": card.says,
            "terms": ", ".join(card.top_terms),
            "hashtags": ", ".join(card.top_hashtags),
            "accounts": ", ".join(card.top_accounts),
            "clusters": "; ".join(card.clusters),
        }
        for card in section.cards
    ]
    crosstab = section.crosstab.copy()
    crosstab[C.CLUSTER] = ["noise" if k == C.NOISE else str(k) for k in crosstab[C.CLUSTER]]
    return {
        "facts": section.facts,
        "cards": cards,
        "crosstab": html_table(crosstab.astype(object), max_rows, "No clusters."),
        "heatmap": data_uri(section.heatmap) if section.heatmap is not None else None,
        "slogans": html_table(
            section.slogans, max_rows, "No slogans: no text was found on two or more designs."
        ),
        "n_slogans": section.n_slogans,
    }


def render_report(page: ReportPage, path: Path, image_quality: int) -> Path:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    info = page.run_info
    spaces = dict(info.metric_spaces)
    config_text = info.config_yaml
    model = info.model or None
    run_rows = info.rows()
    metrics = [
        {"name": name, "value": _metric_value(value), "space": spaces.get(name, "—")}
        for name, value in page.metrics.items()
    ]
    context = {
        "run": {"model": model},
        "run_rows": run_rows,
        "metrics": metrics,
        "warnings": list(page.warnings),
        "notes": list(page.notes),
        "plots": [
            {"id": png.stem.replace("_", "-"), "caption": caption, "uri": data_uri(png)}
            for png, caption in page.plots
        ],
        "cluster_table": html_table(
            page.cluster_table, page.max_table_rows, "No clusters.", flag_column="dominant account"
        ),
        "zero_shot_table": (
            html_table(page.zero_shot_table, page.max_table_rows, "No zero-shot labels.")
            if page.zero_shot_table is not None
            else None
        ),
        "prompt_set_version": page.prompt_set_version,
        "timeline_table": (
            html_table(page.timeline_table, page.max_table_rows, "No dated posts.")
            if page.timeline_table is not None
            else None
        ),
        "gallery": [_card(card, page.max_table_rows, image_quality) for card in page.gallery],
        "montages_left_out": page.montages_left_out,
        "messages": _messages(page.messages, page.max_table_rows),
        "files": page.files,
        "config_text": config_text,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "dominant_share_pct": f"{page.dominant_share:.0%}",
        "n_posts": page.counts.get("posts", 0),
        "n_images": page.counts.get("images", 0),
        "n_clusters": page.counts.get("clusters", 0),
        "n_noise": page.counts.get("noise", 0),
    }
    html = env.get_template("report.html").render(**context)
    path.write_text(html, encoding="utf-8")
    return path
