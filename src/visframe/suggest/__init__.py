"""Suggested codes: few-shot from the coders' own decisions, zero-shot from a code's description before,
with their agreement with the coders measured by cross-validation (issue 24).

    from visframe.suggest import load_run_vectors, suggest_codes
    result = suggest_codes(run_dir, codes_export, codebook, vectors=load_run_vectors(run_dir))

`visframe-suggest RUN --codes codes.csv` (cli.py) writes `result.table` to the run directory
(contracts.SUGGESTIONS) and prints `result.agreement`.
"""

from visframe.suggest.coded import CodedSet, coded_set, read_codebook, read_codes
from visframe.suggest.engine import Suggestions, description_encoder, suggest_codes
from visframe.suggest.models import Agreement
from visframe.suggest.vectors import RunVectors, load_run_vectors

__all__ = [
    "Agreement",
    "CodedSet",
    "RunVectors",
    "Suggestions",
    "coded_set",
    "description_encoder",
    "load_run_vectors",
    "read_codebook",
    "read_codes",
    "suggest_codes",
]
