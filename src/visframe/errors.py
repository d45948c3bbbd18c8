"""One error path: every problem a user can fix is a `VisframeError` (what is wrong + the fix).

The command-line entry points catch `VisframeError` once and print its message in one or two lines
(exit code 2, no traceback); `--debug` or `HYDRA_FULL_ERROR=1` shows the traceback too. Any other
exception is a bug in visframe and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_USER_ERROR = 2


class VisframeError(Exception):
    """A problem with the user's input, config or environment; `fix` says what to do about it."""

    def __init__(self, message: str, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(message if not fix else f"{message}\n  Fix: {fix}")


class ConfigError(VisframeError, ValueError):
    """A config value that cannot work (checked before any expensive stage)."""


class InputError(VisframeError, ValueError):
    """An input folder or file that cannot be used."""


class StageError(VisframeError, RuntimeError):
    """A stage that cannot go on with what it was given."""


class TrackingError(VisframeError, RuntimeError):
    """The MLflow store could not be reached or written."""


def debug_requested() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1" or os.environ.get("VISFRAME_DEBUG") == "1"


def user_error_of(error: BaseException) -> VisframeError | None:
    """The VisframeError behind `error` (Hydra wraps errors raised while instantiating a config)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, VisframeError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


@contextmanager
def exit_on_user_error(logger: logging.Logger | None = None) -> Iterator[None]:
    """Turn a `VisframeError` (also one wrapped by Hydra) into its message and exit code 2."""
    try:
        yield
    except Exception as error:
        user_error = user_error_of(error)
        if user_error is None or debug_requested():
            raise
        text = str(user_error)
        if logger is not None:
            logger.error("%s", text)
        else:
            print(f"visframe: error: {text}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
