"""The corpus plan: every post and image decided up front (cheap, no pixels), then painted in any order.

The plan fixes who posted what, when, under which hashtag, with which caption; which posts are
carousels, reshares (byte-identical copies) or near-duplicates; which downloads broke. Each post's
choices come from its own random stream seeded by (seed, post index), and each image is later painted
from a stream seeded by (seed, image index), so rendering is parallel-safe and order-free.

Messages (messages.py): every image that carries text says one of the study's seven messages, its
`message`; an image without text (a photo without a banner, an illustration without words, a
landmark without painted fences …) has none (None). The message of a post is the first draw of its
own stream, seeded by (seed, STREAM_MESSAGE, post index), so it is independent of the genre, the
account and everything else by construction, and spread over every genre that carries text. All
text genres say one, hashtag graphics and search posters included: a line under the hashtag ("#8M /
NOS VEMOS EN LAS CALLES"), a line above the search poster's phone band, as real ones add a slogan to
their template; only the communiqué says it at length. A carousel says one message: each of its
pages that carries text says the post's message, each in a phrasing of its own (as the pages of one
communiqué or the photos of one march do). Reshares and near-duplicates show their source's text
and keep its message. A broken download keeps the message planned for it, as it keeps its `label`:
it is the post's ground truth, though nothing can be read from the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from visframe import contracts as C
from visframe.data.synthetic import messages, vocab
from visframe.data.synthetic.drawing import pick
from visframe.data.synthetic.genres import GENRE_NAMES, GENRES, choose_text, quote

PRESETS = {"tiny": 120, "small": 1_650, "paper": 16_567}  # posts; images ≈ 1.2 × posts

# Streams of the seed sequence: (seed, STREAM, index) → an independent generator.
STREAM_PLAN, STREAM_POST, STREAM_IMAGE, STREAM_MESSAGE = 0, 1, 2, 3

RESHARE_SHARE = 0.05  # of posts: byte-identical copies of an earlier image by another account
NEAR_DUPLICATE_SHARE = 0.012  # of posts: re-encoded / cropped / resized copies
CAROUSEL_SHARE = 0.12  # of original posts
CAROUSEL_SIZES, CAROUSEL_WEIGHTS = (2, 3, 4, 5), (0.45, 0.3, 0.15, 0.1)
BROKEN_SHARE = 0.01  # of posts: zero-byte, truncated or HTML instead of an image
PLACEHOLDER_SHARE = 0.003  # of posts: Instagram's "content unavailable" image
BROKEN_KINDS = ("zero_byte", "truncated", "html")
NEAR_DUPLICATE_OPS = ("requality", "crop", "resize")

# Kinds of accounts and the genres each kind tends to post (one or two become its favourites).
ACCOUNT_KINDS = {
    "colectiva": (
        0.45,
        (
            "text_statement",
            "hashtag_graphic",
            "memo_notice",
            "purple_overlay",
            "text_statement",
            "hashtag_graphic",
        ),
    ),
    "medio": (0.15, ("photo_protest", "landmark", "memo_notice", "photo_protest")),
    "personal": (0.18, ("photo_portrait", "photo_protest", "text_statement")),
    "ilustradora": (0.12, ("illustration", "purple_overlay", "illustration")),
    "buscadoras": (0.10, ("missing_person_poster", "memo_notice", "missing_person_poster")),
}
FAVOURITE_WEIGHT, OTHER_WEIGHT = 8.0, 0.2
_SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class Account:
    handle: str
    kind: str
    favourites: tuple[str, ...]
    activity: float  # relative posting rate (Zipf-like: a few accounts post most)
    popularity: float  # mean log-likes of its posts


@dataclass(frozen=True)
class ImageSpec:
    """One image file of the corpus and its post's metadata (one metadata.jsonl line)."""

    index: int
    file: str
    post_id: str
    account: str
    hashtags: tuple[str, ...]
    likes: int
    caption: str
    alt_text: str
    posted_at: str
    carousel_index: int
    label: str
    width: int
    height: int
    fmt: str  # "JPEG" or "PNG"
    quality: int
    headline: str = ""
    body: tuple[str, ...] = ()  # text drawn beside the headline (the message line, a communiqué's body)
    message: str | None = None  # the message the image's text says (messages.MESSAGE_KEYS), None without text
    phrasing: str = ""  # the phrasing of `message` it shows
    subject: str = ""
    broken_kind: str | None = None
    reshare_of: int | None = None
    near_duplicate_of: int | None = None
    near_duplicate_op: str | None = None

    def metadata(self) -> dict:
        return {
            "file": self.file,
            "post_id": self.post_id,
            "account": self.account,
            "hashtags": list(self.hashtags),
            "likes": self.likes,
            "caption": self.caption,
            C.ALT_TEXT: self.alt_text,
            C.POSTED_AT: self.posted_at,
            C.CAROUSEL_INDEX: self.carousel_index,
            "label": self.label,
            C.MESSAGE: self.message,
        }


@dataclass(frozen=True)
class CorpusPlan:
    seed: int
    n_posts: int
    image_size: int
    accounts: tuple[Account, ...]
    images: tuple[ImageSpec, ...]


def resolve_n_posts(preset: str, n_posts: int | None) -> int:
    if preset not in PRESETS:
        raise ValueError(f"Unknown synthetic corpus preset {preset!r}; choose one of {sorted(PRESETS)}.")
    resolved = PRESETS[preset] if n_posts is None else int(n_posts)
    if resolved < 10:
        raise ValueError(f"n_posts={resolved} is too small for a corpus with every genre; use at least 10.")
    return resolved


def _quota(total: int, shares: dict[str, float]) -> list[str]:
    """Exactly `total` names in proportion to `shares` (largest remainders)."""
    weights = np.array(list(shares.values()), dtype=float)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return [name for name, count in zip(shares, counts) for _ in range(count)]


def _make_accounts(rng: np.random.Generator, n: int) -> tuple[Account, ...]:
    kinds = list(ACCOUNT_KINDS)
    kind_p = np.array([ACCOUNT_KINDS[k][0] for k in kinds])
    handles: set[str] = set()
    drafts = []
    for _ in range(n):
        kind = kinds[int(rng.choice(len(kinds), p=kind_p / kind_p.sum()))]
        pool = ACCOUNT_KINDS[kind][1]
        favourites = [pick(rng, pool)]
        if rng.random() < 0.5:
            second = pick(rng, pool)
            if second not in favourites:
                favourites.append(second)
        handle = _handle(rng, kind)
        while handle in handles:
            handle = f"{handle}{int(rng.integers(2, 99))}"
        handles.add(handle)
        drafts.append([handle, kind, favourites])
    # Every genre needs accounts that favour it, or the account↔theme association has holes.
    for i, genre in enumerate(g for g in GENRE_NAMES if not any(g in fav for _, _, fav in drafts)):
        drafts[(i * 7) % n][2].append(genre)
    activity = 1.0 / np.arange(1, n + 1) ** 0.8
    rng.shuffle(activity)
    popularity = rng.normal(4.0, 1.1, size=n)
    return tuple(
        Account(h, k, tuple(f), float(a), float(p)) for (h, k, f), a, p in zip(drafts, activity, popularity)
    )


def _handle(rng: np.random.Generator, kind: str) -> str:
    name = _ascii(pick(rng, vocab.FIRST_NAMES).split()[0].lower())
    city = pick(rng, vocab.CITY_HANDLES)
    if kind == "colectiva":
        return (
            f"{pick(rng, vocab.HANDLE_PREFIXES)}_{pick(rng, vocab.HANDLE_CORES)}"
            f"{pick(rng, vocab.HANDLE_SUFFIXES)}"
        )
    if kind == "medio":
        return f"{pick(rng, vocab.MEDIA_PREFIXES)}_{city}"
    if kind == "personal":
        surname = _ascii(pick(rng, vocab.SURNAMES).lower())[:3]
        return (
            f"{name}.{surname}_"
            f"{int(rng.integers(80, 100)) if rng.random() < 0.5 else int(rng.integers(1, 30))}"
        )
    if kind == "ilustradora":
        return pick(rng, vocab.ARTIST_PATTERNS).format(name=name, core=pick(rng, vocab.HANDLE_CORES))
    return pick(rng, vocab.SEARCHER_PATTERNS).format(city=city)


def _ascii(text: str) -> str:
    table = str.maketrans("áéíóúüñÁÉÍÓÚÜÑ", "aeiouunAEIOUUN")
    return text.translate(table)


def _draw(rng: np.random.Generator, cdf: np.ndarray) -> int:
    """An index drawn from a cumulative distribution (much faster than rng.choice(p=...) per post)."""
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)


class _AccountChooser:
    """Picks the posting account of a genre: active accounts that favour the genre, mostly."""

    def __init__(self, accounts: tuple[Account, ...]):
        self.accounts = accounts
        self.weights = {
            g: np.array(
                [a.activity * (FAVOURITE_WEIGHT if g in a.favourites else OTHER_WEIGHT) for a in accounts]
            )
            for g in GENRE_NAMES
        }
        self.cdfs = {g: np.cumsum(w) for g, w in self.weights.items()}

    def __call__(self, rng: np.random.Generator, genre: str, exclude: str | None = None) -> Account:
        if exclude is None:
            return self.accounts[_draw(rng, self.cdfs[genre])]
        weights = self.weights[genre].copy()
        weights[[a.handle == exclude for a in self.accounts]] = 0.0
        return self.accounts[_draw(rng, np.cumsum(weights))]


def _posted_at(rng: np.random.Generator, search_tag: str) -> datetime:
    """Concentrated around 8 March and 25 November of 2019–2021, as the movement's posting is."""
    year = _YEARS[_draw(rng, _YEAR_CDF)]
    r = rng.random()
    if search_tag == "8M":
        anchor = "8M" if r < 0.85 else "any"
    elif search_tag == "25N":
        anchor = "25N" if r < 0.85 else "any"
    else:
        anchor = "8M" if r < 0.35 else "25N" if r < 0.6 else "any"
    if anchor == "any":
        start = datetime(year, 1, 1, tzinfo=UTC)
        moment = start + timedelta(seconds=float(rng.uniform(0, 365 * 86400)))
    else:
        day = datetime(year, 3, 8, tzinfo=UTC) if anchor == "8M" else datetime(year, 11, 25, tzinfo=UTC)
        # Mexico City afternoon (UTC-6) is when marches happen; posting spreads over the days around.
        moment = day + timedelta(days=float(rng.laplace(0.3, 1.5)), hours=float(rng.normal(22, 4)))
    return moment.replace(microsecond=0)


def _caption(
    rng: np.random.Generator, genre: str, headline: str, hashtags: tuple[str, ...], subject: str
) -> str:
    body = pick(rng, vocab.CAPTION_BODIES[genre])
    plain = headline.strip("#").strip() or pick(rng, vocab.CHANTS)
    sentence = plain.lower()
    text = body.format(
        headline_sc=sentence[:1].upper() + sentence[1:]
        if sentence[:1] not in "¡¿"
        else sentence[:2].upper() + sentence[2:],
        headline_lc=sentence.strip("¡!¿?"),
        emoji=pick(rng, vocab.EMOJI),
        place=pick(rng, vocab.PLACES),
        date=pick(rng, vocab.DATES_TEXT),
        name=subject or pick(rng, vocab.FIRST_NAMES),
    )
    closer = pick(rng, vocab.CAPTION_CLOSERS)
    tags = " ".join(f"#{t}" for t in hashtags)
    return "\n".join(part for part in (text, closer, tags) if part)


def _alt_text(rng: np.random.Generator, genre: str, headline: str, quoted: str) -> str:
    """Platform alt text quoting what the image says (`quoted`), or a person's own description."""
    r = rng.random()
    if r < 0.35:
        return ""
    if r < 0.45:
        return vocab.WRITTEN_ALT[genre].format(headline=headline or "sin texto", text=quoted or "sin texto")
    options = [t for t in vocab.ALT_BY_GENRE[genre] if quoted or "{text}" not in t]
    return pick(rng, options or ("Puede ser una imagen.",)).format(text=quoted, n=int(rng.integers(3, 12)))


_MESSAGE_CDF = np.cumsum([messages.MESSAGE_SHARES[m] for m in messages.MESSAGE_KEYS])
_SEARCH_TAG_CDFS = {g: np.cumsum(np.array(w, dtype=float)) for g, w in vocab.SEARCH_TAG_WEIGHTS.items()}
_CAROUSEL_CDF = np.cumsum(CAROUSEL_WEIGHTS)
_YEARS, _YEAR_CDF = (2019, 2020, 2021), np.cumsum((0.25, 0.45, 0.3))


def _hashtags(rng: np.random.Generator, genre: str) -> tuple[str, tuple[str, ...]]:
    search = vocab.SEARCH_TAGS[_draw(rng, _SEARCH_TAG_CDFS[genre])]
    tags = [search]
    for _ in range(int(rng.integers(0, 5))):
        tag = pick(rng, vocab.EXTRA_TAGS[genre]) if rng.random() < 0.6 else pick(rng, vocab.SEARCH_TAGS)
        if tag not in tags:
            tags.append(tag)
    return search, tuple(tags)


def _shortcode(rng: np.random.Generator) -> str:
    return "".join(_SHORTCODE_ALPHABET[i] for i in rng.integers(len(_SHORTCODE_ALPHABET), size=11))


def _likes(rng: np.random.Generator, account: Account) -> int:
    likes = math.exp(account.popularity + rng.normal(0, 1.0))
    if rng.random() < 0.01:  # the occasional viral post
        likes *= rng.uniform(20, 80)
    return round(likes)


def _canvas(rng: np.random.Generator, genre: str, image_size: int) -> tuple[int, int, str, int]:
    spec = GENRES[genre]
    height = round(image_size * 1.25) if rng.random() < spec.portrait_share else image_size
    fmt = "PNG" if rng.random() < spec.png_share else "JPEG"
    return image_size, height, fmt, int(rng.integers(60, 96))


def build_plan(n_posts: int, seed: int, image_size: int) -> CorpusPlan:
    """Decide every post and image of a corpus of `n_posts` posts."""
    rng = np.random.default_rng([seed, STREAM_PLAN])
    n_accounts = int(np.clip(round(1.4 * math.sqrt(n_posts)), 12, 150))
    accounts = _make_accounts(rng, n_accounts)
    by_handle = {a.handle: a for a in accounts}
    choose_account = _AccountChooser(accounts)

    # Which posts are copies: never among the first tenth, so there is something to copy.
    first_copy = max(3, n_posts // 10)
    n_reshare = round(RESHARE_SHARE * n_posts)
    n_near = max(1, round(NEAR_DUPLICATE_SHARE * n_posts))
    copy_posts = rng.choice(np.arange(first_copy, n_posts), size=n_reshare + n_near, replace=False)
    post_kind = ["original"] * n_posts
    for i, p in enumerate(copy_posts):
        post_kind[int(p)] = "reshare" if i < n_reshare else "near_duplicate"
    originals = [p for p in range(n_posts) if post_kind[p] == "original"]
    genres = _quota(len(originals), {name: g.share for name, g in GENRES.items()})
    rng.shuffle(genres)
    genre_of_post = dict(zip(originals, genres))
    # Broken downloads: at least one of each kind, and ≥3 identical placeholders (what ingest keys on).
    n_broken = max(len(BROKEN_KINDS), round(BROKEN_SHARE * n_posts))
    n_placeholder = max(3, round(PLACEHOLDER_SHARE * n_posts))
    # (Not among the first posts: the first copy must find a healthy image before it.)
    pool = [p for p in originals if p >= first_copy]
    damaged = rng.choice(pool, size=min(n_broken + n_placeholder, len(pool)), replace=False)
    broken_of_post = {
        int(p): (BROKEN_KINDS[i % 3] if i < n_broken else "placeholder") for i, p in enumerate(damaged)
    }

    images: list[ImageSpec] = []
    sources: list[int] = []  # healthy original images a later post may copy
    post_ids: set[str] = set()
    for p in range(n_posts):
        prng = np.random.default_rng([seed, STREAM_POST, p])
        post_id = _shortcode(prng)
        while post_id in post_ids:
            post_id = _shortcode(prng)
        post_ids.add(post_id)
        if post_kind[p] != "original":
            source = images[sources[int(prng.integers(len(sources)))]]
            account = choose_account(prng, source.label, exclude=source.account)
            _, tags = _hashtags(prng, source.label)
            when = datetime.fromisoformat(source.posted_at)
            when += timedelta(hours=float(prng.exponential(24 * 6)) + 1)
            near = post_kind[p] == "near_duplicate"
            images.append(
                ImageSpec(
                    index=len(images),
                    file=f"images/{len(images):06d}.{'jpg' if near else source.file[-3:]}",
                    post_id=post_id,
                    account=account.handle,
                    hashtags=tags,
                    likes=_likes(prng, account),
                    caption=_caption(prng, source.label, source.headline, tags, source.subject),
                    alt_text=_alt_text(
                        prng, source.label, source.headline, quote(source.headline, source.body)
                    ),
                    posted_at=_iso(when),
                    carousel_index=0,
                    label=source.label,
                    width=source.width,
                    height=source.height,
                    fmt="JPEG" if near else source.fmt,
                    quality=int(np.clip(source.quality + pick(prng, (-25, -18, -12, 10)), 40, 97))
                    if near
                    else source.quality,
                    headline=source.headline,
                    body=source.body,
                    message=source.message,
                    phrasing=source.phrasing,
                    subject=source.subject,
                    reshare_of=None if near else source.index,
                    near_duplicate_of=source.index if near else None,
                    near_duplicate_op=pick(prng, NEAR_DUPLICATE_OPS) if near else None,
                )
            )
            continue

        genre = genre_of_post[p]
        account = choose_account(prng, genre)
        search, tags = _hashtags(prng, genre)
        subject = ""
        if genre == "missing_person_poster":
            subject = (
                f"{pick(prng, vocab.FIRST_NAMES)} {pick(prng, vocab.SURNAMES)} {pick(prng, vocab.SURNAMES)}"
            )
        mrng = np.random.default_rng([seed, STREAM_MESSAGE, p])
        message = messages.MESSAGE_KEYS[_draw(mrng, _MESSAGE_CDF)]  # first draw: independent of all else
        text0 = choose_text(prng, mrng, genre, search, message)
        caption = _caption(prng, genre, text0.headline, tags, subject)
        posted_at = _iso(_posted_at(prng, search))
        likes = _likes(prng, account)
        size = 1
        if prng.random() < CAROUSEL_SHARE:
            size = CAROUSEL_SIZES[_draw(prng, _CAROUSEL_CDF)]
        broken = broken_of_post.get(p)
        broken_slot = int(prng.integers(size)) if broken else -1
        for k in range(size):
            # Carousels mostly keep one genre (pages of a communiqué, photos of a march) but mix some.
            g = (
                genre
                if k == 0 or prng.random() < 0.7
                else pick(prng, by_handle[account.handle].favourites + (genre,))
            )
            text = text0 if k == 0 else choose_text(prng, mrng, g, search, message)
            width, height, fmt, quality = _canvas(prng, g, image_size)
            kind = broken if k == broken_slot else None
            if kind is not None:
                fmt = "JPEG"  # broken downloads arrive as .jpg whatever they hold
            images.append(
                ImageSpec(
                    index=len(images),
                    file=f"images/{len(images):06d}.{'png' if fmt == 'PNG' else 'jpg'}",
                    post_id=post_id,
                    account=account.handle,
                    hashtags=tags,
                    likes=likes,
                    caption=caption,
                    alt_text=_alt_text(prng, g, text.headline, text.quoted),
                    posted_at=posted_at,
                    carousel_index=k,
                    label=g,
                    width=width,
                    height=height,
                    fmt=fmt,
                    quality=quality,
                    headline=text.headline,
                    body=text.body,
                    message=message if text.headline else None,
                    phrasing=text.phrasing,
                    subject=subject,
                    broken_kind=kind,
                )
            )
            if kind is None:
                sources.append(len(images) - 1)
    return CorpusPlan(
        seed=seed, n_posts=n_posts, image_size=image_size, accounts=accounts, images=tuple(images)
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
