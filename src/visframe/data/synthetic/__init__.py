"""The deterministic synthetic social-media corpus (DESIGN.md, "The synthetic social-media corpus").

Posts that look like the genres the anti-feminicide protest study found on Instagram (slogans on
plain backgrounds, communiqués, purple cards with a picture, hashtag graphics, illustrations,
protest photos, portraits, search posters, landmarks), each image with a ground-truth `label`, with
scraper-like metadata, carousels, reshares by other accounts, near-duplicates and broken downloads.
Every image that carries text says one of the study's seven messages (`message`, messages.py),
drawn independently of its genre; the text drawn is its `rendered_text`.

    from visframe.data.synthetic import generate_corpus
    metadata_path = generate_corpus("/tmp/corpus", preset="small", seed=0)

or `python -m visframe.data.synthetic OUT_DIR --preset small --seed 0`.
"""

from visframe.data.synthetic.generator import GENERATOR_VERSION, generate_corpus
from visframe.data.synthetic.genres import GENRE_NAMES, GENRES
from visframe.data.synthetic.messages import MESSAGE_KEYS
from visframe.data.synthetic.plan import PRESETS

__all__ = ["GENERATOR_VERSION", "GENRES", "GENRE_NAMES", "MESSAGE_KEYS", "PRESETS", "generate_corpus"]
