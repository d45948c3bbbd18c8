"""`python -m visframe.data.synthetic OUT_DIR --preset small --seed 0`: generate a corpus from the shell."""

from __future__ import annotations

import argparse
import logging

from visframe.data.synthetic.generator import generate_corpus
from visframe.data.synthetic.plan import PRESETS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m visframe.data.synthetic", description=__doc__)
    parser.add_argument("out_dir", help="folder to write images/, metadata.jsonl, truth.jsonl, corpus.json")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="small",
        help=", ".join(f"{k}: {v} posts" for k, v in PRESETS.items()),
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-posts", type=int, default=None, help="override the preset's number of posts")
    parser.add_argument(
        "--image-size", type=int, default=256, help="image width in pixels (4:5 ones are taller)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="processes (default: up to 2 for large corpora)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    path = generate_corpus(
        args.out_dir,
        preset=args.preset,
        seed=args.seed,
        n_posts=args.n_posts,
        image_size=args.image_size,
        show_progress=not args.quiet,
        workers=args.workers,
    )
    print(path)


if __name__ == "__main__":
    main()
