"""Opening images: the one function every stage uses (`load_rgb`), and content sniffing.

Every stage that looks at pixels (ingest checks, embedding, thumbnails, montages) opens images
through `load_rgb`, so they all see the same picture:

- EXIF orientation applied (a phone photo stored sideways comes out upright, width/height swapped);
- the first frame of an animation (GIF, WebP, APNG);
- transparency composited on white (RGBA, LA, palette images with a transparent index), because a
  transparent pixel has no colour of its own and black (PIL's default) would invent dark content;
- CMYK, grayscale, 1-bit, 16-bit (scaled down, not clipped to white) and palette images as RGB.

Formats are recognised by content, never by extension: `sniff` reads a file's first bytes and says
what it is (a JPEG, an HTML error page, a JSON response, random bytes …), and only the raster formats
in `DECODABLE_FORMATS` are handed to PIL (PIL's permissive plugins, e.g. TGA, would otherwise
"recognise" random bytes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps, features

# Raster formats visframe decodes. AVIF only when this Pillow was built with libavif.
DECODABLE_FORMATS: tuple[str, ...] = tuple(
    ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "ICO", "JPEG2000", "PPM"]
    + (["AVIF"] if features.check("avif") else [])
)
# File extensions that mark a file as meant to be an image: such a file always gets a manifest row
# (with the reason it is unusable if its content is not an image). Other files get a row only when
# their content sniffs as an image.
IMAGE_EXTENSIONS = frozenset(
    [
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".pjpeg",
        ".pjp",
        ".png",
        ".apng",
        ".gif",
        ".webp",
        ".bmp",
        ".dib",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
        ".avif",
        ".ico",
        ".jp2",
        ".j2k",
        ".jpx",
        ".ppm",
        ".pgm",
        ".pbm",
        ".svg",
    ]
)
SNIFF_BYTES = 2048


# Bytes per pixel a format's decoder holds while decoding, where it is more than PIL's own image (at
# most 4): libwebp's animation decoder (Pillow uses it for every WebP) keeps two canvases and a copy,
# OpenJPEG a 32-bit plane per channel. Measured on 88 Mpx images: WebP +1.35 GB (15.3 B/px), JPEG 2000
# +1.63 GB (18.4 B/px), PNG/TIFF/GIF ≤ +0.36 GB (≤ 4.1 B/px).
DECODER_BYTES_PER_PIXEL = {"WEBP": 16, "JPEG2000": 20}
PIL_BYTES_PER_PIXEL = 4


def decode_limit(fmt: str | None, max_pixels: int) -> int:
    """The pixel limit for a format: `max_pixels`, scaled down for a decoder that needs more memory
    per pixel than PIL's own image, so decoding any format costs at most 4 bytes × `max_pixels`."""
    cost = DECODER_BYTES_PER_PIXEL.get((fmt or "").upper(), PIL_BYTES_PER_PIXEL)
    return max_pixels * PIL_BYTES_PER_PIXEL // cost


def limit_note(fmt: str | None) -> str:
    """Why a format's limit is below max_pixels ('' when it is not)."""
    cost = DECODER_BYTES_PER_PIXEL.get((fmt or "").upper())
    if cost is None:
        return ""
    share = cost // PIL_BYTES_PER_PIXEL
    return f" for {fmt} (its decoder needs ~{cost} bytes a pixel: 1/{share} of max_pixels)"


class TooManyPixelsError(ValueError):
    """The image's header declares more pixels than allowed: it is refused before decoding."""

    def __init__(self, pixels: int, limit: int, size: tuple[int, int] | None = None, fmt: str | None = None):
        self.pixels, self.limit, self.size = pixels, limit, size
        dims = f"{size[0]}×{size[1]} = " if size else ""
        super().__init__(
            f"image declares {dims}{pixels:,} pixels, above the limit of {limit:,}{limit_note(fmt)}"
        )


@dataclass(frozen=True)
class Sniffed:
    """What a file's first bytes say it is.

    kind: `image` (a raster format PIL decodes), `unsupported_image` (an image format visframe cannot
    decode: HEIC, SVG, AVIF without libavif), or a non-image kind: `html`, `json`, `xml`, `text`,
    `pdf`, `video`, `archive`, `binary` (nothing recognisable).
    """

    kind: str
    format: str | None = None

    @property
    def is_image(self) -> bool:
        return self.kind in ("image", "unsupported_image")


_ISO_BRANDS_HEIF = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_ISO_BRANDS_AVIF = {b"avif", b"avis"}
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<title", b"<meta ")


def sniff(head: bytes) -> Sniffed:
    """Classify a file by its first bytes (pass at least `SNIFF_BYTES` when available)."""
    return _sniff_raster(head) or _sniff_iso_media(head) or _sniff_other_binary(head) or _sniff_text(head)


def _sniff_raster(head: bytes) -> Sniffed | None:
    """The still-image formats with a fixed signature."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "JPEG")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "PNG")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "GIF")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "WEBP")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "TIFF")
    if (
        head[:2] == b"BM"
        and len(head) >= 26
        and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108, 124)
    ):
        return Sniffed("image", "BMP")
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xffO\xffQ")):
        return Sniffed("image", "JPEG2000")
    if head[:4] == b"\x00\x00\x01\x00" and len(head) > 6 and head[4] > 0 and head[5] == 0:
        return Sniffed("image", "ICO")
    if re.match(rb"P[1-6]\s", head[:3]):
        return Sniffed("image", "PPM")
    return None


def _sniff_iso_media(head: bytes) -> Sniffed | None:
    """ISO base media files (`ftyp`): AVIF and HEIF stills, everything else a video."""
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in _ISO_BRANDS_AVIF:
        return (
            Sniffed("image", "AVIF") if "AVIF" in DECODABLE_FORMATS else Sniffed("unsupported_image", "AVIF")
        )
    if brand in _ISO_BRANDS_HEIF:
        return Sniffed("unsupported_image", "HEIF")
    return Sniffed("video", brand.decode("ascii", "replace").strip())


def _sniff_other_binary(head: bytes) -> Sniffed | None:
    """Documents, archives and the other video containers a scrape brings along."""
    if head.startswith(b"%PDF"):
        return Sniffed("pdf")
    if head.startswith((b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf")):
        return Sniffed("archive")
    if head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return Sniffed("video")
    return None


def _sniff_text(head: bytes) -> Sniffed:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text[:1024] and (text.startswith((b"<?xml", b"<svg", b"<!--"))):
        return Sniffed("unsupported_image", "SVG")
    if any(marker in text[:1024] for marker in _HTML_MARKERS):
        return Sniffed("html")
    if text.startswith((b"<?xml", b"<")):
        return Sniffed("xml") if _looks_textual(head) else Sniffed("binary")
    if text[:1] in (b"{", b"[") and _looks_textual(head):
        return Sniffed("json")
    if text and _looks_textual(head):
        return Sniffed("text")
    return Sniffed("binary")


def _looks_textual(head: bytes) -> bool:
    """True if the bytes decode as UTF-8 (allowing a character cut at the end) with few controls."""
    sample = head[:SNIFF_BYTES]
    try:
        decoded = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 4:
            return False
        decoded = sample[: error.start].decode("utf-8")
    if not decoded:
        return False
    controls = sum(1 for ch in decoded if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls / len(decoded) < 0.01


def is_json_document(data: bytes) -> bool:
    """True if the whole of `data` parses as JSON (used to word a reason precisely)."""
    try:
        json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


# ------------------------------------------------------------------------------------- decoding


def open_image(source: str | Path | IO[bytes], max_pixels: int | None = None) -> Image.Image:
    """`Image.open` restricted to `DECODABLE_FORMATS`, refusing oversized images before decoding.

    Only the header is read here; the caller decides whether to `.load()`. Raises
    `TooManyPixelsError` when the header declares more than `max_pixels` pixels — fewer for a
    format whose decoder needs more memory per pixel (`decode_limit`) — (PIL's own
    decompression-bomb error is translated into the same exception), `PIL.UnidentifiedImageError`
    when the content is not a decodable format.
    """
    try:
        image = Image.open(source, formats=DECODABLE_FORMATS)
    except Image.DecompressionBombError as error:
        found = re.search(r"\((\d+) pixels\)", str(error))
        pixels = int(found.group(1)) if found else 0
        raise TooManyPixelsError(pixels, max_pixels or 2 * (Image.MAX_IMAGE_PIXELS or 0)) from error
    if max_pixels is not None and image.width * image.height > decode_limit(image.format, max_pixels):
        size, fmt = image.size, image.format
        image.close()
        raise TooManyPixelsError(size[0] * size[1], decode_limit(fmt, max_pixels), size, fmt)
    return image


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1–8), 1 when missing or unreadable."""
    try:
        value = image.getexif().get(0x0112, 1)
        return int(value) if 1 <= int(value) <= 8 else 1
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not make the image unusable
        return 1


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """Width and height as displayed: EXIF orientations 5–8 rotate by 90°."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def to_rgb(image: Image.Image) -> Image.Image:
    """A decoded (loaded) image as 8-bit RGB, transparency composited on white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _high_depth_to_rgb(image)
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit integer and float grayscale → 8-bit, scaled (PIL's convert would clip at 255)."""
    pixels = np.asarray(image).astype(np.float64)
    if image.mode == "F":
        peak = 1.0 if pixels.size and np.nanmax(pixels) <= 1.0 else 255.0
        scaled = pixels / peak * 255.0
    elif image.mode.startswith("I;16") or (pixels.size and pixels.max() > 255):
        scaled = pixels / 257.0  # 65535 → 255
    else:
        scaled = pixels
    gray = np.clip(np.nan_to_num(scaled), 0, 255).round().astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def decode_first_frame(
    image: Image.Image, draft_size: int | None = None, reduce_above: int | None = None
) -> Image.Image:
    """Load the first frame of an opened image, EXIF-rotated, as RGB.

    `draft_size` lets JPEG decode at a reduced scale (1/2 … 1/8, never below `draft_size` pixels
    per side): all the compressed data is still read, so a cut-short file is still detected.

    `reduce_above` (pixels, with `draft_size`): a decoded image larger than this is shrunk to about
    2 × `draft_size` pixels on its longer side *before* it is rotated and converted, so memory stays
    at the decoded image itself (at most 4 bytes a pixel) instead of the several full-size copies
    that rotation, alpha compositing and 16-bit scaling make (measured on 88 Mpx PNGs: RGBA +1.7 GB,
    16-bit grey +2.9 GB, now +0.36 GB and +0.18 GB). For the ingest checks (cleaning), whose
    statistics are taken at 128 pixels anyway; never for pictures a model sees.
    """
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    orientation = exif_orientation(image)
    if draft_size and image.format == "JPEG":
        image.draft(None, (draft_size, draft_size))
    image.load()
    if reduce_above is not None and draft_size and image.width * image.height > reduce_above:
        image = _shrunk(image, 2 * draft_size)
        if orientation != 1:
            image = image.transpose(_ORIENTATION_TRANSPOSE[orientation])
        return to_rgb(image)
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
    return to_rgb(image)


# EXIF orientation → the transpose that shows the picture upright (as ImageOps.exif_transpose).
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Modes `Image.reduce` averages without a full-size copy first (RGBA and LA are premultiplied into a
# copy; palette indices and 16-bit modes cannot be averaged or are refused).
_REDUCIBLE_MODES = frozenset(["L", "RGB", "RGBX", "CMYK", "YCbCr", "I", "F", "La", "RGBa"])


def _shrunk(image: Image.Image, longer_side: int) -> Image.Image:
    """A copy of a loaded image with its longer side at least `longer_side`, allocating only the copy:
    box-averaged where `Image.reduce` can, else every n-th pixel (nearest neighbour)."""
    factor = max(1, max(image.size) // longer_side)
    if factor == 1:
        return image
    if image.mode in _REDUCIBLE_MODES:
        return image.reduce(factor)
    size = (max(1, image.width // factor), max(1, image.height // factor))
    return image.resize(size, Image.Resampling.NEAREST)


def load_rgb(path: str | Path, max_pixels: int | None = None, draft_size: int | None = None) -> Image.Image:
    """Open an image file for use: RGB, EXIF orientation applied, first frame, alpha on white.

    Thread-safe (no global PIL settings are changed). Raises `TooManyPixelsError` above
    `max_pixels` (PIL's own decompression-bomb limit always applies), and PIL/OS errors for files
    that cannot be decoded — ingest has already given those a non-ok status.
    """
    with open_image(path, max_pixels=max_pixels) as image:
        rgb = decode_first_frame(image, draft_size=draft_size)
        # Detach from the file: the returned image must outlive the `with`.
        return rgb.copy() if rgb is image else rgb
