"""The visual genres of the corpus: the ground-truth `label`s, their shares and how each is painted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from visframe.data.synthetic import messages, vocab
from visframe.data.synthetic import painters_scene as scene
from visframe.data.synthetic import painters_text as text
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
        Genre(
            "text_statement",
            0.20,
            text.paint_text_statement,
            1.0,
            0.15,
            0.15,
            "a short bold Spanish slogan on a plain background",
        ),
        Genre(
            "hashtag_graphic",
            0.15,
            text.paint_hashtag_graphic,
            1.0,
            0.2,
            0.15,
            "a hashtag (#8M, #25N, #NiUnaMenos …) in huge type, date lines, the ♀ sign",
        ),
        Genre(
            "purple_overlay",
            0.14,
            text.paint_purple_overlay,
            0.85,
            0.25,
            0.05,
            "a purple/coloured card with an inset picture and overlaid text",
        ),
        Genre(
            "photo_protest",
            0.14,
            scene.paint_photo_protest,
            0.5,
            0.2,
            0.0,
            "a photo-like march: crowd, buildings, banners, smoke, candles",
        ),
        Genre(
            "memo_notice",
            0.10,
            text.paint_memo_notice,
            1.0,
            0.4,
            0.1,
            "a long-text communiqué in small type on white/cream",
        ),
        Genre(
            "illustration",
            0.10,
            scene.paint_illustration,
            0.3,
            0.2,
            0.15,
            "a flat vector-like drawing: fists, women, flowers, ♀, hearts",
        ),
        Genre(
            "photo_portrait",
            0.07,
            scene.paint_photo_portrait,
            0.15,
            0.3,
            0.0,
            "a selfie-like portrait with a blurred background",
        ),
        Genre(
            "missing_person_poster",
            0.06,
            text.paint_missing_person_poster,
            1.0,
            0.45,
            0.05,
            "a search poster: header, photo box, name, age, date, phone",
        ),
        Genre(
            "landmark",
            0.04,
            scene.paint_landmark,
            0.3,
            0.2,
            0.0,
            "a monument against the sky, sometimes with painted fences",
        ),
    )
}

GENRE_NAMES: tuple[str, ...] = tuple(GENRES)


@dataclass(frozen=True)
class ImageText:
    """The text an image carries, as the plan decides it (the painter lays it out)."""

    headline: str = ""  # the big text: a slogan, a hashtag, a communiqué's title, a search poster's header
    body: tuple[str, ...] = ()  # drawn beside it: the message line under a hashtag or header, a memo's body
    phrasing: str = ""  # the phrasing of the image's message (messages.PHRASINGS) the text shows

    @property
    def quoted(self) -> str:
        return quote(self.headline, self.body)


def quote(headline: str, body: tuple[str, ...]) -> str:
    """What an image says, as the platform's alt text quotes it: the headline and the line after it."""
    return " ".join(part for part in (headline, *body[:1]) if part)


NO_TEXT = ImageText()
# The longest phrasing (characters) each genre's space holds legibly at 256 px; communiqués take long ones.
_ROOM = {
    "text_statement": messages.STATEMENT_MAX,
    "purple_overlay": messages.CARD_MAX,
    "illustration": messages.CARD_MAX,
}


def choose_text(
    rng: np.random.Generator, message_rng: np.random.Generator, genre: str, search_tag: str, message: str
) -> ImageText:
    """The text drawn in an image of `genre` (NO_TEXT for none), saying `message` in one of its phrasings.

    Whether the image carries text, and the genre's own words (hashtag correlated with the hashtag
    searched, a communiqué's title, a search poster's header, the name on a fence), come from the
    post's stream `rng` exactly where earlier versions drew them, so every later choice of the post
    (caption, date, carousel, canvas) is unchanged; where the headline itself says the message, its
    phrasing is drawn in the place of the old slogan. A message said beside a genre's own header, and
    a communiqué's body, come from the post's message stream `message_rng`.
    """
    spec = GENRES[genre]
    if rng.random() >= spec.text_share:
        return NO_TEXT
    if genre == "hashtag_graphic" or (genre == "purple_overlay" and rng.random() < 0.3):
        tag = pick(rng, vocab.GRAPHIC_HASHTAGS[search_tag])
        room = _ROOM.get(genre, messages.SHORT_MAX)
        phrasing = pick(message_rng, messages.phrasings(message, max_chars=room))
        return ImageText(tag, (messages.shout(phrasing),), phrasing)
    if genre == "memo_notice":
        return _memo_text(message_rng, pick(rng, vocab.MEMO_TITLES), message)
    if genre == "missing_person_poster":
        header = pick(rng, vocab.POSTER_HEADERS)
        phrasing = pick(message_rng, messages.phrasings(message, max_chars=messages.SHORT_MAX))
        return ImageText(header, (messages.shout(phrasing),), phrasing)
    phrasing = pick(rng, messages.phrasings(message, max_chars=_ROOM.get(genre, messages.SHORT_MAX)))
    headline = messages.shout(phrasing)
    if genre == "text_statement" and rng.random() < 0.3:
        headline = phrasing  # as typed: "Él llegó a casa. Ella no." (keeps ¡¿ and accents)
    if genre == "landmark":  # fences are painted with names
        headline = f"{pick(rng, vocab.FIRST_NAMES).upper()} · {headline}"
    return ImageText(headline, (), phrasing)


def _memo_text(rng: np.random.Generator, title: str, message: str) -> ImageText:
    """A communiqué: its title, then the message in full sentences (the drawn phrasing first, two to four
    more saying the same), then closing formulas that say no message; the painter stops at the page's
    foot, so like earlier versions' communiqués it fills the page."""
    pool = messages.phrasings(message, min_chars=messages.MEMO_MIN)
    order = rng.permutation(len(pool))[: int(rng.integers(3, 6))]
    closing = rng.choice(len(messages.MEMO_BOILERPLATE), size=int(rng.integers(3, 7)), replace=False)
    body = (*(pool[int(i)] for i in order), *(messages.MEMO_BOILERPLATE[int(i)] for i in closing))
    return ImageText(title, body, pool[int(order[0])])
