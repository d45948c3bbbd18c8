"""SIGTERM and SIGHUP end a job the way Ctrl-C does: as an exception, so its MLflow run is closed.

Python's default for SIGTERM (what `kill <pid>`, `timeout`, Slurm and Docker send) and SIGHUP (a
closed terminal or SSH session) is to die on the spot: no `finally`, no `except`, and the job's MLflow
run stays RUNNING with no end time, forever. Inside `signals_end_the_job()` either signal raises
`Terminated` in the main thread instead. It is a BaseException, like KeyboardInterrupt, so no
`except Exception` on the way swallows it (Hydra's job runner, Optuna's `catch=`); the pipeline's
`except BaseException` ends the run (visframe.tracking.job.JobTracker.fail: KILLED, the outputs so
far logged), and the entry point exits with 128 + the signal number, the shell's convention (143 for
SIGTERM). A second signal while the job is ending is logged and ignored: the first one's cleanup is
running, and a scheduler that will not wait sends SIGKILL anyway.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("visframe")

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """The process received SIGTERM or SIGHUP while a job ran."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(f"stopped by {self.signal_name}")

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def ended_by_user(error: BaseException | None) -> bool:
    """Was the job stopped from outside (a signal, Ctrl-C) rather than failing on its own?"""
    return isinstance(error, (Terminated, KeyboardInterrupt))


@contextmanager
def signals_end_the_job() -> Iterator[None]:
    """Within this block SIGTERM and SIGHUP raise `Terminated` (main thread only: Python delivers
    signals there; elsewhere the block changes nothing). The previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum, frame):  # the signal module's signature
        if received:
            log.warning("%s received while the job is ending; ignored", signal.Signals(signum).name)
            return
        received.append(signum)
        raise Terminated(signum)

    previous = {number: signal.signal(number, handler) for number in SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


@contextmanager
def exit_on_signal(logger: logging.Logger | None = None) -> Iterator[None]:
    """`signals_end_the_job()`, and a `Terminated` that reaches here exits the process quietly with
    128 + the signal number (the job's run was already ended on the way out)."""
    try:
        with signals_end_the_job():
            yield
    except Terminated as stopped:
        (logger or log).error("%s: the job stopped; its outputs so far are kept", stopped)
        sys.exit(stopped.exit_code)
