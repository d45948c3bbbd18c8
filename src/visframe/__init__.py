"""visframe: find the visual messages in a collection of topical social-media images."""

from pathlib import Path

__version__ = "0.1.0"

# The Hydra configs ship inside the package (a wheel holds them): every entry point composes from here;
# `--config-dir` adds a directory of your own on top.
CONFIG_DIR = str(Path(__file__).resolve().parent / "conf")
