"""The cleaning report: counts by reason with examples, as a table, printed, and as CSV."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from data_corpus import build_messy_corpus
from rich.console import Console

from visframe.data.ingest import ingest_folder
from visframe.data.report import REPORT_COLUMNS, cleaning_report, print_cleaning_report
from visframe.run_dir import RunDir


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    build_messy_corpus(root)
    return ingest_folder(root, cache_dir=tmp_path_factory.mktemp("cache"), show_progress=False)


@pytest.fixture(scope="module")
def manifest(ingested) -> pd.DataFrame:
    return ingested.manifest


def test_counts_add_up_per_status(manifest):
    report = cleaning_report(manifest)
    assert tuple(report.columns) == REPORT_COLUMNS
    assert report.groupby("status")["count"].sum().to_dict() == manifest.status.value_counts().to_dict()
    assert report.iloc[0].status == "ok" and report.iloc[0].reason == "usable"


def test_reasons_that_differ_only_in_details_are_counted_together(ingested):
    report = cleaning_report(ingested.manifest, ingested.root).set_index(["status", "reason"])
    # Both unreadable kinds, and the two truncated formats, each form their own kind of reason.
    unreadable = report.loc["unreadable"]
    assert set(unreadable.index) == {"broken symbolic link", "not a regular file"}
    truncated = report.loc["truncated"]
    assert set(truncated.index) == {
        "JPEG data ends early: the file is cut short (an interrupted download)",
        "PNG data ends early: the file is cut short (an interrupted download)",
    }
    placeholder = report.loc[("placeholder", slice(None)), :]
    assert placeholder["count"].tolist() == [5]
    examples = placeholder["examples"].iloc[0].split(", ")
    assert len(examples) == 3 and all(name.startswith("blocked/unavailable_") for name in examples)


def test_printed_and_written(ingested, tmp_path):
    manifest = ingested.manifest
    console = Console(file=io.StringIO(), width=200)
    print_cleaning_report(manifest, ingested.warnings, ingested.skipped_files, ingested.root, console=console)
    text = console.file.getvalue()
    assert "Cleaning report" in text and "not_an_image" in text and "file is HTML" in text
    assert "Skipped non-image files" in text
    path = RunDir(tmp_path).write_cleaning_report(cleaning_report(manifest, ingested.root))
    back = pd.read_csv(path)
    assert back["count"].sum() == len(manifest)
    assert set(back.status) == set(manifest.status)
