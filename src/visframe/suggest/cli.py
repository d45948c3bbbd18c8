"""`visframe-suggest RUN --codes codes.csv [--codebook codebook.csv]`: suggested codes for a run's
uncoded images, written to RUN/suggestions.parquet, and their cross-validated agreement with the coders."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from visframe import contracts as C
from visframe.errors import VisframeError
from visframe.run_dir import RunDir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="visframe-suggest", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help=f"a run directory (with {C.MESSAGE_VECTORS_FILE})")
    parser.add_argument(
        "--codes", type=Path, required=True, help="the review app's codes export (CSV or Parquet)"
    )
    parser.add_argument(
        "--codebook",
        type=Path,
        default=None,
        help=f"CSV with {C.CODE},{C.CODE_DESCRIPTION}: codes nobody has applied yet (zero-shot)",
    )
    parser.add_argument("--text-only", action="store_true", help="leave the image embeddings out")
    parser.add_argument("--seed", type=int, default=0, help="the cross-validation folds' seed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="visframe-suggest: %(message)s")
    try:
        from visframe.suggest import load_run_vectors, read_codebook, read_codes, suggest_codes

        run = RunDir(args.run)
        codebook = read_codebook(args.codebook) if args.codebook else None
        vectors = load_run_vectors(run, image_vectors=not args.text_only)
        result = suggest_codes(run, read_codes(args.codes), codebook, vectors=vectors, seed=args.seed)
        path = run.write_suggestions(result.table)
    except VisframeError as error:
        print(f"visframe-suggest: {error}", file=sys.stderr)
        return 2
    n_suggested = int(result.table[C.SUGGESTED].sum())
    print(
        f"{result.n_images:,} images, {result.n_coded:,} coded; {n_suggested:,} suggestions written to {path}"
    )
    print(f"vectors: {vectors.description}; agreement with the coders, never on a model's own examples:")
    for row in result.agreement:
        print("  " + row.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
