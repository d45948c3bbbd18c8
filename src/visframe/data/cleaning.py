"""The cleaning taxonomy: what is wrong with a file, as a `status` code and a readable `reason`.

Each file is inspected once (`inspect_file`) into `FileFacts`: plain facts that do not depend on any
threshold (size, hash, what its bytes are, the header's pixel size, whether decoding finished, a
perceptual hash and a few content statistics). `classify` then turns facts + thresholds into a status,
so changing `min_side` re-classifies from the cache without re-reading a single file.

Status codes, in the order they are checked (the first that applies wins):

- `outside_root`: (set by the listing) a link to a file or folder outside `dataset.root`: not followed,
  not read
- `unreadable`: the file cannot be read: permission denied, I/O error, a broken symlink, a named pipe
- `zero_byte`: the file is empty (a failed download)
- `not_an_image`: the bytes are HTML, JSON, XML, text, a PDF, a video, an archive, or unrecognisable
- `unsupported_format`: an image format visframe does not decode (HEIC/HEIF, SVG)
- `too_many_pixels`: the header declares more than `max_pixels` pixels (WebP: ¼ of it, JPEG 2000: ⅕):
  not decoded
- `truncated`: a recognised image whose data ends early or is damaged, so decoding fails
- `too_small`: the shorter side is below `min_side`
- `blank`: a single colour: near-zero pixel variance
- `placeholder`: a "content unavailable" picture (decided over the whole folder, see below)
- `ok`: usable
- `metadata_only`: (set by ingest) a metadata row whose file is not in the folder

`dataset.follow_symlinks_outside=true` follows links leading outside the folder instead of marking them.

Placeholders versus popular reshares. Both are the same picture appearing in many files, so
frequency alone cannot tell them apart. A blocked or "content unavailable" picture is, in addition,
visually empty: a flat background with a small icon or a line of text. A file is a placeholder when
its reshare group (exact copies plus near-duplicates, see `reshares`) holds at least
`placeholder_min_count` files AND most of the group has low visual content: at least
`LOW_CONTENT_FLAT_FRACTION` (85%) of the pixels sit in flat areas (no local gradient above
`FLAT_GRADIENT`) and at most `LOW_CONTENT_MAX_COLOURS` (5) colours (4 bits per channel) cover 95% of
the picture. A photo reshared by many accounts has texture and hundreds of colours (our test photo:
~1,500); even a flat illustration or a hashtag graphic usually needs 6–60. So a popular reshare fails
the content test and stays `ok` (its copies share a `reshare_group` instead). On the synthetic corpus
(2,000 posts: 5 placeholders, 81 reshared originals, 304 hashtag graphics, 407 text statements) this
flags exactly the 5 placeholders. The blind spot: a near-empty graphic (a short slogan in one colour on
a plain background) reshared `placeholder_min_count` times looks like a placeholder; the cleaning
report lists each placeholder group with example files so this can be checked, and
`placeholder_min_count=0` turns the rule off.
"""

from __future__ import annotations

import base64
import os
import stat
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from io import BytesIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from visframe import contracts as C
from visframe.data.images import (
    SNIFF_BYTES,
    TooManyPixelsError,
    decode_first_frame,
    decode_limit,
    exif_orientation,
    is_json_document,
    limit_note,
    open_image,
    oriented_size,
    sniff,
)
from visframe.data.reshares import THUMB_SIDE
from visframe.utils.hashing import image_id_from_bytes

# The status codes are part of the manifest's contract (visframe.contracts).
OK = C.STATUS_OK
ZERO_BYTE = C.STATUS_ZERO_BYTE
TRUNCATED = C.STATUS_TRUNCATED
NOT_AN_IMAGE = C.STATUS_NOT_AN_IMAGE
UNSUPPORTED_FORMAT = C.STATUS_UNSUPPORTED_FORMAT
PLACEHOLDER = C.STATUS_PLACEHOLDER
BLANK = C.STATUS_BLANK
TOO_SMALL = C.STATUS_TOO_SMALL
TOO_MANY_PIXELS = C.STATUS_TOO_MANY_PIXELS
UNREADABLE = C.STATUS_UNREADABLE
METADATA_ONLY = C.STATUS_METADATA_ONLY
OUTSIDE_ROOT = C.STATUS_OUTSIDE_ROOT
STATUSES = C.STATUSES

# Bump when the facts computed below change: cached facts of an older version are recomputed.
FACTS_VERSION = 2
# Decode JPEGs at a reduced scale for the checks (never below this many pixels per side).
CHECK_DRAFT_SIZE = 256
# A decoded image above this many pixels (8 Mpx; after a JPEG's reduced-scale decode, so only large
# PNG/WebP/TIFF/… images) is shrunk before it is rotated and converted (`images.decode_first_frame`):
# checking one file then holds the file's bytes + at most 4 bytes per decoded pixel (~360 MB at the
# default max_pixels), not up to 35 bytes per pixel (16-bit grey). Smaller images take the exact path.
CHECK_REDUCE_ABOVE = 8 * 1024 * 1024
# Content statistics are computed on a thumbnail whose longer side is this many pixels.
STATS_SIDE = 128
# A picture is blank when no colour channel varies by more than this (std, 0–255 scale): JPEG noise
# on a flat colour stays below ~2.
BLANK_MAX_STD = 3.0
# A pixel is "flat" when it differs from its right and lower neighbours by at most this (0–255).
FLAT_GRADIENT = 8
LOW_CONTENT_FLAT_FRACTION = 0.85
LOW_CONTENT_MAX_COLOURS = 5

_NOT_AN_IMAGE_REASONS = {
    "html": "file is HTML, not an image (a login or error page saved with an image extension)",
    "json": "file is JSON, not an image (an API error or metadata response saved with an image extension)",
    "xml": "file is XML, not an image (an error response saved with an image extension)",
    "text": "file is plain text, not an image",
    "pdf": "file is a PDF document, not an image",
    "video": "file is a video, not an image (visframe reads still images only)",
    "archive": "file is a compressed archive (zip/gzip/7z), not an image",
}
_UNSUPPORTED_REASONS = {
    "HEIF": "file is a HEIC/HEIF photo, which this installation cannot decode: convert it to JPEG",
    "SVG": "file is an SVG vector drawing; visframe decodes raster images only: export it to PNG",
    "AVIF": "file is an AVIF image and this Pillow has no AVIF decoder: convert it to JPEG or PNG",
}


@dataclass
class FileFacts:
    """Everything ingest learns about one file; threshold-free, so it can be cached."""

    file_size: int | None = None
    image_id: str | None = None
    problem: str | None = None  # a status code decided from the bytes alone, None if decodable
    detail: str = ""  # the reason for `problem`
    format: str | None = None
    header_width: int | None = None  # as stored (before EXIF rotation)
    header_height: int | None = None
    width: int | None = None  # as displayed (EXIF rotation applied)
    height: int | None = None
    decoded: bool = False
    refused_above: int | None = None  # the pixel limit that stopped decoding (too_many_pixels)
    phash: str | None = None
    pixel_std: float | None = None
    colours_95: int | None = None
    flat_fraction: float | None = None
    mean_colour: str | None = None
    thumb: str | None = None  # 16×16 RGB thumbnail, base64: confirms near-duplicates (see reshares)
    version: int = field(default=FACTS_VERSION)

    @property
    def thumb_bytes(self) -> bytes | None:
        return base64.b64decode(self.thumb) if self.thumb else None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FileFacts:
        known = {key: values[key] for key in cls.__dataclass_fields__ if key in values}
        return cls(**known)

    @property
    def low_content(self) -> bool:
        """Mostly flat and few colours: the look of a "content unavailable" picture."""
        if self.flat_fraction is None or self.colours_95 is None:
            return False
        return self.flat_fraction >= LOW_CONTENT_FLAT_FRACTION and self.colours_95 <= LOW_CONTENT_MAX_COLOURS

    def cacheable_for(self, max_pixels: int) -> bool:
        """False when these facts must be recomputed for this pixel limit (or never cached)."""
        if self.version != FACTS_VERSION or self.problem == UNREADABLE:
            return False
        # Refused under a lower limit that the caller has since raised: decode it now.
        pixels = (self.header_width or 0) * (self.header_height or 0)
        return not (
            self.problem == TOO_MANY_PIXELS
            and self.refused_above is not None
            and pixels <= decode_limit(self.format, max_pixels)
        )


def describe_path_problem(path: str) -> str | None:
    """A reason when `path` cannot be opened as a regular file (without opening it), else None."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"broken symbolic link: its target {os.readlink(path)!r} does not exist"
        return "file disappeared while the folder was being read"
    except PermissionError:
        return "cannot read the file: permission denied (fix its permissions, e.g. chmod a+r)"
    except OSError as error:
        return f"cannot read the file: {error.strerror or error}"
    if stat.S_ISREG(info.st_mode):
        return None
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(info.st_mode)
        else "a socket"
        if stat.S_ISSOCK(info.st_mode)
        else "a device"
        if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
        else "a directory"
        if stat.S_ISDIR(info.st_mode)
        else "not a regular file"
    )
    return f"not a regular file: {kind}"


def read_file_bytes(path: str) -> bytes:
    """The whole file (kept as one function so tests can simulate I/O errors)."""
    with open(path, "rb") as handle:
        return handle.read()


def inspect_file(path: str, max_pixels: int) -> FileFacts:
    """Read, hash, sniff and (if allowed) decode one file. Never raises for a bad file."""
    problem = describe_path_problem(path)
    if problem:
        return FileFacts(problem=UNREADABLE, detail=problem)
    try:
        data = read_file_bytes(path)
    except PermissionError:
        return FileFacts(
            problem=UNREADABLE,
            detail="cannot read the file: permission denied (fix its permissions, e.g. chmod a+r)",
        )
    except OSError as error:
        return FileFacts(
            problem=UNREADABLE, detail=f"cannot read the file: {error.strerror or error} (an I/O error)"
        )
    facts = FileFacts(file_size=len(data), image_id=image_id_from_bytes(data))
    if not data:
        facts.problem, facts.detail = ZERO_BYTE, "file is 0 bytes (a failed download)"
        return facts
    sniffed = sniff(data[:SNIFF_BYTES])
    facts.format = sniffed.format
    if sniffed.kind == "unsupported_image":
        facts.problem, facts.detail = UNSUPPORTED_FORMAT, _UNSUPPORTED_REASONS[sniffed.format or "SVG"]
        return facts
    if sniffed.kind != "image":
        facts.problem, facts.detail = NOT_AN_IMAGE, _not_an_image_reason(sniffed.kind, data)
        return facts
    with warnings.catch_warnings():
        # Palette-transparency and EXIF warnings are about files we handle; bombs are refused below.
        warnings.simplefilter("ignore")
        _decode_into(facts, data, sniffed.format or "image", max_pixels)
    return facts


def inspect_file_as_dict(args: tuple[str, int]) -> dict:
    """`inspect_file` for worker processes (lives here so workers import only PIL and numpy)."""
    return inspect_file(*args).to_dict()


def _not_an_image_reason(kind: str, data: bytes) -> str:
    if kind == "json" and not is_json_document(data):
        return "file starts like JSON but is not an image (an error response saved with an image extension)"
    if kind in _NOT_AN_IMAGE_REASONS:
        return _NOT_AN_IMAGE_REASONS[kind]
    start = " ".join(f"{byte:02x}" for byte in data[:8])
    return f"file content is not a recognised image format (random or corrupt bytes, starting {start})"


@contextmanager
def _header_size_first():
    """Let PIL read any header, so the declared size is known and `open_image` refuses it itself.

    PIL's own decompression-bomb error fires inside `Image.open` and hides the size. Only headers
    are read while this is on; nothing is decoded before our `max_pixels` check. (Ingest checks
    files in one thread per process, so changing PIL's global here is safe.)
    """
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _decode_into(facts: FileFacts, data: bytes, fmt: str, max_pixels: int) -> None:
    try:
        with _header_size_first():
            image = open_image(BytesIO(data), max_pixels=max_pixels)
    except TooManyPixelsError as error:
        facts.problem, facts.refused_above = TOO_MANY_PIXELS, max_pixels
        if error.size:
            facts.header_width, facts.header_height = error.size
        facts.detail = (
            f"{error} (a possible decompression bomb), so it was not decoded; "
            "raise dataset.ingest.max_pixels if the image is genuine"
        )
        return
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        facts.problem, facts.detail = TRUNCATED, _damage_reason(fmt, data, error)
        return
    with image:
        facts.format = image.format or fmt
        facts.header_width, facts.header_height = image.size
        orientation = exif_orientation(image)
        facts.width, facts.height = oriented_size(image.size, orientation)
        try:
            rgb = decode_first_frame(image, draft_size=CHECK_DRAFT_SIZE, reduce_above=CHECK_REDUCE_ABOVE)
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as error:
            facts.problem, facts.detail = TRUNCATED, _damage_reason(facts.format, data, error)
            return
        facts.decoded = True
        _content_stats(facts, rgb)


def _damage_reason(fmt: str, data: bytes, error: Exception) -> str:
    message = str(error) or type(error).__name__
    declared_riff = int.from_bytes(data[4:8], "little") + 8 if data[:4] == b"RIFF" else None
    cut_short = "truncated" in message or (declared_riff is not None and declared_riff > len(data))
    if cut_short:
        return f"{fmt} data ends early: the file is cut short (an interrupted download); decoder: {message}"
    return f"{fmt} header is valid but the image data is damaged and cannot be decoded; decoder: {message}"


def _content_stats(facts: FileFacts, rgb: Image.Image) -> None:
    import imagehash  # imports scipy: only where needed

    # One small copy serves the hash and the statistics (phash itself works on 32×32).
    scale = STATS_SIDE / max(rgb.size)
    if scale < 1:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        small = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    else:
        small = rgb
    facts.phash = str(imagehash.phash(small))
    thumb = small.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX)
    facts.thumb = base64.b64encode(thumb.tobytes()).decode("ascii")
    pixels = np.asarray(small, dtype=np.float32)
    facts.pixel_std = float(pixels.reshape(-1, 3).std(axis=0).max())
    mean = pixels.reshape(-1, 3).mean(axis=0).round().astype(int)
    facts.mean_colour = "#{:02X}{:02X}{:02X}".format(*mean)
    # Colours at 4 bits per channel; how many of them cover 95% of the pixels.
    quantised = (pixels.astype(np.uint16) >> 4).reshape(-1, 3)
    codes = (quantised[:, 0] << 8) | (quantised[:, 1] << 4) | quantised[:, 2]
    counts = np.sort(np.bincount(codes, minlength=4096))[::-1]
    facts.colours_95 = int(np.searchsorted(np.cumsum(counts), 0.95 * codes.size) + 1)
    gray = pixels.mean(axis=2)
    if min(gray.shape) >= 2:
        gradient = np.maximum(np.abs(np.diff(gray, axis=1))[:-1, :], np.abs(np.diff(gray, axis=0))[:, :-1])
        facts.flat_fraction = float((gradient <= FLAT_GRADIENT).mean())
    else:
        facts.flat_fraction = 1.0


def classify(facts: FileFacts, min_side: int, max_pixels: int) -> tuple[str, str]:
    """(status, reason) for one file from its facts; placeholders are decided later, per group."""
    limit = decode_limit(facts.format, max_pixels)
    if facts.problem == TOO_MANY_PIXELS or (
        facts.header_width and facts.header_height and facts.header_width * facts.header_height > limit
    ):
        if facts.problem == TOO_MANY_PIXELS:
            return TOO_MANY_PIXELS, facts.detail
        pixels = facts.header_width * facts.header_height  # type: ignore[operator]
        return TOO_MANY_PIXELS, (
            f"image declares {facts.header_width}×{facts.header_height} = {pixels:,} pixels, above the limit "
            f"of {limit:,}{limit_note(facts.format)} (a possible decompression bomb), so it was not decoded; "
            "raise dataset.ingest.max_pixels if the image is genuine"
        )
    if facts.problem:
        return facts.problem, facts.detail
    width, height = facts.width or 0, facts.height or 0
    if min(width, height) < min_side:
        return TOO_SMALL, (
            f"image is {width}×{height} pixels, smaller than the minimum side of {min_side} "
            "(dataset.ingest.min_side)"
        )
    if facts.pixel_std is not None and facts.pixel_std <= BLANK_MAX_STD:
        return BLANK, f"image is blank: a single colour ({facts.mean_colour}) with no visible content"
    return OK, ""


def placeholder_reason(group_size: int, phash: str | None) -> str:
    return (
        f'a "content unavailable" placeholder: the same low-content picture (perceptual hash {phash}) '
        f"appears in {group_size} files"
    )
