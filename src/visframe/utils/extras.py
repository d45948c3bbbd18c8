"""Optional extras (pyproject's `[project.optional-dependencies]`): import one, or stop with the pip line.

A config option that needs an extra (`reducer=umap_gpu` and `clusterer=hdbscan_gpu` need `gpu`,
`clusterer=evoc` needs `experimental`) still composes anywhere; building or fitting its estimator
imports the package through `import_extra`, so a machine without it gets one error that names the
option, the extra and the pip line, instead of Hydra's "Error locating target" or a bare ImportError.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from visframe.errors import ConfigError


class MissingExtraError(ConfigError, ImportError):
    """A config option needs an optional package that cannot be imported here; `fix` is the pip line.
    Also an ImportError, so code that guards an optional import still catches it."""


def import_extra(
    module: str, *, extra: str, option: str, instead: str, needs: str | None = None
) -> ModuleType:
    """`importlib.import_module(module)`, or a MissingExtraError saying how to install `extra`.

    `option` is what the user chose (e.g. "clusterer=hdbscan_gpu"), `needs` what it needs in words
    (default: the top-level package), `instead` the choice that works without the extra. The
    import's own error is kept in the message: an installed cuML that cannot find a GPU driver fails
    here too, and "not installed" would then be the wrong advice.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f"{option} needs {needs or module.split('.')[0]} (visframe's `{extra}` extra), which cannot be "
            f"imported here: {error}",
            fix=f"pip install 'visframe[{extra}]' (from a checkout: pip install -e '.[{extra}]'), "
            f"or {instead}",
        ) from error
