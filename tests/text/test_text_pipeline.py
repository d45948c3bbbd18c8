"""`visframe text=ocr` end to end on the tiny synthetic corpus (in the pool of OCR processes):
texts.parquet, then named clusters whose terms come from what the images say."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from job_config import FAST, make_cfg
from visframe import contracts as C
from visframe.pipeline import run


@pytest.mark.slow
def test_ocr_texts_reach_the_described_clusters(tmp_path):
    pytest.importorskip("rapidocr")
    # FAST turns text off for the other tests; this one reads (text=ocr, workers=auto).
    fast = [override for override in FAST if not override.startswith("text=")]
    result = run(make_cfg(tmp_path, ["text=ocr", "report.enabled=false"], fast=fast), tmp_path / "run")
    run_dir = tmp_path / "run"
    texts = C.validate(C.TEXTS, pd.read_parquet(run_dir / C.TEXTS_FILE))
    manifest = pd.read_parquet(run_dir / C.MANIFEST_FILE)
    clean = manifest[manifest[C.STATUS] == C.STATUS_OK]
    assert set(texts[C.IMAGE_ID]) == set(clean[C.IMAGE_ID])
    with_text = (
        clean.drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)[C.RENDERED_TEXT].fillna("").str.len() > 0
    )
    found = texts.set_index(C.IMAGE_ID)[C.N_CHARS].reindex(with_text.index) > 0
    assert (found == with_text).mean() > 0.9, "OCR finds text where the generator drew it"
    clusters = C.validate(C.CLUSTERS, pd.read_parquet(run_dir / C.CLUSTERS_FILE))
    assert clusters[C.NAME].str.len().gt(0).all()
    metrics = json.loads((run_dir / C.METRICS_FILE).read_text())
    assert metrics["texts_computed"] == len(texts) and metrics["texts_failed"] == 0
    assert result.metrics["text_seconds"] > 0
