"""`visframe-export RUN --to embedding-atlas|fiftyone [--out PATH]`: carry a run into another tool."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from visframe import contracts as C
from visframe.errors import VisframeError
from visframe.export.embedding_atlas import export_embedding_atlas, labels_path, state_path
from visframe.export.fiftyone_export import LOADER_FILE, SAMPLES_FILE, export_fiftyone


def next_step(tool: str, out: Path) -> str:
    """The command that opens the export in `tool` (each checked against the tool itself: see the modules)."""
    if tool == "embedding-atlas":
        return (f"embedding-atlas {shlex.quote(str(out))} --x x --y y --text text --image image "
                f"--state {shlex.quote(str(state_path(out)))} --labels {shlex.quote(str(labels_path(out)))}")
    return (f"python {shlex.quote(str(out / LOADER_FILE))} --app   (FiftyOne's Python; or, fields only: "
            f"fiftyone.Dataset.from_json('{out / SAMPLES_FILE}', persistent=True))")


TOOLS = ("embedding-atlas", "fiftyone")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="visframe-export", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help=f"a run directory (with {C.ASSIGNMENTS_FILE})")
    parser.add_argument("--to", required=True, choices=TOOLS, help="the tool to export for")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: RUN/export/...)")
    parser.add_argument("--max-image-px", type=int, default=256, help="embedding-atlas: image size (px)")
    args = parser.parse_args(argv)
    try:
        if args.to == "embedding-atlas":
            out = export_embedding_atlas(args.run, args.out, max_px=args.max_image_px)
        else:
            out = export_fiftyone(args.run, args.out)
    except VisframeError as error:
        print(f"visframe-export: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}\nopen it with: {next_step(args.to, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
