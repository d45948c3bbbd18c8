"""Every stage has the one shape of visframe.stages: `<stage>/stage.py` with
`run(inputs, settings, context) -> frozen result`, and no stage writes a run-directory file itself."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import typing
from pathlib import Path

import pytest

from visframe import contracts as C
from visframe.stages import STAGES, StageContext

SRC = Path(__file__).resolve().parents[1] / "src" / "visframe"
# Modules allowed to join a contract file name onto a directory: the run-directory module, and the
# places that name a file in a message or a listing rather than open it.
RUN_FILE_NAMES = {
    name for name in dir(C) if name.endswith(("_FILE", "_DIR")) and isinstance(getattr(C, name), str)
}


@pytest.mark.parametrize("package", STAGES)
def test_every_stage_has_run_inputs_settings_context_returning_a_frozen_result(package):
    module = importlib.import_module(f"{package}.stage")
    run = getattr(module, "run", None)
    assert callable(run), f"{package}.stage has no run()"
    parameters = list(inspect.signature(run).parameters)
    assert parameters[:3] == ["inputs", "settings", "context"], f"{package}.stage.run{inspect.signature(run)}"
    hints = typing.get_type_hints(run)
    assert hints["context"] is StageContext
    for role in ("inputs", "return"):
        kind = hints[role]
        assert dataclasses.is_dataclass(kind), f"{package}.stage.run: {role} is {kind}, not a dataclass"
        assert kind.__dataclass_params__.frozen, f"{package}.stage.run: {role} {kind.__name__} is not frozen"


def test_the_context_and_its_session_are_passed_in_not_module_state():
    context = StageContext()
    assert dataclasses.is_dataclass(context) and context.session is not StageContext().session


def _joins_a_run_file(tree: ast.AST) -> list[int]:
    """Lines with `<something> / C.<X>_FILE` (or `/ <X>_FILE` imported by name)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            right = node.right
            name = (
                right.attr
                if isinstance(right, ast.Attribute)
                else right.id
                if isinstance(right, ast.Name)
                else None
            )
            if name in RUN_FILE_NAMES:
                found.append(node.lineno)
    return found


def test_run_directory_files_are_joined_onto_a_folder_only_by_run_dir():
    """RunDir is the one reader and writer of a run directory: nobody else builds `run_dir / C.X_FILE`."""
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "run_dir.py":
            continue
        lines = _joins_a_run_file(ast.parse(path.read_text()))
        if lines:
            offenders[str(path.relative_to(SRC))] = lines
    assert not offenders, f"open run files through visframe.run_dir.RunDir: {offenders}"
