"""The study's summary tables for a set of finished jobs (a Hydra multirun or an Optuna study).

Read from the jobs' run directories only, through `visframe.run_dir.RunDir` (metrics, config, the
overrides Hydra or a tune trial kept, assignments, cluster names), so any finished sweep can be
summarised again later.
CSV is the data (written with `visframe.utils.csv_safe`: no cell a spreadsheet would run); every
table also comes as a PNG laid out so nothing overlaps, and `index.html` shows them all on one
self-contained page (tracking/summary_html.py):

- jobs.csv: one row per job, every metric (and images_embedded / reduce_cache_hit, so a user sees
  that the sweep cost only the clustering);
- `<parameter>.csv/.png` for each swept parameter other than the model (the study's Appendix 1 is
  `min_cluster_size.csv`): the parameter, n_clusters, silhouette, noise share (and DBCV) per model.
  Which parameters were swept is read from the jobs' overrides (and the multirun's own sweep
  overrides when given), so a PLSCAN or EVoC sweep gets its own parameter's table; without any,
  `min_cluster_size.csv` keeps the paper's form from the jobs' configs;
- model_comparison.csv/.png (Table 1): silhouette, Calinski-Harabasz, Davies-Bouldin per model
  (and ARI/NMI where ground truth is known);
- confidence.csv/.png (Appendix 3): share of clustered images with probability >= the threshold,
  mean probability, number of clusters per model;
- confidence_by_job.csv + confidence_by_job.png + confidence_lines.png: every job's distribution of
  membership probabilities over its clustered points (box per job: 5th/25th/50th/75th/95th
  percentiles, grouped by model, ordered by the swept parameter, the share >= threshold written on
  each box) and the share >= threshold and the noise share over the swept parameter, one line per
  model (tracking/summary_figures.py). A job that found no cluster (every image noise) has no
  probabilities to draw: it keeps its place, labelled "no clusters" (the `note` column), rather than
  vanish from the plots;
- agreement_ari.csv, agreement_nmi.csv, agreement.png: ARI/NMI between every two jobs' clusterings
  of the same images (rows joined by `path`, the manifest's row key; noise is its own label).

Rows are keyed by the model and by every override that differs between jobs, so a model sweep gives
one row per model and a min_cluster_size sweep one row per value.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from visframe import contracts as C
from visframe.contracts import CLUSTER, NOISE, PATH, PROBABILITY
from visframe.run_dir import RunDir
from visframe.tracking.summary_figures import NO_CLUSTERS
from visframe.utils.csv_safe import to_csv_safe

log = logging.getLogger(__name__)

OVERRIDE = "override:"
PARAMETER_METRICS = ["n_clusters", "silhouette", "noise_share", "dbcv"]
MCS_COLUMNS = ["min_cluster_size", *PARAMETER_METRICS]
MODEL_COLUMNS = ["silhouette", "calinski_harabasz", "davies_bouldin", "ari", "nmi"]
QUANTILES = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
# Files of the summary that a parameter's table must not overwrite.
RESERVED = {"jobs", "model_comparison", "confidence", "confidence_by_job", "confidence_lines", "agreement", "index"}


# ------------------------------------------------------------------------------------ reading


def find_job_dirs(sweep_dir: str | Path) -> list[Path]:
    """The job directories of a Hydra sweep dir (sub-directories with a Hydra or visframe output)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        return []
    dirs = [d for d in sweep_dir.iterdir() if d.is_dir() and RunDir(d).is_job()]
    return sorted(dirs, key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))


def _override_key(text: str) -> str:
    return text.split("=", 1)[0].strip().lstrip("+~")


def _overrides(job: RunDir) -> dict[str, str]:
    # Hydra jobs: the job's hydra.overrides.task; visframe-tune trials: the trial's parameters.
    pairs = (item.split("=", 1) for item in job.read_overrides() if "=" in item)
    return {_override_key(key): value for key, value in pairs if not _override_key(key).startswith("hydra.")}


def swept_keys(task_overrides: Sequence[str]) -> list[str]:
    """The keys a multirun sweeps, from its `hydra.overrides.task` (`a=1,2`, `b=range(1,4)`, …)."""
    keys = []
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        for override in OverridesParser.create().parse_overrides([str(o) for o in task_overrides]):
            if override.is_sweep_override():
                keys.append(override.get_key_element().lstrip("+~"))
    except Exception:  # noqa: BLE001 - an override Hydra itself accepted; fall back to the comma form
        keys = [_override_key(o) for o in task_overrides if "=" in str(o) and "," in str(o).split("=", 1)[1]]
    return [k for k in keys if not k.startswith("hydra.")]


def _select(config: dict | None, dotted: str):
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _job_row(number: int, job_dir: Path) -> dict:
    job = RunDir(job_dir)
    config = job.read_config()  # config.yaml, else Hydra's .hydra/config.yaml
    metrics = job.read_metrics() or {}  # undefined metrics (null) as NaN
    overrides = _overrides(job)
    clusters = metrics.get("n_clusters")
    row = {
        "job": job_dir.name if job_dir.name.isdigit() else str(number),
        "run_dir": str(job_dir.resolve()),
        "status": "ok" if metrics else "failed",
        "note": NO_CLUSTERS if isinstance(clusters, (int, float)) and clusters == 0 else "",
        "model": str(_select(config, "model.name") or overrides.get("model") or ""),
        "min_cluster_size": _select(config, "clusterer.min_cluster_size"),
        "clusterer": str(_select(config, "clusterer._target_") or ""),
        "reducer": str(_select(config, "reducer._target_") or ""),
    }
    row["mlflow_run_id"] = job.mlflow_run_id() or ""
    row.update({f"{OVERRIDE}{k}": v for k, v in overrides.items()})
    row.update(metrics)
    return row


def collect_jobs(job_dirs: list[Path], swept: Sequence[str] = ()) -> pd.DataFrame:
    """One row per job: identity columns, the overrides, then every metric. Failed jobs: status.

    `jobs.attrs["varying"]` lists the override columns that differ between jobs or that `swept`
    (the multirun's sweep keys) names.
    """
    jobs = pd.DataFrame([_job_row(number, Path(job_dir)) for number, job_dir in enumerate(job_dirs)])
    if jobs.empty:
        return jobs
    for column in [c for c in jobs.columns if c.startswith(OVERRIDE)]:
        # Numbers sort as numbers (25 < 100), not as the override's text.
        numeric = pd.to_numeric(jobs[column], errors="coerce")
        if numeric.notna().sum() == jobs[column].notna().sum():
            jobs[column] = numeric
    named = {f"{OVERRIDE}{key}" for key in swept}
    varying = [
        c for c in jobs.columns if c.startswith(OVERRIDE) and (jobs[c].astype(str).nunique() > 1 or c in named)
    ]
    jobs["label"] = [
        " ".join(f"{short_name(c)}={row[c]}" for c in varying) or f"job {row['job']}" for _, row in jobs.iterrows()
    ]
    jobs.attrs["varying"] = varying
    return jobs


def short_name(column: str) -> str:
    """`override:clusterer.min_cluster_size` → `min_cluster_size`."""
    return column.removeprefix(OVERRIDE).split(".")[-1]


def swept_parameters(jobs: pd.DataFrame) -> list[str]:
    """The varying override columns other than the model, in the order the sweep named them."""
    return [c for c in jobs.attrs.get("varying", []) if c.removeprefix(OVERRIDE) != "model"]


# ------------------------------------------------------------------------------------ tables


def _key_columns(jobs: pd.DataFrame, skip: tuple[str, ...] = ()) -> list[str]:
    """model, then the varying overrides other than model / those in `skip`."""
    return ["model"] + [c for c in swept_parameters(jobs) if c not in skip]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    renamed = {c: c.removeprefix(OVERRIDE) for c in frame.columns}
    return frame.rename(columns=renamed).reset_index(drop=True)


def _ok(jobs: pd.DataFrame) -> pd.DataFrame:
    ok = jobs[jobs["status"] == "ok"].copy()
    ok["noise_share"] = ok.get("noise_fraction", np.nan)
    return ok


def parameter_table(jobs: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """The Appendix 1 form for one swept parameter (an override column, or `min_cluster_size`)."""
    ok = _ok(jobs)
    keys = _key_columns(ok, skip=(parameter,))
    name = short_name(parameter)
    ok[name] = ok[parameter]
    columns = list(dict.fromkeys(keys + [name] + [c for c in PARAMETER_METRICS if c in ok.columns]))
    return _tidy(ok[columns].sort_values(keys + [name], kind="stable"))


def parameter_tables(jobs: pd.DataFrame) -> dict[str, tuple[str, pd.DataFrame]]:
    """`file stem → (parameter, table)` for every swept numeric parameter other than the model;
    the min_cluster_size form (from the jobs' configs) when there is none."""
    tables = {}
    for column in swept_parameters(jobs):
        if pd.api.types.is_numeric_dtype(jobs[column]):
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", short_name(column))
            stem = f"sweep_{stem}" if stem in RESERVED or stem in tables else stem
            tables[stem] = (short_name(column), parameter_table(jobs, column))
    if not tables:
        tables["min_cluster_size"] = ("min_cluster_size", parameter_table(jobs, "min_cluster_size"))
    return tables


def model_comparison_table(jobs: pd.DataFrame) -> pd.DataFrame:
    ok = _ok(jobs)
    keys = _key_columns(ok)
    columns = keys + [c for c in MODEL_COLUMNS if c in ok.columns]
    return _tidy(ok[columns].sort_values(keys, kind="stable"))


def share_column(threshold: float) -> str:
    return f"share_probability_ge_{threshold:g}"


def confidence_table(jobs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    ok = _ok(jobs)
    share = share_column(threshold)
    ok[share] = ok.get("confident_fraction", np.nan)
    keys = _key_columns(ok)
    columns = keys + [c for c in (share, "mean_probability", "n_clusters", "note") if c in ok.columns]
    return _tidy(ok[columns].sort_values(keys, kind="stable"))


def _probability_stats(run_dir: Path, threshold: float) -> dict[str, float]:
    job, columns = RunDir(run_dir), [CLUSTER, PROBABILITY]
    if not set(columns) <= set(job.columns(C.ASSIGNMENTS)):  # no assignments, or an older layout
        return {}
    assignments = job.read_optional(C.ASSIGNMENTS, columns)
    if assignments is None:
        return {}
    clustered = assignments.loc[assignments[CLUSTER] != NOISE, PROBABILITY].to_numpy(dtype=float)
    stats = {"n_points": float(len(assignments)), "n_clustered": float(len(clustered)),
             "noise_share": float((assignments[CLUSTER] == NOISE).mean()) if len(assignments) else math.nan}  # fmt: skip
    if len(clustered):
        stats["share_ge_threshold"] = float((clustered >= threshold).mean())
        stats["mean"] = float(clustered.mean())
        stats["min"], stats["max"] = float(clustered.min()), float(clustered.max())
        stats.update({name: float(np.quantile(clustered, q)) for name, q in QUANTILES.items()})
    return stats


def confidence_by_job(jobs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """One row per job (every job, failed ones with empty numbers), ordered by model then the swept
    parameters: the membership probabilities of its clustered points (min, q05 … q95, max, mean),
    the share >= `threshold` among them, and the noise share of all its points."""
    keys = _key_columns(jobs)
    rows = []
    for _, job in jobs.iterrows():
        stats = _probability_stats(Path(job["run_dir"]), threshold) if job["status"] == "ok" else {}
        rows.append({"job": job["job"], "label": job["label"], "status": job["status"], "note": job["note"],
                     **{k: job[k] for k in keys}, "threshold": threshold, **stats})  # fmt: skip
    frame = pd.DataFrame(rows)
    numbers = ["n_points", "n_clustered", "noise_share", "share_ge_threshold", "mean", "min", *QUANTILES, "max"]
    for column in numbers:
        if column not in frame:
            frame[column] = np.nan
    ordered = frame[["job", "label", "status", "note", *keys, "threshold", *numbers]]
    return _tidy(ordered.sort_values(keys, kind="stable"))


def cluster_names_by_job(jobs: pd.DataFrame) -> pd.DataFrame:
    """Every job's named clusters (the describe stage's chosen layer), largest first: which themes each
    setting finds, by name, side by side."""
    frames = []
    for _, job in jobs[jobs["status"] == "ok"].iterrows():
        files = RunDir(job["run_dir"])
        clusters = files.read_optional(C.CLUSTERS, [C.CLUSTER, C.IS_CHOSEN_LAYER, C.SIZE])
        if clusters is None:
            continue
        names = files.cluster_names()  # the chosen layer's, as the report and the review app name them
        chosen = clusters[clusters[C.IS_CHOSEN_LAYER].fillna(False).astype(bool)].copy()
        chosen[C.NAME] = [names.get(int(c), "") for c in chosen[C.CLUSTER]]
        chosen = chosen.sort_values(C.SIZE, ascending=False)
        frames.append(chosen.drop(columns=[C.IS_CHOSEN_LAYER]).assign(job=job["job"], label=job["label"]))
    if not frames:
        return pd.DataFrame(columns=["job", "label", C.CLUSTER, C.NAME, C.SIZE])
    return pd.concat(frames, ignore_index=True)[["job", "label", C.CLUSTER, C.NAME, C.SIZE]]


def agreement_matrices(jobs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ARI and NMI between every two jobs' labels over the images both clustered (joined by path)."""
    labelled = {}
    for _, row in jobs[jobs["status"] == "ok"].iterrows():
        assignments = RunDir(row["run_dir"]).read_optional(C.ASSIGNMENTS, [PATH, CLUSTER])
        if assignments is not None:
            labelled[row["label"]] = assignments.drop_duplicates(PATH).set_index(PATH)[CLUSTER]
    names = list(labelled)
    ari = pd.DataFrame(np.nan, index=names, columns=names)
    nmi = ari.copy()
    for i, a in enumerate(names):
        for b in names[i:]:
            both = pd.concat([labelled[a], labelled[b]], axis=1, join="inner").to_numpy()
            if len(both) < 2:
                continue
            ari.loc[a, b] = ari.loc[b, a] = adjusted_rand_score(both[:, 0], both[:, 1])
            nmi.loc[a, b] = nmi.loc[b, a] = normalized_mutual_info_score(both[:, 0], both[:, 1])
    return ari, nmi


# ------------------------------------------------------------------------------------ writing


def write_summary(
    job_dirs: list[Path], out_dir: str | Path, confidence_threshold: float = 0.85, swept: Sequence[str] = ()
) -> list[Path]:
    """Write every summary table (CSV + PNG), the figures and index.html into `out_dir`.

    `swept`: the sweep's keys when known (`swept_keys(hydra.overrides.task)`); otherwise the
    overrides that differ between jobs. Returns the files written.
    """
    from visframe.tracking import summary_figures as figures
    from visframe.tracking.summary_html import write_index

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = collect_jobs(job_dirs, swept)
    if jobs.empty:
        return []
    written = [out_dir / "jobs.csv"]
    to_csv_safe(jobs[["label"] + [c for c in jobs.columns if c != "label"]], written[0])
    sections: list[tuple[str, str, pd.DataFrame | None, list[Path]]] = []
    if (jobs["status"] == "ok").any():
        tables = {
            stem: (table, f"{parameter} sweep (Appendix 1 form)", parameter)
            for stem, (parameter, table) in parameter_tables(jobs).items()
        }
        tables["model_comparison"] = (model_comparison_table(jobs), "Internal metrics per model (Table 1 form)", None)
        tables["confidence"] = (
            confidence_table(jobs, confidence_threshold), "Confidence per model (Appendix 3 form)", None
        )
        for stem, (table, title, parameter) in tables.items():
            csv = out_dir / f"{stem}.csv"
            to_csv_safe(table, csv)
            pictures = [figures.table_png(table, out_dir / f"{stem}.png", title)]
            if parameter and table[parameter].nunique() > 1:
                pictures.append(figures.parameter_plot(table, parameter, out_dir / f"{stem}_plot.png"))
            written += [csv, *pictures]
            sections.append((title, stem, table, pictures[1:]))  # the page shows the table as HTML
    by_job = confidence_by_job(jobs, confidence_threshold)
    csv = out_dir / "confidence_by_job.csv"
    to_csv_safe(by_job, csv)
    parameters = [c.removeprefix(OVERRIDE) for c in swept_parameters(jobs)]
    pictures = figures.confidence_figures(by_job, parameters, confidence_threshold, out_dir)
    written += [csv, *pictures]
    slim = by_job.drop(columns=["threshold", "min", "max", "q05", "q95"], errors="ignore")
    sections.insert(0, ("Membership probability per job", "confidence_by_job", slim, pictures))
    names = cluster_names_by_job(jobs)
    if not names.empty:
        to_csv_safe(names, out_dir / "cluster_names.csv")
        written.append(out_dir / "cluster_names.csv")
        sections.append(("Named clusters per job (chosen layer, largest first)", "cluster_names", names, []))
    ari, nmi = agreement_matrices(jobs)
    if len(ari) > 1:
        to_csv_safe(ari, out_dir / "agreement_ari.csv", index=True, index_label="job")
        to_csv_safe(nmi, out_dir / "agreement_nmi.csv", index=True, index_label="job")
        png = figures.agreement_png(ari, nmi, out_dir / "agreement.png")
        written += [out_dir / "agreement_ari.csv", out_dir / "agreement_nmi.csv", png]
        sections.append(("Agreement between clusterings", "agreement_ari", None, [png]))
    written.append(write_index(out_dir, jobs, sections, confidence_threshold))
    return written
