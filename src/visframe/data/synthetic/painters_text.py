"""Painters for the text-led genres: statements, notices, hashtag graphics, search posters, purple overlays.

Each lays out the text the plan chose (`job.headline`, `job.body`: genres.choose_text) in its genre's
way; what it draws is recorded line by line as the image's `rendered_text`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from visframe.data.synthetic import drawing as d
from visframe.data.synthetic import vocab
from visframe.data.synthetic.painters_scene import (
    PaintJob,
    paint_illustration,
    paint_landmark,
    paint_photo_portrait,
    paint_photo_protest,
)

STATEMENT_BACKGROUNDS = (
    *d.DARKS,
    *d.DARKS,
    *d.LIGHTS,
    *d.LIGHTS,
    *d.PURPLES[:5],
    d.PINKS[0],
    d.REDS[0],
    d.GREENS[0],
    (240, 230, 210),
    (255, 236, 179),
)


def _handle(draw: ImageDraw.ImageDraw, rng: np.random.Generator, job: PaintJob, fill: d.Color) -> None:
    """The account's @handle in a corner, as many accounts stamp their graphics."""
    if not job.account:
        return
    font = d.get_font("sans", max(7, job.height // 28))
    x = job.width * 0.05 if rng.random() < 0.5 else job.width * 0.95 - font.getlength("@" + job.account)
    d.draw_line(draw, (x, job.height * 0.93), "@" + job.account, font, fill)


def paint_text_statement(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A short slogan in big type on a plain (sometimes textured) background."""
    w, h = job.width, job.height
    bg = d.jitter(rng, d.pick(rng, STATEMENT_BACKGROUNDS), 10)
    img = d.solid(w, h, bg)
    if rng.random() < 0.2:  # paper or gradient texture
        img = Image.blend(img, d.smooth_field(rng, w, h, (bg, d.jitter(rng, bg, 30)), cells=4), 0.5)
    draw = ImageDraw.Draw(img)
    fill = d.text_color_on(rng, bg)
    margin = w * rng.uniform(0.07, 0.15)
    top, bottom = h * rng.uniform(0.08, 0.2), h * rng.uniform(0.8, 0.92)
    if rng.random() < 0.2:  # a small emblem under the slogan
        bottom = h * 0.7
        icon = d.pick(rng, ("venus", "flower", "heart"))
        cx, cy, r = w / 2, h * 0.8, h * 0.07
        if icon == "venus":
            d.draw_venus(draw, cx, cy - r * 0.6, r * 0.7, fill, max(2, w // 64))
        elif icon == "flower":
            d.draw_flower(draw, cx, cy, r, d.pick(rng, d.PURPLES), (250, 220, 90))
        else:
            d.draw_heart(draw, cx, cy, r, d.pick(rng, (d.PURPLES[4], d.REDS[0], d.PINKS[0])))
    highlight = None
    if rng.random() < 0.15:
        highlight = d.pick(rng, (d.PURPLES[4], (255, 235, 59), d.PINKS[0]))
        fill = (255, 255, 255) if d.luminance(highlight) < 140 else (15, 15, 15)
    face = d.pick(rng, ("bold", "bold", "bold", "serif_bold", "sans", "bold_oblique"))
    d.draw_text_block(
        draw,
        job.headline,
        (margin, top, w - margin, bottom),
        face,
        fill,
        max_size=int(h * 0.22),
        align=d.pick(rng, ("center", "center", "left")),
        highlight=highlight,
        spacing=float(rng.uniform(1.0, 1.25)),
    )
    if rng.random() < 0.15:
        inset = w * 0.03
        draw.rectangle((inset, inset, w - inset, h - inset), outline=fill, width=max(1, w // 100))
    if rng.random() < 0.35:
        _handle(draw, rng, job, fill)
    return img


def paint_memo_notice(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A communiqué: title, its sentences (`job.body`) in paragraphs of small text, signature; white/cream,
    sometimes a purple band."""
    w, h = job.width, job.height
    notes_app = rng.random() < 0.2
    bg = d.jitter(rng, (252, 250, 243) if notes_app else d.pick(rng, d.LIGHTS), 5)
    img = d.solid(w, h, bg)
    draw = ImageDraw.Draw(img)
    margin = w * rng.uniform(0.06, 0.1)
    y = h * 0.05
    title_fill = (20, 20, 20)
    if not notes_app and rng.random() < 0.35:  # coloured header band
        band = d.jitter(rng, d.pick(rng, (*d.PURPLES[:4], d.DARKS[0], d.GREENS[1])), 10)
        band_h = h * rng.uniform(0.12, 0.18)
        draw.rectangle((0, 0, w, band_h), fill=band)
        d.draw_text_block(
            draw,
            job.headline,
            (margin, band_h * 0.15, w - margin, band_h * 0.85),
            "bold",
            (255, 255, 255),
            max_size=int(band_h * 0.5),
        )
        y = band_h + h * 0.03
    else:
        if notes_app:
            d.draw_line(draw, (margin, y), "< Notas", d.get_font("sans", max(7, h // 30)), (230, 170, 0))
            y += h * 0.06
        if rng.random() < 0.3:  # the collective's round logo
            r = h * 0.05
            draw.ellipse((w - margin - 2 * r, y, w - margin, y + 2 * r), fill=d.pick(rng, d.PURPLES))
            d.draw_venus(draw, w - margin - r, y + r * 0.8, r * 0.45, (255, 255, 255), max(1, w // 128))
        y = d.draw_text_block(
            draw,
            job.headline,
            (margin, y, w - margin * 3, y + h * 0.1),
            "bold",
            title_fill,
            max_size=int(h * 0.07),
            align=d.pick(rng, ("left", "center")),
        )
        y += h * 0.02
    face = d.pick(rng, ("serif", "sans", "sans"))
    size = max(6, int(h * rng.uniform(0.026, 0.036)))
    font = d.get_font(face, size)
    step = d.line_height(font, 1.15)
    text_fill = d.jitter(rng, (35, 35, 40), 10)
    bottom = h - h * 0.1
    sentences = list(job.body)
    while sentences and y + step < bottom:
        n = int(rng.integers(1, 3))  # sentences in this paragraph
        paragraph = " ".join(sentences[:n])
        del sentences[:n]
        for line in d.wrap_lines(paragraph, font, w - 2 * margin):
            if y + step >= bottom:
                break
            d.draw_line(draw, (margin, y), line, font, text_fill)
            y += step
        y += step * 0.6
    signature = "Atentamente, " + (job.account.replace("_", " ").replace(".", " ") or "las colectivas")
    d.draw_line(draw, (margin, h - h * 0.08), signature, d.get_font("bold", size), text_fill)
    return img


def _faded_photo(rng: np.random.Generator, w: int, h: int, tint: d.Color) -> Image.Image:
    photo = paint_photo_protest(rng, PaintJob(w, h))
    return Image.blend(photo, d.solid(w, h, tint), float(rng.uniform(0.55, 0.8)))


def paint_hashtag_graphic(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A hashtag in huge type (#8M, #25N, #NiUnaMenos …), the message under it, a date line, sometimes ♀."""
    w, h = job.width, job.height
    is_25n = "25" in job.headline
    base = d.pick(
        rng, (*d.PURPLES, *d.DARKS[:2], *d.PINKS[:2], d.GREENS[0], *(d.ORANGES if is_25n else d.PURPLES[:2]))
    )
    base = d.jitter(rng, base, 12)
    style = rng.random()
    if style < 0.15:
        img = _faded_photo(rng, w, h, base)
    elif style < 0.45:
        img = d.linear_gradient(
            w,
            h,
            base,
            d.jitter(rng, d.pick(rng, (*d.PURPLES, *d.PINKS, *d.ORANGES)), 10),
            horizontal=bool(rng.random() < 0.5),
        )
    else:
        img = d.solid(w, h, base)
        if rng.random() < 0.3:  # diagonal split
            ImageDraw.Draw(img).polygon(
                [(0, h), (w, h * rng.uniform(0.3, 0.8)), (w, h)],
                fill=d.jitter(rng, d.pick(rng, (*d.DARKS, *d.PURPLES)), 10),
            )
    draw = ImageDraw.Draw(img)
    fill = d.text_color_on(rng, base)
    margin = w * 0.06
    main_top, main_bottom = h * 0.18, h * (0.5 if job.body else 0.62)
    if rng.random() < 0.3:
        d.draw_venus(draw, w / 2, h * 0.1, h * 0.06, fill, max(2, w // 50))
        main_top = h * 0.28
    d.draw_text_block(
        draw,
        job.headline,
        (margin, main_top, w - margin, main_bottom),
        "bold",
        fill,
        max_size=int(h * 0.4),
        stroke=int(rng.integers(0, 2)),
        stroke_fill=d.DARKS[0],
    )
    y = main_bottom + h * 0.04
    if job.body:  # the message, under the hashtag
        box = (margin, main_bottom + h * 0.02, w - margin, main_bottom + h * 0.2)
        y = d.draw_text_block(draw, job.body[0], box, "bold", fill, max_size=int(h * 0.075)) + h * 0.03
    if rng.random() < 0.65:
        when = (
            "november"
            if is_25n
            else "march"
            if any(k in job.headline for k in ("8M", "9M", "Nosotras", "Paro"))
            else "any"
        )
        line = d.pick(rng, vocab.HASHTAG_DATE_LINES[when])
        y = d.draw_text_block(
            draw, line, (margin, y, w - margin, y + h * 0.14), "bold", fill, max_size=int(h * 0.07)
        )
    if rng.random() < 0.3:
        tags = " ".join(sorted({d.pick(rng, vocab.GRAPHIC_HASHTAGS[k]) for k in vocab.SEARCH_TAGS[:4]}))
        d.draw_text_block(
            draw, tags, (margin, y + h * 0.02, w - margin, h * 0.95), "sans", fill, max_size=int(h * 0.05)
        )
    elif rng.random() < 0.3:
        _handle(draw, rng, job, fill)
    return img


def paint_missing_person_poster(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A search poster: red/black header, a photo box, name, age, date, place, the message, a phone number."""
    w, h = job.width, job.height
    img = d.solid(w, h, d.jitter(rng, d.pick(rng, ((255, 255, 255), (255, 253, 231), (250, 248, 240))), 4))
    draw = ImageDraw.Draw(img)
    band = d.jitter(rng, d.pick(rng, (*d.REDS, d.DARKS[0], d.PURPLES[0], d.ORANGES[3])), 8)
    band_h = h * rng.uniform(0.13, 0.19)
    draw.rectangle((0, 0, w, band_h), fill=band)
    d.draw_text_block(
        draw,
        job.headline,
        (w * 0.05, band_h * 0.1, w * 0.95, band_h * 0.9),
        "bold",
        (255, 255, 255),
        max_size=int(band_h * 0.6),
    )
    side_layout = rng.random() < 0.5
    if side_layout:
        pw, ph = int(w * 0.42), int(h * 0.42)
        px, py = int(w * 0.05), int(band_h + h * 0.04)
        text_box = (px + pw + w * 0.04, py, w * 0.95, py + ph)
    else:
        pw, ph = int(w * 0.42), int(h * 0.36)
        px, py = int((w - pw) / 2), int(band_h + h * 0.03)
        text_box = (w * 0.06, py + ph + h * 0.02, w * 0.94, h * (0.76 if job.body else 0.86))
    photo = paint_photo_portrait(rng, PaintJob(pw, ph))
    if rng.random() < 0.25:
        photo = photo.convert("L").convert("RGB")
    img.paste(photo, (px, py))
    draw.rectangle((px, py, px + pw, py + ph), outline=(30, 30, 30), width=max(1, w // 128))
    age = int(rng.integers(13, 35))
    day, month, year = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(2019, 2022))
    details = (
        f"{job.subject or d.pick(rng, vocab.FIRST_NAMES)}\n"
        f"Edad: {age} años\nFecha de desaparición: {day:02d}/{month:02d}/{year}\n"
        f"Lugar: {d.pick(rng, vocab.PLACES)}\nSeñas particulares: {d.pick(rng, vocab.DISTINGUISHING_MARKS)}"
    )
    x0, y0, x1, y1 = text_box
    lines = details.split("\n")
    first_bottom = d.draw_text_block(
        draw,
        lines[0],
        (x0, y0, x1, y0 + (y1 - y0) * 0.3),
        "bold",
        (20, 20, 20),
        max_size=int(h * 0.07),
        align="left",
        valign="top",
    )
    d.draw_text_block(
        draw,
        "\n".join(lines[1:]),
        (x0, first_bottom + 2, x1, y1),
        "sans",
        (40, 40, 40),
        max_size=int(h * 0.045),
        align="left",
        valign="top",
    )
    if job.body:  # the message, in the strip above the phone band
        message_top = y1 + h * 0.01
        d.draw_text_block(
            draw,
            job.body[0],
            (w * 0.05, message_top, w * 0.95, h * 0.87),
            "bold",
            band,
            max_size=int(h * 0.05),
        )
    phone = f"55 {rng.integers(1000, 9999)} {rng.integers(1000, 9999)}"
    draw.rectangle((0, h * 0.88, w, h), fill=band)
    d.draw_text_block(
        draw,
        f"Si tienes información comunícate al {phone}",
        (w * 0.04, h * 0.89, w * 0.96, h * 0.99),
        "bold",
        (255, 255, 255),
        max_size=int(h * 0.045),
    )
    return img


INSET_PAINTERS = (
    paint_photo_protest,
    paint_photo_protest,
    paint_photo_portrait,
    paint_landmark,
    paint_illustration,
)


def paint_purple_overlay(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A coloured (mostly purple) card with an inset picture and overlaid text."""
    w, h = job.width, job.height
    base = d.jitter(rng, d.pick(rng, (*d.PURPLES, *d.PURPLES, d.GREENS[0], d.DARKS[0], d.PINKS[0])), 12)
    img = d.solid(w, h, base)
    draw = ImageDraw.Draw(img)
    inset_painter = d.pick(rng, INSET_PAINTERS)
    layout = d.pick(rng, ("top", "bottom", "full", "circle"))
    fill = (255, 255, 255) if rng.random() < 0.8 else (255, 235, 59)
    if layout == "full":  # the picture fills the card under a colour wash, text on top
        photo = inset_painter(rng, PaintJob(w, h))
        img = Image.blend(photo, img, float(rng.uniform(0.35, 0.6)))
        draw = ImageDraw.Draw(img)
        text_box = (w * 0.08, h * 0.25, w * 0.92, h * 0.75)
    elif layout == "circle":
        size = int(min(w, h) * rng.uniform(0.45, 0.6))
        photo = inset_painter(rng, PaintJob(size, size))
        mask = Image.new("L", (size, size), 0)
        ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), fill=255)
        img.paste(photo, (int((w - size) / 2), int(h * 0.08)), mask)
        text_box = (w * 0.08, h * 0.08 + size + h * 0.03, w * 0.92, h * 0.95)
    else:
        iw, ih = int(w * rng.uniform(0.75, 0.9)), int(h * rng.uniform(0.45, 0.58))
        photo = inset_painter(rng, PaintJob(iw, ih))
        ix = int((w - iw) / 2)
        iy = int(h * 0.06) if layout == "top" else int(h * 0.94) - ih
        border = max(1, w // 64)
        draw.rectangle((ix - border, iy - border, ix + iw + border, iy + ih + border), fill=(255, 255, 255))
        img.paste(photo, (ix, iy))
        text_box = (
            (w * 0.08, iy + ih + h * 0.04, w * 0.92, h * 0.95)
            if layout == "top"
            else (w * 0.08, h * 0.05, w * 0.92, iy - h * 0.04)
        )
    if job.headline:  # a hashtag card says its message on the line below the hashtag
        d.draw_text_block(
            draw,
            "\n".join((job.headline, *job.body)),
            text_box,
            "bold",
            fill,
            max_size=int(h * 0.12),
            stroke=1 if layout == "full" else 0,
            stroke_fill=d.DARKS[0],
        )
    if rng.random() < 0.3:
        _handle(draw, rng, job, fill)
    return img
