"""The report stage's settings: typed defaults that `conf/report/default.yaml` mirrors.

A structured config catches typos (an unknown key is an error naming it) and lets the report run
with a partial config, e.g. from a notebook: every missing key takes its default here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

# The study's zero-shot prompts (its starting codebook), versioned so that labels from two runs are
# only compared when they came from the same list.
STUDY_PROMPT_SET_VERSION = "study-2024"
STUDY_PROMPTS = [
    "a photo of a protest",
    "an image of solidarity",
    "an image of an illustration",
    "a photo of a group",
    "photo of a sign(s) or banner",
    "a selfie",
    "an image with text in Spanish",
    "an image with text in English",
    "a photo of landmarks or buildings",
]


@dataclass
class SamplingConfig:
    enabled: bool = True
    top: int = 5  # highest-probability images per cluster
    middle: int = 5  # drawn at random (seeded) from between the top and bottom bands
    bottom: int = 5  # lowest-probability images per cluster
    include_noise: bool = True
    formats: list[str] = field(default_factory=lambda: ["csv", "xlsx"])
    xlsx_thumbnails: bool = True  # embed each row's thumbnail in the XLSX so coders see the image
    xlsx_thumb_size: int = 96


@dataclass
class ZeroShotConfig:
    enabled: bool = True
    prompt_set_version: str = STUDY_PROMPT_SET_VERSION
    prompts: list[str] = field(default_factory=lambda: list(STUDY_PROMPTS))


@dataclass
class HtmlConfig:
    enabled: bool = True
    max_montages: int | None = None  # null = every cluster's montage; else the largest N (+ noise)
    image_quality: int = 80  # JPEG quality of the montages embedded in the page
    max_table_rows: int = 300  # rows per table shown in the page (the files keep every row)


@dataclass
class ReportConfig:
    enabled: bool = True
    formats: list[str] = field(default_factory=lambda: ["parquet", "csv"])  # every table, each format
    top_k: int = 10  # montages: the top-k and bottom-k images of each cluster by probability
    thumb_size: int = 160  # px, longest side of a montage tile; thumbnails are cached per size
    montage_columns: int = 5
    include_noise: bool = True  # montages and file lists for the noise "cluster" (-1) too
    unique_images: bool = True  # montages and sampling sheet show each image_id once per cluster
    dominant_account_share: float = 0.5  # flag a cluster when one account supplies more of its posts
    top_n_terms: int = 10  # hashtags / accounts named per cluster in the summary table
    legend_max_clusters: int = 20  # cluster map legend: the largest N clusters (+ noise)
    seed: int = 0
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    zero_shot: ZeroShotConfig = field(default_factory=ZeroShotConfig)
    html: HtmlConfig = field(default_factory=HtmlConfig)


def resolve_report_config(cfg: DictConfig | dict[str, Any] | None) -> ReportConfig:
    """The report config with defaults filled in, interpolations (e.g. `${seed}`) resolved.

    Interpolations are resolved against the caller's full config first: once merged into a new
    root, `${seed}` could no longer find the top-level key.
    """
    if cfg is None:
        user: dict[str, Any] = {}
    elif isinstance(cfg, DictConfig):
        user = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    else:
        user = dict(cfg)
    merged = OmegaConf.merge(OmegaConf.structured(ReportConfig), user)
    return OmegaConf.to_object(merged)  # type: ignore[return-value]
