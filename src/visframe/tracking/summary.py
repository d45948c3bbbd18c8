"""The study's summary tables for a set of finished jobs (a Hydra multirun or an Optuna study).

Read from the jobs' run directories only (metrics.json, config.yaml, .hydra/overrides.yaml,
assignments.parquet), so any finished sweep can be summarised again later:

- jobs.csv: one row per job, every metric (and images_embedded / reduce_cache_hit, so a user sees
  that the sweep cost only the clustering);
- min_cluster_size.csv/.png (the study's Appendix 1): min_cluster_size, n_clusters, silhouette,
  noise share (and DBCV) per model;
- model_comparison.csv/.png (Table 1): silhouette, Calinski-Harabasz, Davies-Bouldin per model
  (and ARI/NMI where ground truth is known);
- confidence.csv/.png (Appendix 3): share of clustered images with probability >= the threshold,
  mean probability, number of clusters per model;
- agreement_ari.csv, agreement_nmi.csv, agreement.png: ARI/NMI between every two jobs' clusterings
  of the same images (rows joined by `path`, the manifest's row key; noise is its own label).

Rows are keyed by the model and by every override that differs between jobs, so a model sweep gives
one row per model and a min_cluster_size sweep one row per value.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

log = logging.getLogger(__name__)

MCS_COLUMNS = ["min_cluster_size", "n_clusters", "silhouette", "noise_share", "dbcv"]
MODEL_COLUMNS = ["silhouette", "calinski_harabasz", "davies_bouldin", "ari", "nmi"]


# ------------------------------------------------------------------------------------ reading


def find_job_dirs(sweep_dir: str | Path) -> list[Path]:
    """The job directories of a Hydra sweep dir (sub-directories with a Hydra or visframe output)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        return []
    dirs = [d for d in sweep_dir.iterdir() if d.is_dir() and ((d / ".hydra").is_dir() or (d / "metrics.json").exists())]
    return sorted(dirs, key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))


def _read_yaml(path: Path) -> dict | list | None:
    try:
        return yaml.safe_load(path.read_text()) if path.exists() else None
    except yaml.YAMLError as error:
        log.warning("Unreadable %s (%s): left out of the summary", path, error)
        return None


def _overrides(job_dir: Path) -> dict[str, str]:
    # Hydra jobs: .hydra/overrides.yaml; visframe-tune trials: overrides.yaml (the trial's parameters).
    found = _read_yaml(job_dir / ".hydra" / "overrides.yaml") or _read_yaml(job_dir / "overrides.yaml") or []
    pairs = (str(item).split("=", 1) for item in found if "=" in str(item))
    return {key.lstrip("+~"): value for key, value in pairs if not key.startswith("hydra.")}


def _select(config: dict | None, dotted: str):
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def collect_jobs(job_dirs: list[Path]) -> pd.DataFrame:
    """One row per job: identity columns, the overrides, then every metric. Failed jobs: status."""
    rows = []
    for number, job_dir in enumerate(job_dirs):
        job_dir = Path(job_dir)
        config = _read_yaml(job_dir / "config.yaml")
        config = config if isinstance(config, dict) else None
        if config is None:
            config = _read_yaml(job_dir / ".hydra" / "config.yaml")
            config = config if isinstance(config, dict) else None
        metrics_path = job_dir / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        overrides = _overrides(job_dir)
        row = {
            "job": job_dir.name if job_dir.name.isdigit() else str(number),
            "run_dir": str(job_dir.resolve()),
            "status": "ok" if metrics else "failed",
            "model": str(_select(config, "model.name") or overrides.get("model") or ""),
            "min_cluster_size": _select(config, "clusterer.min_cluster_size"),
            "clusterer": str(_select(config, "clusterer._target_") or ""),
            "reducer": str(_select(config, "reducer._target_") or ""),
        }
        mlflow_id = job_dir / "mlflow_run_id.txt"
        row["mlflow_run_id"] = mlflow_id.read_text().strip() if mlflow_id.exists() else ""
        row.update({f"override:{k}": v for k, v in overrides.items()})
        row.update({k: (math.nan if v is None else v) for k, v in metrics.items()})
        rows.append(row)
    jobs = pd.DataFrame(rows)
    if jobs.empty:
        return jobs
    for column in [c for c in jobs.columns if c.startswith("override:")]:
        # Numbers sort as numbers (25 < 100), not as the override's text.
        numeric = pd.to_numeric(jobs[column], errors="coerce")
        if numeric.notna().sum() == jobs[column].notna().sum():
            jobs[column] = numeric
    varying = [c for c in jobs.columns if c.startswith("override:") and jobs[c].astype(str).nunique() > 1]
    jobs["label"] = [
        " ".join(f"{c.removeprefix('override:').split('.')[-1]}={row[c]}" for c in varying) or f"job {row['job']}"
        for _, row in jobs.iterrows()
    ]
    jobs.attrs["varying"] = varying
    return jobs


# ------------------------------------------------------------------------------------ tables


def _key_columns(jobs: pd.DataFrame, skip: tuple[str, ...] = ()) -> list[str]:
    """model, then the varying overrides other than model / those in `skip` (as short names)."""
    keys = ["model"]
    for column in jobs.attrs.get("varying", []):
        short = column.removeprefix("override:")
        if short == "model" or short.split(".")[-1] in skip:
            continue
        keys.append(column)
    return keys


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    renamed = {c: c.removeprefix("override:") for c in frame.columns}
    return frame.rename(columns=renamed).reset_index(drop=True)


def min_cluster_size_table(jobs: pd.DataFrame) -> pd.DataFrame:
    ok = jobs[jobs["status"] == "ok"].copy()
    ok["noise_share"] = ok.get("noise_fraction", np.nan)
    keys = _key_columns(ok, skip=("min_cluster_size",))
    columns = keys + [c for c in MCS_COLUMNS if c in ok.columns]
    return _tidy(ok[columns].sort_values(keys + ["min_cluster_size"], kind="stable"))


def model_comparison_table(jobs: pd.DataFrame) -> pd.DataFrame:
    ok = jobs[jobs["status"] == "ok"]
    keys = _key_columns(ok)
    columns = keys + [c for c in MODEL_COLUMNS if c in ok.columns]
    return _tidy(ok[columns].sort_values(keys, kind="stable"))


def confidence_table(jobs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    ok = jobs[jobs["status"] == "ok"].copy()
    share = f"share_probability_ge_{threshold:g}"
    ok[share] = ok.get("confident_fraction", np.nan)
    keys = _key_columns(ok)
    columns = keys + [c for c in (share, "mean_probability", "n_clusters") if c in ok.columns]
    return _tidy(ok[columns].sort_values(keys, kind="stable"))


def agreement_matrices(jobs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ARI and NMI between every two jobs' labels over the images both clustered (joined by path)."""
    labelled = {}
    for _, row in jobs[jobs["status"] == "ok"].iterrows():
        path = Path(row["run_dir"]) / "assignments.parquet"
        if path.exists():
            assignments = pd.read_parquet(path, columns=["path", "cluster"])
            labelled[row["label"]] = assignments.drop_duplicates("path").set_index("path")["cluster"]
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


# ------------------------------------------------------------------------------------ pictures


def _format(value) -> str:
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return ""
        return f"{value:.0f}" if abs(value) >= 1000 or (value.is_integer() and abs(value) > 1) else f"{value:.3f}"
    return str(value)


def table_png(frame: pd.DataFrame, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [[_format(v) for v in row] for row in frame.itertuples(index=False)]
    width = max(6.0, 1.4 * len(frame.columns))
    fig, ax = plt.subplots(figsize=(width, 0.8 + 0.32 * (len(frame) + 1)))
    ax.axis("off")
    ax.set_title(title, fontsize=11, loc="left")
    if cells:
        table = ax.table(cellText=cells, colLabels=list(frame.columns), loc="center", cellLoc="right")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1.0, 1.25)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def min_cluster_size_plot(table: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [c for c in ("n_clusters", "silhouette", "noise_share", "dbcv") if c in table.columns]
    fig, axes = plt.subplots(1, len(series), figsize=(3.4 * len(series), 3.0), squeeze=False)
    group_keys = [c for c in table.columns if c not in MCS_COLUMNS]
    groups = table.groupby(group_keys, dropna=False, sort=False) if group_keys else [("all", table)]
    for name, group in groups:
        group = group.sort_values("min_cluster_size")
        label = " ".join(map(str, name)) if isinstance(name, tuple) else str(name)
        for ax, column in zip(axes[0], series, strict=True):
            ax.plot(group["min_cluster_size"], group[column], marker="o", label=label)
    for ax, column in zip(axes[0], series, strict=True):
        ax.set_xlabel("min_cluster_size")
        ax.set_title(column)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def agreement_png(ari: pd.DataFrame, nmi: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(ari)
    size = max(4.0, 0.55 * n + 2.5)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size, size))
    for ax, matrix, name in zip(axes, (ari, nmi), ("ARI", "NMI"), strict=True):
        image = ax.imshow(matrix.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(n), matrix.columns, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(n), matrix.index, fontsize=7)
        for i in range(n):
            for j in range(n):
                value = matrix.iat[i, j]
                if np.isfinite(value):
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if value < 0.6 else "black")
        ax.set_title(f"{name} between clusterings (same images)")
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def write_summary(job_dirs: list[Path], out_dir: str | Path, confidence_threshold: float = 0.85) -> list[Path]:
    """Write every summary table (CSV + PNG) into `out_dir`; return the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = collect_jobs(job_dirs)
    if jobs.empty:
        return []
    written = [out_dir / "jobs.csv"]
    jobs[["label"] + [c for c in jobs.columns if c != "label"]].to_csv(written[0], index=False)
    if (jobs["status"] == "ok").any():
        tables = {
            "min_cluster_size": (min_cluster_size_table(jobs), "min_cluster_size sweep (Appendix 1 form)"),
            "model_comparison": (model_comparison_table(jobs), "Internal metrics per model (Table 1 form)"),
            "confidence": (confidence_table(jobs, confidence_threshold), "Confidence per model (Appendix 3 form)"),
        }
        for name, (table, title) in tables.items():
            table.to_csv(out_dir / f"{name}.csv", index=False)
            written += [out_dir / f"{name}.csv", table_png(table, out_dir / f"{name}.png", title)]
        if tables["min_cluster_size"][0]["min_cluster_size"].nunique() > 1:
            written.append(min_cluster_size_plot(tables["min_cluster_size"][0], out_dir / "min_cluster_size_plot.png"))
        ari, nmi = agreement_matrices(jobs)
        if len(ari) > 1:
            ari.to_csv(out_dir / "agreement_ari.csv", index_label="job")
            nmi.to_csv(out_dir / "agreement_nmi.csv", index_label="job")
            written += [out_dir / "agreement_ari.csv", out_dir / "agreement_nmi.csv", agreement_png(ari, nmi, out_dir / "agreement.png")]
    return written
