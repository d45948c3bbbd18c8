"""The visual genres of the corpus: the ground-truth `label`s, their shares and how each is painted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from visframe.data.synthetic import painters_scene as scene
from visframe.data.synthetic import painters_text as text
from visframe.data.synthetic import vocab
from visframe.data.synthetic.drawing import pick

Painter = Callable[[np.random.Generator, scene.PaintJob], Image.Image]


@dataclass(frozen=True)
class Genre:
    name: str
    share: float  # share of original posts (imbalanced on purpose, like the study's corpus)
    painter: Painter
    text_share: float  # probability that the image carries text (its `headline`)
    portrait_share: float  # probability of a 4:5 (Instagram portrait) canvas instead of 1:1
    png_share: float  # probability the file is a PNG (graphics are exported as PNG more often)
    description: str


GENRES: dict[str, Genre] = {
    g.name: g
    for g in (
        Genre("text_statement", 0.20, text.paint_text_statement, 1.0, 0.15, 0.15,
              "a short bold Spanish slogan on a plain background"),
        Genre("hashtag_graphic", 0.15, text.paint_hashtag_graphic, 1.0, 0.2, 0.15,
              "a hashtag (#8M, #25N, #NiUnaMenos …) in huge type, date lines, the ♀ sign"),
        Genre("purple_overlay", 0.14, text.paint_purple_overlay, 0.85, 0.25, 0.05,
              "a purple/coloured card with an inset picture and overlaid text"),
        Genre("photo_protest", 0.14, scene.paint_photo_protest, 0.5, 0.2, 0.0,
              "a photo-like march: crowd, buildings, banners, smoke, candles"),
        Genre("memo_notice", 0.10, text.paint_memo_notice, 1.0, 0.4, 0.1,
              "a long-text communiqué in small type on white/cream"),
        Genre("illustration", 0.10, scene.paint_illustration, 0.3, 0.2, 0.15,
              "a flat vector-like drawing: fists, women, flowers, ♀, hearts"),
        Genre("photo_portrait", 0.07, scene.paint_photo_portrait, 0.15, 0.3, 0.0,
              "a selfie-like portrait with a blurred background"),
        Genre("missing_person_poster", 0.06, text.paint_missing_person_poster, 1.0, 0.45, 0.05,
              "a search poster: header, photo box, name, age, date, phone"),
        Genre("landmark", 0.04, scene.paint_landmark, 0.3, 0.2, 0.0,
              "a monument against the sky, sometimes with painted fences"),
    )
}

GENRE_NAMES: tuple[str, ...] = tuple(GENRES)


def choose_headline(rng: np.random.Generator, genre: str, search_tag: str) -> str:
    """The text drawn in an image of `genre` ('' for none), correlated with the hashtag searched."""
    spec = GENRES[genre]
    if rng.random() >= spec.text_share:
        return ""
    if genre == "hashtag_graphic" or (genre == "purple_overlay" and rng.random() < 0.3):
        return pick(rng, vocab.GRAPHIC_HASHTAGS[search_tag])
    if genre == "memo_notice":
        return pick(rng, vocab.MEMO_TITLES)
    if genre == "missing_person_poster":
        return pick(rng, vocab.POSTER_HEADERS)
    statement = pick(rng, vocab.STATEMENTS)
    if genre == "text_statement" and rng.random() < 0.3:
        # Sentence case: "Nos queremos vivas, libres y sin miedo" (keeps ¡¿ and accents).
        lowered = statement.lower()
        first = next((i for i, ch in enumerate(lowered) if ch.isalpha()), 0)
        statement = lowered[:first] + lowered[first].upper() + lowered[first + 1:]
    if genre == "landmark":  # fences are painted with names
        statement = f"{pick(rng, vocab.FIRST_NAMES).upper()} · {statement}"
    return statement
