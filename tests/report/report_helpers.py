"""Helpers shared by the report tests (imported by name: a unique module name, unlike `conftest`).

The fake encoders live with the describe tests (describe is the stage that uses an encoder); the
report tests use them only to give describe something to write."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "describe"))

from describe_helpers import PROMPTS, FakeTextEncoder, ImageOnlyEncoder, fake_vectors

__all__ = ["PROMPTS", "SCRIPT_CAPTION", "SCRIPT_TAG", "FakeTextEncoder", "ImageOnlyEncoder", "fake_vectors"]

SCRIPT_CAPTION = "<script>alert('x')</script> ni una menos"
SCRIPT_TAG = "<img/src=x/onerror=alert(1)>"  # a hashtag has no spaces: ingest splits on them


def describe_into(
    run_dir, settings, manifest, assignments, texts=None, encoder=None, vectors=None, vector_ids=None
):
    """The describe stage on a run, its tables written into `run_dir` as the pipeline writes them."""
    from visframe.describe import stage as describe_stage
    from visframe.run_dir import RunDir
    from visframe.stages import StageContext

    inputs = describe_stage.DescribeInputs(manifest, assignments, texts, encoder, vectors, vector_ids)
    described = describe_stage.run(inputs, settings, StageContext())
    if described.described:
        RunDir(run_dir).write_descriptions(described)
    return described
