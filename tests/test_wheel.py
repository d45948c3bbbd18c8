"""The package is installable as a wheel, configs included (not only as an editable checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("visframe-*.whl")
    return built


def test_wheel_holds_every_config_and_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_yaml = {
        str(p.relative_to(REPO / "src")) for p in (REPO / "src" / "visframe" / "conf").rglob("*.yaml")
    }
    assert shipped_yaml, "no configs found in the source tree"
    assert shipped_yaml <= names, f"configs missing from the wheel: {sorted(shipped_yaml - names)[:5]}"
    assert "visframe/conf/config.yaml" in names
    for folder in ("visframe/review/templates/", "visframe/review/static/", "visframe/report/templates/"):
        assert any(n.startswith(folder) for n in names), folder


@pytest.mark.slow
def test_installed_wheel_runs_from_another_directory(wheel, tmp_path):
    """`pip install` the wheel (no source checkout on the path) and run a tiny job elsewhere."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}  # ahead of the editable checkout's .pth
    code = "import visframe, sys; assert visframe.__file__.startswith(sys.argv[1]), visframe.__file__"
    subprocess.run([sys.executable, "-c", code, str(target)], check=True, env=env, cwd=work)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "visframe.cli",
            "model=tiny_random",
            "dataset.preset=tiny",
            "report.enabled=false",
            "clusterer.min_cluster_size=5",
            "reducer.n_neighbors=10",
            "map_reducer.n_neighbors=10",
            "show_progress=false",
            "trainer.num_workers=0",
        ],
        env=env,
        cwd=work,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(work.glob("outputs/*/*/assignments.parquet"))
