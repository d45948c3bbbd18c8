"""The architecture's two rules, checked on the source: data flows one way between the stage
packages, and no module outside visframe.contracts spells a run file or a table column as a literal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from visframe import contracts as C

SRC = Path(__file__).resolve().parents[1] / "src" / "visframe"
# The stages in the order data flows; a stage may import any earlier one, never a later one.
STAGES = [
    "data",
    "embed",
    "text",
    "reduce",
    "cluster",
    "messages",
    "evaluate",
    "describe",
    "report",
    "tracking",
    "review",
    "export",
]
# Names of files and columns that only make sense as part of a contract (common words such as
# "path" or "name" are left out: they are also ordinary dictionary keys and parameter names).
CONTRACT_LITERALS = {
    C.MANIFEST_FILE,
    C.ASSIGNMENTS_FILE,
    C.TEXTS_FILE,
    C.CLUSTERS_FILE,
    C.CLUSTER_TREE_FILE,
    C.CLUSTER_TIMELINE_FILE,
    C.METRICS_FILE,
    C.CLEANING_REPORT_FILE,
    C.MLFLOW_RUN_ID_FILE,
    C.REVIEW_DB_FILE,
    C.IMAGE_ID,
    C.PROBABILITY,
    C.OUTLIER_SCORE,
    C.CLUSTER,
    C.RESHARE_GROUP,
    C.HASHTAG_KEYS,
    C.POSTED_AT,
    C.NEAREST_CLUSTER,
    C.NEAREST_CLUSTER_STRENGTH,
    C.MEDOID_IMAGE_ID,
    C.TEXT_AREA_SHARE,
    C.CAROUSEL_INDEX,
    C.ALT_TEXT,
    C.HUMAN_CLUSTER,
    C.HUMAN_NAME,
    C.TOP_TERMS,
    C.TOP_HASHTAGS,
    C.TOP_ACCOUNTS,
}


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "visframe" and parts[1] in STAGES else None


def _imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_no_stage_imports_a_later_stage():
    broken = []
    for path in _modules():
        own = path.relative_to(SRC).parts[0]
        if own not in STAGES:
            continue
        for module in _imports(ast.parse(path.read_text())):
            other = _stage_of(module)
            if other and STAGES.index(other) > STAGES.index(own):
                broken.append(f"{path.relative_to(SRC)} imports {module}")
    assert not broken, "\n".join(broken)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def contract_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = _docstring_nodes(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in CONTRACT_LITERALS and id(node) not in docstrings:
            hits.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value!r}")
    return hits


@pytest.mark.parametrize(
    "path", [p for p in _modules() if p.name != "contracts.py"], ids=lambda p: str(p.relative_to(SRC))
)
def test_no_contract_name_spelled_as_a_literal(path):
    hits = contract_literals(path)
    assert not hits, "use visframe.contracts instead of:\n" + "\n".join(hits)
