"""The cleaning report: how many files ended in each status, why, with example file names.

`cleaning_report(manifest, root, warnings=...)` returns one row per (status, kind of reason) — reasons
that differ only in numbers or file names (image sizes, decoder byte counts, symlink targets) are
counted together — with columns `status`, `reason`, `count`, `examples` (up to three file names,
relative to the ingested folder), then one row per ingest warning (a metadata row skipped, cut or
repaired, with its line number). `print_cleaning_report` prints it with rich, with ingest's warnings and
skipped files; the pipeline writes it as cleaning_report.csv through `RunDir.write_cleaning_report`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import pandas as pd
from rich.console import Console
from rich.table import Table

from visframe import contracts as C
from visframe.data import cleaning

_GENERAL_REASONS = {
    cleaning.OK: "usable",
    cleaning.TOO_SMALL: "shorter side below dataset.ingest.min_side",
    cleaning.TOO_MANY_PIXELS: (
        "more pixels than dataset.ingest.max_pixels (a possible decompression bomb); not decoded"
    ),
    cleaning.BLANK: "blank: a single colour, no visible content",
    cleaning.PLACEHOLDER: '"content unavailable" placeholder: a low-content picture repeated in many files',
    cleaning.METADATA_ONLY: "listed in the metadata, but the file is not in the folder (metadata kept)",
    cleaning.OUTSIDE_ROOT: "a symbolic link leading outside dataset.root: not followed, not read "
    "(dataset.follow_symlinks_outside=true follows such links)",
}
REPORT_COLUMNS = ("status", "reason", "count", "examples")


# metadata_only rows whose file name was refused unread (metadata_join.OUTSIDE_KEY_REASON, ingest's
# OUTSIDE_LINK_KEY_REASON): one line of the report, apart from the files that are merely missing.
_REFUSED_KEY_MARKERS = ("is not a name inside the image folder", "leads through a symbolic link outside")
_REFUSED_KEY_KIND = (
    "listed in the metadata under a name outside the folder ('..', an absolute path, a URL, or through a "
    "link leading out): not looked up (metadata kept)"
)


def reason_kind(status: str, reason: str) -> str:
    """The part of a reason that is the same for every file with the same problem."""
    if status == cleaning.METADATA_ONLY and any(marker in (reason or "") for marker in _REFUSED_KEY_MARKERS):
        return _REFUSED_KEY_KIND
    if status in _GENERAL_REASONS:
        return _GENERAL_REASONS[status]
    reason = reason or ""
    if status == cleaning.UNREADABLE:
        return reason.split(":")[0]
    if status == cleaning.TRUNCATED:
        return reason.split("; decoder")[0]
    return re.sub(r",? starting [0-9a-f ]+\)", ")", reason)


def _example_name(path: str, root: str | None) -> str:
    shown = os.fsencode(path).decode("utf-8", "backslashreplace") if isinstance(path, str) else str(path)
    if root and shown.startswith(root.rstrip("/") + "/"):
        return shown[len(root.rstrip("/")) + 1 :]
    return shown


WARNING_STATUS = "warning"  # a report row that is one of ingest's warnings (a metadata row's note)


def cleaning_report(
    manifest: pd.DataFrame, root: str | None = None, max_examples: int = 3, warnings: Sequence[str] = ()
) -> pd.DataFrame:
    """Counts by status and reason with example file names (relative to `root`, the ingested folder);
    usable files first, then by count; then ingest's `warnings` one per row (status `warning`): what
    happened to a metadata row (its file and line number, and why it was skipped, cut or repaired)."""
    report = _status_rows(manifest, root, max_examples)
    if warnings:
        notes = pd.DataFrame(
            {"status": WARNING_STATUS, "reason": list(warnings), "count": 1, "examples": ""},
            columns=list(REPORT_COLUMNS),
        )
        report = pd.concat([report, notes], ignore_index=True) if len(report) else notes
    return report


def _status_rows(manifest: pd.DataFrame, root: str | None, max_examples: int) -> pd.DataFrame:
    kinds = [
        reason_kind(status, reason)
        for status, reason in zip(manifest["status"], manifest["reason"].fillna(""))
    ]
    # Display names: a non-UTF-8 file name cannot live in pandas' (UTF-8) string dtype.
    names = [_example_name(path, root) for path in manifest["path"]]
    frame = pd.DataFrame({"status": manifest["status"].astype(str).to_numpy(), "kind": kinds, "name": names})
    rows = []
    for (status, kind), group in frame.groupby(["status", "kind"], sort=False):
        examples = group["name"].head(max_examples).tolist()
        rows.append({"status": status, "reason": kind, "count": len(group), "examples": ", ".join(examples)})
    report = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    if report.empty:
        return report
    report["_usable"] = report["status"] != cleaning.OK
    report = report.sort_values(["_usable", "count", "status"], ascending=[True, False, True], kind="stable")
    return report.drop(columns="_usable").reset_index(drop=True)


def reshare_summary(manifest: pd.DataFrame) -> dict[str, int]:
    """Usable posts, distinct images among them, and reshare groups with more than one post."""
    usable = manifest[manifest["status"] == cleaning.OK]
    sizes = usable[C.RESHARE_GROUP].value_counts()
    return {
        "usable_posts": len(usable),
        "unique_images": int(usable[C.IMAGE_ID].nunique()),
        "reshare_groups": len(sizes),
        "groups_with_copies": int((sizes > 1).sum()),
    }


def print_cleaning_report(
    manifest: pd.DataFrame,
    warnings: Sequence[str] = (),
    skipped_files: Mapping[str, int] | None = None,
    root: str | None = None,
    console: Console | None = None,
    max_examples: int = 3,
) -> pd.DataFrame:
    """Print the report (and ingest's warnings and skipped files) as rich tables; returns the report."""
    console = console or Console(stderr=True)
    report = cleaning_report(manifest, root, max_examples=max_examples)
    summary = reshare_summary(manifest)
    table = Table(
        title=f"Cleaning report: {len(manifest)} rows, {summary['usable_posts']} usable "
        f"({summary['unique_images']} distinct images, {summary['groups_with_copies']} reshared "
        "more than once)",
        show_lines=False,
    )
    for column, style in zip(REPORT_COLUMNS, ("bold", "", "cyan", "dim")):
        table.add_column(
            column, style=style, justify="right" if column == "count" else "left", overflow="fold"
        )
    for row in report.itertuples(index=False):
        table.add_row(row.status, row.reason, str(row.count), row.examples)
    console.print(table)
    if warnings:
        console.print(f"[yellow]{len(warnings)} ingest warning(s):[/yellow]")
        for message in warnings[:10]:
            console.print(f"  • {message}", markup=False, highlight=False)
        if len(warnings) > 10:
            console.print(f"  … and {len(warnings) - 10} more (kept in the manifest file's metadata)")
    skipped = skipped_files or {}
    if skipped:
        shown = ", ".join(
            f"{count} {kind}" for kind, count in sorted(skipped.items(), key=lambda kv: -kv[1])[:6]
        )
        console.print(f"Skipped non-image files: {shown}", highlight=False)
    return report
