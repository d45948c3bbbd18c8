"""Check a job's config before any work: a bad value fails in a second, not after the embedding.

Every check raises `ConfigError` / `InputError` (visframe.errors) with the value, what is wrong and
the override that fixes it. The checks are cheap (no image is decoded, no model is built): the input
folder exists and holds a file, the metadata file is readable, integer parameters are integers in
range, `cluster_unit` is known, and the run directory is writable (a read-only or full disk is found
here by writing a probe file). The MLflow store is checked by opening the job's run (tracking.job).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from visframe.errors import ConfigError, InputError
from visframe.session import Memo, Session

CLUSTER_UNITS = ("post", "unique_image")
# (config section, key) → smallest allowed value; `None` values mean "library default" and pass.
INTEGER_BOUNDS: dict[str, dict[str, int]] = {
    "clusterer": {"min_cluster_size": 2, "min_samples": 1, "max_cluster_size": 0},
    "reducer": {"n_components": 1, "n_neighbors": 2, "n_epochs": 1},
    "map_reducer": {"n_components": 2, "n_neighbors": 2, "n_epochs": 1},
}


def check_integer(section: str, key: str, value: Any, minimum: int) -> None:
    if value is None or value == "auto":  # the library's default, or a clusterer that picks it itself
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{section}.{key} must be a whole number, not {value!r}",
            fix=f"e.g. {section}.{key}={max(minimum, 10)}",
        )
    if value < minimum:
        raise ConfigError(
            f"{section}.{key}={value} is out of range: it must be at least {minimum}",
            fix=f"e.g. {section}.{key}={max(minimum, 10)}",
        )


def check_parameters(cfg: DictConfig | Mapping) -> None:
    for section, bounds in INTEGER_BOUNDS.items():
        section_cfg = cfg.get(section)
        if not section_cfg:
            continue
        for key, minimum in bounds.items():
            if key in section_cfg:
                check_integer(section, key, section_cfg.get(key), minimum)
    for section in ("reducer", "map_reducer"):
        check_reducer_options(section, cfg.get(section))
    unit = cfg.get("cluster_unit", "post")
    if unit not in CLUSTER_UNITS:
        raise ConfigError(
            f"cluster_unit must be one of {', '.join(CLUSTER_UNITS)}, not {unit!r}",
            fix="cluster_unit=post (one point per post) or cluster_unit=unique_image",
        )


def check_reducer_options(section: str, reducer_cfg: DictConfig | Mapping | None) -> None:
    """visframe's own reducer blocks (`knn`, `epoch_budget`): checked here, not after the embedding."""
    if not reducer_cfg:
        return
    knn = reducer_cfg.get("knn") or {}
    threads = knn.get("n_jobs")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads == 0 or threads < -1
    ):
        raise ConfigError(
            f"{section}.knn.n_jobs must be -1 (every core) or a whole number of at least 1, not {threads!r}",
            fix=f"{section}.knn.n_jobs=2 (the default), 1 or -1 (every core)",
        )
    if knn.get("pca_components") is not None:
        check_integer(f"{section}.knn", "pca_components", knn.get("pca_components"), 2)
    budget = reducer_cfg.get("epoch_budget")
    if budget and budget.get("point_epochs") is not None:
        for key in ("point_epochs", "min_epochs"):
            if budget.get(key) is not None:
                check_integer(f"{section}.epoch_budget", key, budget.get(key), 1)


def check_input_folder(dataset_cfg: DictConfig | Mapping) -> None:
    """A folder dataset's root must be a readable directory holding at least one file."""
    if dataset_cfg.get("generator"):
        return  # generated into the cache on first use
    raw = None if OmegaConf.is_missing(dataset_cfg, "root") else dataset_cfg.get("root")
    if raw in (None, ""):
        raise InputError("no input folder given", fix="dataset.root=/path/to/your/images")
    root = Path(str(raw)).expanduser()
    if not root.exists():
        raise InputError(
            f"the input folder {root} does not exist", fix="check dataset.root=… (an absolute path is safest)"
        )
    if not root.is_dir():
        raise InputError(f"dataset.root {root} is a file, not a folder", fix=f"dataset.root={root.parent}")
    if not os.access(root, os.R_OK | os.X_OK):
        raise InputError(
            f"the input folder {root} is not readable", fix=f"give yourself read access: chmod -R u+rX {root}"
        )
    if not _has_any_file(root):
        raise InputError(
            f"the input folder {root} holds no files", fix="point dataset.root at the folder with your images"
        )


def _has_any_file(root: Path) -> bool:
    for _, _, files in os.walk(root, followlinks=True):
        if files:
            return True
    return False


def check_metadata_file(dataset_cfg: DictConfig | Mapping, memo: Memo | None = None) -> None:
    raw = dataset_cfg.get("metadata")
    if not raw or dataset_cfg.get("generator"):
        return
    path = Path(str(raw)).expanduser()
    if not path.exists():
        raise InputError(
            f"the metadata file {path} does not exist", fix="check dataset.metadata=… or drop it"
        )
    if path.is_file() and not os.access(path, os.R_OK):
        raise InputError(f"the metadata file {path} is not readable", fix=f"chmod u+r {path}")
    if path.is_file():
        # Parsing a table is cheap next to ingest: a missing file column fails now, with its fix.
        from visframe.data.metadata import read_metadata

        read_metadata(path, str(dataset_cfg.get("metadata_format", "auto")), memo=memo)


def check_writable(run_dir: Path) -> None:
    """Create the run directory and write a probe file there (finds read-only and full disks)."""
    probe = run_dir / ".visframe-write-probe"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise InputError(
            f"cannot write the outputs to {run_dir}: {describe_os_error(error)}",
            fix="free some space or choose another place: hydra.run.dir=/path/with/space",
        ) from error
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def describe_os_error(error: OSError) -> str:
    names = {
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EDQUOT: "the disk quota is used up",
    }
    return names.get(error.errno, error.strerror or str(error))


def check_dataset_switches(dataset_cfg: DictConfig | Mapping) -> None:
    """On/off dataset settings must be true or false: `bool("no")` would quietly turn one on."""
    value = dataset_cfg.get("follow_symlinks_outside", False)
    if not isinstance(value, bool):
        raise ConfigError(
            f"dataset.follow_symlinks_outside must be true or false, not {value!r}",
            fix="dataset.follow_symlinks_outside=false (the default: links leading outside dataset.root are "
            "recorded, not read) or =true",
        )


def validate_job_config(cfg: DictConfig, run_dir: Path, session: Session | None = None) -> None:
    """All cheap checks, in the order a user would fix them."""
    check_parameters(cfg)
    check_dataset_switches(cfg.dataset)
    check_input_folder(cfg.dataset)
    check_metadata_file(cfg.dataset, session.metadata_tables if session is not None else None)
    check_writable(run_dir)
