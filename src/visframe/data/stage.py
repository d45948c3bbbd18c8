"""The data stage: the folder the dataset settings name (generated first when the dataset has a
generator) → the manifest, its usable rows and the cleaning report.

    result = run(IngestInputs(), cfg.dataset, context)
    result.manifest      # one row per file (contracts.MANIFEST), every bad file with its reason
    result.clean         # status == ok: one row per post image
    result.report        # cleaning_report.csv's table

The stage has no earlier stage: its input is the folder itself, and where its file checks run
(`inspector`: this machine's processes by default, a Dask cluster with scale=sample_fit).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from visframe import contracts as C
from visframe.data.ingest import Inspector, ingest_folder
from visframe.data.report import cleaning_report
from visframe.errors import StageError
from visframe.stages import StageContext
from visframe.utils.hashing import hash_strings

log = logging.getLogger(__name__)


class NoUsableImages(StageError):
    """Every file of the folder was rejected at ingest (the message says how to see why)."""


@dataclass(frozen=True)
class IngestInputs:
    inspector: Inspector | None = None  # runs the file checks elsewhere (see data.ingest.inspect_files)


@dataclass(frozen=True)
class IngestResult:
    manifest: pd.DataFrame  # every file (contracts.MANIFEST)
    clean: pd.DataFrame  # the usable rows (status ok), one per post image, index 0..n-1
    report: pd.DataFrame  # the cleaning report: counts by status and reason, with examples
    fingerprint: str  # hash of the sorted image ids: the dataset's identity for tracking
    warnings: tuple[str, ...] = ()
    skipped_files: Mapping[str, int] = field(default_factory=dict)
    root: str | None = None


def run(inputs: IngestInputs, settings: Any, context: StageContext) -> IngestResult:
    """Ingest the folder `settings` (the `dataset` config section) names; generate it first when the
    dataset has a generator (the synthetic corpus, cached by its parameters)."""
    root = Path(str(settings.root)).expanduser()
    metadata = settings.get("metadata")
    if settings.get("generator"):
        from hydra.utils import instantiate

        log.info("Preparing the %s corpus in %s", settings.get("name", "synthetic"), root)
        metadata = instantiate(settings.generator, out_dir=root)
    ingest_options = settings.get("ingest") or {}
    options = (
        OmegaConf.to_container(ingest_options, resolve=True)
        if OmegaConf.is_config(ingest_options)
        else dict(ingest_options)
    )
    ingested = ingest_folder(
        root,
        metadata=metadata,
        metadata_format=settings.get("metadata_format", "auto"),
        label_from_dirs=bool(settings.get("label_from_dirs", False)),
        follow_symlinks_outside=settings.get("follow_symlinks_outside", False) is True,
        cache_dir=context.cache_dir,
        show_progress=context.show_progress,
        inspector=inputs.inspector,
        metadata_memo=context.session.metadata_tables,
        **options,
    )
    manifest = ingested.manifest
    clean = clean_rows(manifest)
    log.info(
        "Ingested %d files: %d usable rows, %d distinct images",
        len(manifest),
        len(clean),
        clean[C.IMAGE_ID].nunique(),
    )
    fingerprint = hash_strings(sorted(manifest[C.IMAGE_ID].dropna().astype(str).tolist()))
    return IngestResult(
        manifest,
        clean,
        cleaning_report(manifest, ingested.root, warnings=ingested.warnings),
        fingerprint,
        ingested.warnings,
        dict(ingested.skipped_files),
        ingested.root,
    )


def clean_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """The usable rows (status ok); an error saying where to look when there are none."""
    clean = manifest[manifest[C.STATUS] == C.STATUS_OK].reset_index(drop=True)
    if clean.empty:
        counts = manifest[C.STATUS].value_counts().to_dict()
        raise NoUsableImages(
            f"No usable images: all {len(manifest)} files were rejected at ingest ({counts}).",
            fix=f"see the `{C.REASON}` column of {C.MANIFEST_FILE} (or {C.CLEANING_REPORT_FILE}) "
            "for each file",
        )
    return clean


__all__ = ["IngestInputs", "IngestResult", "NoUsableImages", "clean_rows", "run"]
