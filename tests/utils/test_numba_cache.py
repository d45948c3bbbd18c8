"""numba's cache for library code: plain functions are loaded from disk by the next process;
functions handed another jitted function are never cached (their entries would never match and
the cache would grow on every run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

LIBRARY = """
import numba

@numba.njit
def double(x):
    return 2.0 * x

@numba.njit
def apply(f, x):
    return f(x)
"""

RUN = """
import json, sys
sys.path.insert(0, {folder!r})
import fakelib.kernels as k
from visframe.utils.numba_cache import enable_caching
enabled = enable_caching("fakelib")
k.double(1.0), k.apply(k.double, 2.0)
print(json.dumps({{"enabled": enabled, "double_hits": sum(k.double.stats.cache_hits.values()),
                   "apply_hits": sum(k.apply.stats.cache_hits.values())}}))
"""


def _run(folder: Path, cache: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", RUN.format(folder=str(folder))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_plain_functions_are_cached_and_function_taking_ones_are_not(tmp_path):
    package = tmp_path / "lib" / "fakelib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "kernels.py").write_text(textwrap.dedent(LIBRARY))
    cache = tmp_path / "numba"
    first = _run(tmp_path / "lib", cache)
    assert first == {"enabled": 2, "double_hits": 0, "apply_hits": 0}
    second = _run(tmp_path / "lib", cache)
    assert second["double_hits"] == 1, "the second process loads the plain function from the cache"
    assert second["apply_hits"] == 0
    names = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert any(name.startswith("kernels.double") for name in names)
    assert not any(name.startswith("kernels.apply") for name in names), names


def test_the_commands_turn_it_on_for_umap_and_pynndescent_as_they_are_imported(tmp_path):
    code = (
        "import sys\n"
        "from visframe.cli import _use_persistent_numba_cache\n"
        f"_use_persistent_numba_cache({str(tmp_path)!r})\n"
        "assert 'umap' not in sys.modules and 'numba' not in sys.modules\n"
        "import umap.umap_, pynndescent.pynndescent_\n"
        "print(type(umap.umap_.smooth_knn_dist._cache).__name__, "
        "type(pynndescent.pynndescent_.nn_descent._cache).__name__,"
        " umap.__spec__.loader.get_filename('umap').endswith('__init__.py'))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["PlainArgsCache", "PlainArgsCache", "True"]
