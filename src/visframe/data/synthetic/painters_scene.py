"""Painters for the picture genres: protest photos, portraits, landmarks and flat illustrations.

Each painter is `paint(rng, job) -> PIL.Image` of exactly `job.width × job.height`. They share palettes,
figures and text with the text genres on purpose (banners with slogans, purple smoke, purple
backgrounds behind drawings): the real corpus is a continuum, not separable blobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from visframe.data.synthetic import drawing as d


@dataclass(frozen=True)
class PaintJob:
    """What a painter needs to know about the image it paints."""

    width: int
    height: int
    headline: str = ""  # the main text drawn in the image (slogan, hashtag, title), "" for none
    account: str = ""  # the posting account, for handles and signatures drawn in the image
    subject: str = ""  # the person a search poster is about
    body: tuple[str, ...] = ()  # text beside the headline: a message line, a communiqué's sentences


def _crowd(
    draw: ImageDraw.ImageDraw,
    rng: np.random.Generator,
    w: int,
    h: int,
    horizon: float,
    density: float = 1.0,
    night: bool = False,
) -> None:
    """Rows of people from the horizon (small, many) to the bottom edge (large, few)."""
    rows = int(rng.integers(5, 10))
    for r in range(rows):
        t = (r + 1) / rows
        feet = horizon + (h * 1.15 - horizon) * t
        height = h * (0.08 + 0.5 * t**1.6)
        count = max(2, int(density * w / (height * 0.33) * rng.uniform(0.6, 1.0)))
        for _ in range(count):
            clothing = d.jitter(rng, d.pick(rng, d.CLOTHES), 18)
            if night:
                clothing = tuple(int(c * 0.45) for c in clothing)
            skin = d.pick(rng, d.SKINS)
            if night:
                skin = tuple(int(c * 0.55) for c in skin)
            d.draw_person(
                draw,
                rng,
                float(rng.uniform(-0.05, 1.05) * w),
                feet + rng.normal(0, h * 0.01),
                height * rng.uniform(0.85, 1.1),
                clothing,
                skin,
                d.pick(rng, d.HAIRS),
                raised_arm=bool(rng.random() < 0.18),
            )


def _banner(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int, text: str, y_center: float
) -> None:
    bg = d.pick(rng, ((245, 245, 240), (245, 245, 240), d.PURPLES[0], d.DARKS[0], d.GREENS[0], d.PINKS[0]))
    bw = w * rng.uniform(0.5, 0.95)
    bh = h * rng.uniform(0.12, 0.22)
    x0 = rng.uniform(-0.05 * w, w - bw + 0.05 * w)
    y0 = y_center - bh / 2
    draw.rectangle((x0, y0, x0 + bw, y0 + bh), fill=d.jitter(rng, bg, 10))
    for pole in (x0 + bw * 0.05, x0 + bw * 0.95):
        draw.line((pole, y0 + bh, pole, y0 + bh + h * 0.12), fill=(90, 70, 50), width=max(1, w // 128))
    fill = d.text_color_on(rng, bg) if rng.random() < 0.7 else d.pick(rng, (d.PURPLES[0], d.REDS[0]))
    if d.luminance(fill) > 200 and d.luminance(bg) > 200:
        fill = d.PURPLES[3]
    pad = bh * 0.1
    d.draw_text_block(
        draw,
        text,
        (x0 + pad, y0 + pad, x0 + bw - pad, y0 + bh - pad),
        d.pick(rng, ("bold", "bold", "sans")),
        fill,
        max_size=int(bh * 0.6),
        min_size=5,
    )


def _smoke(img: Image.Image, rng: np.random.Generator, colors: tuple[d.Color, ...]) -> Image.Image:
    """Coloured smoke (bengalas moradas/verdes) drawn small, blurred by upsampling, alpha-blended."""
    w, h = img.size
    sw, sh = max(8, w // 8), max(8, h // 8)
    layer = Image.new("RGBA", (sw, sh), (0, 0, 0, 0))
    ld = ImageDraw.Draw(layer)
    color = d.pick(rng, colors)
    for _ in range(int(rng.integers(3, 8))):
        cx, cy, r = rng.uniform(0, sw), rng.uniform(0, sh * 0.8), rng.uniform(sw * 0.12, sw * 0.4)
        ld.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*color, int(rng.integers(90, 190))))
    layer = layer.filter(ImageFilter.GaussianBlur(2)).resize((w, h), Image.BICUBIC)
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def paint_photo_protest(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A street march: buildings or sky above, a crowd below, sometimes banners, smoke or candles."""
    w, h = job.width, job.height
    night = rng.random() < 0.2
    horizon = h * rng.uniform(0.25, 0.55)
    if night:
        img = d.smooth_field(rng, w, h, ((20, 20, 40), (40, 30, 60), (60, 50, 40), (15, 15, 25)), cells=6)
    else:
        sky = d.linear_gradient(w, h, d.jitter(rng, (170, 195, 220), 25), d.jitter(rng, (220, 220, 215), 15))
        buildings = d.smooth_field(
            rng,
            w,
            h,
            ((150, 140, 130), (190, 180, 160), (120, 110, 105), (200, 190, 180), (170, 120, 100)),
            cells=int(rng.integers(4, 9)),
        )
        mask = Image.new("L", (w, h), 0)
        md = ImageDraw.Draw(mask)
        facades = []
        x = 0.0
        while x < w:
            bw = w * rng.uniform(0.12, 0.35)
            top = horizon - h * rng.uniform(0.05, 0.4)
            md.rectangle((x, top, x + bw, h), fill=255)
            facades.append((x, top, bw))
            x += bw
        img = Image.composite(buildings, sky, mask)
        wd = ImageDraw.Draw(img)
        for x0, top, bw in facades:  # rows of windows
            if rng.random() < 0.6:
                win = max(2.0, w * 0.025)
                shade = d.jitter(rng, (70, 75, 85), 15)
                for wy in np.arange(top + win, horizon - win, win * 2.2):
                    for wx in np.arange(x0 + win * 0.7, x0 + bw - win, win * 2):
                        wd.rectangle((wx, wy, wx + win, wy + win * 1.2), fill=shade)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, horizon, w, h), fill=d.jitter(rng, (95, 95, 100) if not night else (30, 30, 35), 12))
    _crowd(draw, rng, w, h, horizon, density=float(rng.uniform(0.7, 1.4)), night=night)
    if job.headline:
        _banner(draw, rng, w, h, job.headline, h * rng.uniform(0.5, 0.8))
    if night and rng.random() < 0.7:
        for _ in range(int(rng.integers(10, 40))):
            cx, cy = rng.uniform(0, w), rng.uniform(horizon, h)
            r = rng.uniform(1, 3) * w / 256
            draw.ellipse((cx - r * 3, cy - r * 3, cx + r * 3, cy + r * 3), fill=(120, 80, 30))
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 220, 140))
    if rng.random() < 0.25:
        img = _smoke(img, rng, (d.PURPLES[4], d.GREENS[0], d.PINKS[2], (200, 200, 200)))
    return d.photo_finish(img, rng, grain=(5, 14), blur=float(rng.uniform(0.2, 0.8)))


def paint_photo_portrait(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A close, selfie-like portrait: blurred background, face and shoulders, march accessories."""
    w, h = job.width, job.height
    palette = d.pick(
        rng,
        (
            ((120, 140, 90), (90, 110, 130), (200, 200, 190), (60, 80, 60)),
            (d.PURPLES[0], d.PURPLES[5], (200, 180, 220), (60, 40, 80)),
            ((170, 160, 150), (120, 110, 100), (220, 210, 200), (90, 90, 95)),
        ),
    )
    img = d.soften(d.smooth_field(rng, w, h, palette, cells=int(rng.integers(3, 7))), 4)
    draw = ImageDraw.Draw(img)
    if rng.random() < 0.3:  # a friend in the back of the selfie
        d.draw_face(
            draw,
            rng,
            rng.uniform(0.1, 0.9) * w,
            h * rng.uniform(0.3, 0.45),
            w * 0.12,
            d.pick(rng, d.SKINS),
            d.pick(rng, d.HAIRS),
        )
    cx = w * rng.uniform(0.38, 0.62)
    cy = h * rng.uniform(0.36, 0.5)
    rx = w * rng.uniform(0.15, 0.25)
    skin = d.jitter(rng, d.pick(rng, d.SKINS), 8)
    hair = d.pick(rng, d.HAIRS)
    clothing = d.jitter(rng, d.pick(rng, d.CLOTHES), 15)
    draw.ellipse((cx - rx * 2.6, cy + rx * 1.7, cx + rx * 2.6, cy + rx * 5.0), fill=clothing)
    draw.rectangle((cx - rx * 0.4, cy + rx, cx + rx * 0.4, cy + rx * 2.0), fill=skin)
    if rng.random() < 0.35:  # pañuelo (green or purple) tied at the neck
        scarf = d.pick(rng, (d.GREENS[0], d.PURPLES[2], d.PURPLES[4]))
        draw.polygon(
            [(cx - rx * 1.1, cy + rx * 1.55), (cx + rx * 1.1, cy + rx * 1.55), (cx, cy + rx * 2.7)],
            fill=scarf,
        )
    d.draw_face(draw, rng, cx, cy, rx, skin, hair, long_hair=bool(rng.random() < 0.75))
    if rng.random() < 0.3:  # purple paint on the cheek
        side = d.pick(rng, (-1, 1))
        for k in range(3):
            y = cy + rx * (0.3 + k * 0.12)
            draw.line(
                (cx + side * rx * 0.45, y, cx + side * rx * 0.8, y),
                fill=d.PURPLES[4],
                width=max(1, int(rx * 0.06)),
            )
    if rng.random() < 0.15:  # sunglasses
        for side in (-1, 1):
            ex = cx + side * rx * 0.38
            draw.ellipse((ex - rx * 0.28, cy - rx * 0.12, ex + rx * 0.28, cy + rx * 0.28), fill=(20, 20, 25))
    if job.headline:  # a hand-held sign
        sx0, sy0 = w * rng.uniform(0.02, 0.3), h * rng.uniform(0.68, 0.78)
        draw.rectangle((sx0, sy0, sx0 + w * 0.62, h * 0.98), fill=d.jitter(rng, (240, 235, 225), 10))
        d.draw_text_block(
            draw,
            job.headline,
            (sx0 + 4, sy0 + 3, sx0 + w * 0.62 - 4, h * 0.98 - 3),
            "bold",
            d.pick(rng, ((20, 20, 20), d.PURPLES[3], d.REDS[0])),
            max_size=h // 8,
            min_size=5,
        )
    light = d.linear_gradient(w, h, (255, 250, 240), (40, 40, 50), horizontal=True)
    if rng.random() < 0.5:
        light = light.transpose(Image.FLIP_LEFT_RIGHT)
    img = Image.blend(img, light, float(rng.uniform(0.05, 0.2)))
    return d.photo_finish(img, rng, grain=(3, 10), blur=float(rng.uniform(0.3, 0.9)))


def _monument(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int, ground: float, color: d.Color
) -> str:
    kind = d.pick(rng, ("angel", "dome", "towers", "antimonumenta", "skyline"))
    cx = w * rng.uniform(0.35, 0.65)
    if kind == "angel":  # a tall column with a gilded figure on top
        col_w = w * 0.05
        top = h * rng.uniform(0.12, 0.25)
        draw.rectangle((cx - w * 0.16, ground - h * 0.12, cx + w * 0.16, ground), fill=color)
        draw.rectangle((cx - col_w, top, cx + col_w, ground - h * 0.12), fill=color)
        draw.polygon(
            [
                (cx, top - h * 0.1),
                (cx - w * 0.07, top - h * 0.02),
                (cx + w * 0.07, top - h * 0.04),
                (cx + w * 0.02, top),
            ],
            fill=(212, 175, 55),
        )
    elif kind == "dome":  # a palace with a central dome
        draw.rectangle((cx - w * 0.4, ground - h * 0.25, cx + w * 0.4, ground), fill=color)
        draw.pieslice(
            (cx - w * 0.18, ground - h * 0.5, cx + w * 0.18, ground - h * 0.18),
            180,
            360,
            fill=d.jitter(rng, (190, 150, 60), 20),
        )
        for k in range(7):
            x = cx - w * 0.36 + k * w * 0.12
            draw.rectangle((x, ground - h * 0.22, x + w * 0.03, ground - h * 0.02), fill=(60, 55, 50))
    elif kind == "towers":  # a cathedral: two bell towers and a nave
        draw.rectangle((cx - w * 0.3, ground - h * 0.3, cx + w * 0.3, ground), fill=color)
        for side in (-1, 1):
            tx = cx + side * w * 0.22
            draw.rectangle((tx - w * 0.07, ground - h * 0.55, tx + w * 0.07, ground), fill=color)
            draw.pieslice(
                (tx - w * 0.07, ground - h * 0.65, tx + w * 0.07, ground - h * 0.45), 180, 360, fill=color
            )
    elif kind == "antimonumenta":  # the purple ♀ with a raised fist
        d.draw_venus(
            draw,
            cx,
            ground - h * 0.62,
            w * 0.14,
            d.jitter(rng, d.PURPLES[4], 15),
            max(3, w // 28),
            fist=d.PURPLES[4],
        )
    else:
        x = 0.0
        while x < w:
            bw = w * rng.uniform(0.08, 0.2)
            draw.rectangle(
                (x, ground - h * rng.uniform(0.15, 0.6), x + bw, ground), fill=d.jitter(rng, color, 20)
            )
            x += bw
    return kind


def paint_landmark(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A monument against the sky; sometimes the painted fences around it or a small crowd."""
    w, h = job.width, job.height
    sky = d.pick(
        rng,
        (
            ((90, 150, 220), (200, 225, 245)),
            ((250, 160, 90), (120, 70, 150)),
            ((15, 20, 60), (60, 50, 110)),
            ((170, 175, 185), (220, 220, 225)),
        ),
    )
    img = d.linear_gradient(w, h, d.jitter(rng, sky[0], 15), d.jitter(rng, sky[1], 15))
    draw = ImageDraw.Draw(img)
    ground = h * rng.uniform(0.72, 0.88)
    draw.rectangle((0, ground, w, h), fill=d.jitter(rng, (150, 145, 140), 20))
    stone = d.jitter(rng, d.pick(rng, ((60, 55, 55), (190, 180, 165), (120, 110, 100), (40, 35, 45))), 12)
    _monument(draw, rng, w, h, ground, stone)
    if job.headline:  # fences (vallas) painted with names and slogans
        fence_top = ground - h * rng.uniform(0.12, 0.2)
        draw.rectangle((0, fence_top, w, ground + h * 0.04), fill=d.jitter(rng, (230, 230, 225), 12))
        for x in range(0, w, max(4, w // 10)):
            draw.line((x, fence_top, x, ground + h * 0.04), fill=(150, 150, 150), width=1)
        d.draw_text_block(
            draw,
            job.headline,
            (w * 0.03, fence_top + 2, w * 0.97, ground + h * 0.03),
            "bold",
            d.pick(rng, (d.PURPLES[2], (20, 20, 20), d.PINKS[0])),
            max_size=h // 10,
        )
    if rng.random() < 0.25:
        _crowd(draw, rng, w, h, ground + h * 0.02, density=0.6)
    return d.photo_finish(img, rng, grain=(3, 10), blur=float(rng.uniform(0.2, 0.7)))


def paint_illustration(rng: np.random.Generator, job: PaintJob) -> Image.Image:
    """A flat vector-like drawing: fists, women's figures, flowers, the ♀ sign, hearts."""
    w, h = job.width, job.height
    bg = d.jitter(rng, d.pick(rng, (*d.PASTELS, *d.PASTELS, *d.PURPLES[:3], d.LIGHTS[2], d.GREENS[3])), 10)
    img = d.solid(w, h, bg)
    draw = ImageDraw.Draw(img)
    palette = [
        d.jitter(rng, c, 12)
        for c in (
            d.pick(rng, d.PURPLES),
            d.pick(rng, d.PINKS),
            d.pick(rng, d.GREENS),
            d.pick(rng, d.ORANGES),
            (30, 20, 40),
        )
    ]
    if rng.random() < 0.3:  # two-tone background
        draw.rectangle((0, h * rng.uniform(0.5, 0.8), w, h), fill=d.jitter(rng, d.pick(rng, d.PASTELS), 10))
    outline = (25, 20, 30) if rng.random() < 0.4 else None
    width = max(1, w // 100) if outline else 0
    motif = d.pick(rng, ("fist", "women", "flowers", "venus", "face", "fist", "women"))
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.4, 0.55)
    if motif == "fist":
        d.draw_fist(draw, cx, cy, min(w, h) * rng.uniform(0.4, 0.6), d.pick(rng, palette), outline, width)
    elif motif == "women":
        n = int(rng.integers(2, 6))
        for k in range(n):
            x = w * (k + 0.5) / n + rng.normal(0, w * 0.02)
            fh = h * rng.uniform(0.45, 0.7)
            feet = h * 0.95
            dress = palette[int(rng.integers(len(palette)))]
            head = fh * 0.12
            draw.polygon(
                [
                    (x - fh * 0.22, feet),
                    (x + fh * 0.22, feet),
                    (x + fh * 0.08, feet - fh * 0.72),
                    (x - fh * 0.08, feet - fh * 0.72),
                ],
                fill=dress,
                outline=outline,
                width=width,
            )
            draw.ellipse(
                (x - fh * 0.2, feet - fh - head * 0.2, x + fh * 0.2, feet - fh * 0.55),
                fill=d.pick(rng, d.HAIRS),
            )
            draw.ellipse(
                (x - head, feet - fh, x + head, feet - fh + head * 2.2),
                fill=d.pick(rng, d.SKINS),
                outline=outline,
                width=width,
            )
            if rng.random() < 0.4:
                d.draw_fist(draw, x + fh * 0.2, feet - fh * 1.05, fh * 0.25, d.pick(rng, d.SKINS))
    elif motif == "venus":
        d.draw_venus(
            draw,
            cx,
            cy - h * 0.1,
            min(w, h) * 0.2,
            d.pick(rng, palette),
            max(3, w // 20),
            fist=d.pick(rng, palette) if rng.random() < 0.6 else None,
        )
    elif motif == "face":  # flat portrait with flowers in the hair
        d.draw_face(draw, rng, cx, cy, w * 0.2, d.pick(rng, d.SKINS), d.pick(rng, d.HAIRS))
        for k in range(int(rng.integers(3, 7))):
            a = np.pi * (1.1 + 0.8 * k / 6)
            d.draw_flower(
                draw,
                cx + np.cos(a) * w * 0.26,
                cy + np.sin(a) * h * 0.3,
                w * 0.06,
                d.pick(rng, palette),
                (250, 220, 90),
            )
    n_flowers = int(rng.integers(0, 8)) if motif != "flowers" else int(rng.integers(8, 18))
    for _ in range(n_flowers):
        d.draw_flower(
            draw,
            rng.uniform(0, w),
            rng.uniform(0, h),
            min(w, h) * rng.uniform(0.03, 0.1),
            d.pick(rng, palette),
            (250, 220, 90),
            int(rng.integers(5, 9)),
        )
    for _ in range(int(rng.integers(0, 4))):
        d.draw_heart(
            draw,
            rng.uniform(0, w),
            rng.uniform(0, h),
            min(w, h) * rng.uniform(0.03, 0.07),
            d.pick(rng, palette),
        )
    if job.headline:
        fill = d.text_color_on(rng, bg)
        y0 = h * (0.02 if rng.random() < 0.5 else 0.8)
        d.draw_text_block(
            draw, job.headline, (w * 0.06, y0, w * 0.94, y0 + h * 0.18), "bold", fill, max_size=h // 9
        )
    return img
