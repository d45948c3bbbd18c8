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
