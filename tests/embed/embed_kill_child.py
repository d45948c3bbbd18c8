"""Run by test_embed_kill_resume.py as a separate process, then killed with SIGKILL mid-run.

Embeds the images listed in a JSON file with tiny_random, slowed down per batch so the parent can
kill it after a few shards are on disk (the slowdown wraps the method: the encoder, and so its
cache key, is the unmodified TinyRandomEncoder).
"""

import json
import sys
import time
from pathlib import Path

from visframe.embed import embed_images
from visframe.embed.encoders.tiny import TinyRandomEncoder

SETTINGS = {
    "precision": "32",
    "num_workers": 0,
    "batch_size": 2,
    "shard_rows": 4,
    "enable_progress_bar": False,
}

if __name__ == "__main__":
    listing, cache_dir = sys.argv[1], sys.argv[2]
    original = TinyRandomEncoder.encode_images

    def slow_encode(self, pixels):
        time.sleep(0.2)
        return original(self, pixels)

    TinyRandomEncoder.encode_images = slow_encode
    ids, paths = json.loads(Path(listing).read_text())
    embed_images(
        ids, paths, TinyRandomEncoder(dim=64, image_size=48), SETTINGS, cache_dir, show_progress=False
    )
    print("finished without being killed")
