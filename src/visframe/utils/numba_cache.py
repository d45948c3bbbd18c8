"""numba's on-disk cache for the umap-learn and pynndescent code a fit compiles.

umap-learn and pynndescent compile their numba functions in every new process; most of them are
not marked `cache=True`, so `NUMBA_CACHE_DIR` alone saves little: measured here, a fresh process
fitting UMAP on 5,000 points paid 27 s of compilation although the cache directory was warm.
`cache_library_code()` (the `visframe` and `visframe-tune` commands call it at start) turns numba's
cache on for those functions as the libraries are imported, without importing them itself, so a
job that needs no UMAP pays nothing.

Functions that take another jitted function as an argument (pynndescent's `nn_descent`, which is
handed its distance) stay uncached: numba types such an argument by the function object's identity,
so a second process never matches the cached entry and would append a new one on every run
(numba#9237, pynndescent#226). `PlainArgsCache` is numba's own cache minus those signatures.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
import warnings
from types import ModuleType

log = logging.getLogger(__name__)

# The packages whose jitted functions are worth caching: the kNN graph and UMAP's fit.
PACKAGES = ("umap", "pynndescent")


def _takes_a_function(sig) -> bool:
    from numba.core import sigutils, types

    args, _ = sigutils.normalize_signature(sig)
    return any(isinstance(arg, (types.Dispatcher, types.FunctionType)) for arg in args)


def _plain_args_cache_class():
    from numba.core.caching import FunctionCache

    class PlainArgsCache(FunctionCache):
        """numba's FunctionCache for every signature that takes no function argument."""

        def load_overload(self, sig, target_context):
            return None if _takes_a_function(sig) else super().load_overload(sig, target_context)

        def save_overload(self, sig, data):
            if _takes_a_function(sig):
                return
            with warnings.catch_warnings():
                # A function using dynamic globals is not cacheable: numba says so once per compile
                # and compiles it as before; the user can do nothing about a library's internals.
                warnings.filterwarnings("ignore", message="Cannot cache compiled function")
                super().save_overload(sig, data)

    return PlainArgsCache


def enable_caching(package: str) -> int:
    """Turn numba's cache on for the uncached jitted functions of `package` and its imported
    submodules; returns how many."""
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    cache_class = _plain_args_cache_class()
    enabled = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(package + ".")):
            continue
        for value in list(vars(module).values()):
            if not isinstance(value, Dispatcher) or not isinstance(value._cache, NullCache):
                continue
            if getattr(value.py_func, "__module__", None) != name:
                continue  # imported from elsewhere: its own module handles it
            try:
                value._cache = cache_class(value.py_func)
            except RuntimeError as error:  # numba: "cannot cache function …: no locator available"
                log.debug("numba cache not enabled for %s.%s: %s", name, value.py_func.__name__, error)
                continue
            enabled += 1
    return enabled


class _Loader(importlib.abc.Loader):
    """The package's own loader; after it has run the package, `enable_caching` runs."""

    def __init__(self, loader, package: str):
        self._loader = loader
        self._package = package

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        try:
            count = enable_caching(self._package)
            log.debug("numba cache enabled for %d functions of %s", count, self._package)
        except Exception as error:  # noqa: BLE001 - caching is an optimisation; never break the import
            log.debug("numba cache not enabled for %s: %s", self._package, error)

    def __getattr__(self, name: str):  # get_source, get_filename, is_package, resource readers …
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds PACKAGES through the other finders and wraps their loader (a post-import hook)."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in PACKAGES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader, fullname)
        return spec


def cache_library_code() -> None:
    """Cache the compiled code of PACKAGES in NUMBA_CACHE_DIR: now for those already imported, at
    their import for the others. Idempotent."""
    for package in PACKAGES:
        if package in sys.modules:
            enable_caching(package)
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
