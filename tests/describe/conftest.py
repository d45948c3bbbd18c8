from __future__ import annotations

import pytest
from describe_helpers import make_run


@pytest.fixture(scope="session")
def run(tmp_path_factory) -> dict:
    return make_run(tmp_path_factory.mktemp("describe-run"))
