"""Draw the example site's pictures: original, abstract TV-news graphics made with Pillow.

The example site (content/ at the repository's top) shows the newsroom theme off with lead
pictures, a video poster and author portraits. They are drawn here rather than taken from
anywhere, so the repository owns every pixel; no text is drawn, so no font is needed and the
same script gives the same pictures on any machine with Pillow.

    python tools/make_example_images.py          # writes static/images/stories/*.jpg
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "static" / "images" / "stories"
W, H = 1600, 900
Colour = tuple[int, int, int]


def gradient(top: Colour, bottom: Colour, size: tuple[int, int] = (W, H)) -> Image.Image:
    """A vertical gradient, drawn one row at a time."""
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(size[1]):
        t = y / (size[1] - 1)
        draw.line([(0, y), (size[0], y)], fill=tuple(round(a + (b - a) * t)
                                                     for a, b in zip(top, bottom, strict=True)))
    return image


def glow(image: Image.Image, shapes: Callable[[ImageDraw.ImageDraw], None],
         radius: int = 40) -> Image.Image:
    """`shapes` drawn twice: blurred (a glow) and sharp on top."""
    layer = Image.new("RGB", image.size)
    shapes(ImageDraw.Draw(layer))
    blurred = layer.filter(ImageFilter.GaussianBlur(radius))
    out = Image.composite(image, image, Image.new("L", image.size, 0))
    out = Image.blend(out, Image.eval(Image.composite(blurred, out, blurred.convert("L")),
                                      lambda v: v), 0.6)
    shapes(ImageDraw.Draw(out))
    return out


def hallway(rng: random.Random) -> Image.Image:
    """A corridor in one-point perspective with four coloured doors: a team-up."""
    image = gradient((24, 22, 30), (70, 60, 62))
    draw = ImageDraw.Draw(image)
    vx, vy = W // 2, H // 2 - 40
    for i in range(14):
        t = i / 14
        x0, y0 = round(vx - (vx + 200) * (1 - t)), round(vy - (vy + 200) * (1 - t))
        x1, y1 = round(vx + (W - vx + 200) * (1 - t)), round(vy + (H - vy + 200) * (1 - t))
        draw.rectangle([x0, y0, x1, y1], outline=(120, 110, 100), width=3)
    for corner in ((0, 0), (W, 0), (0, H), (W, H)):
        draw.line([corner, (vx, vy)], fill=(140, 130, 115), width=3)
    doors = [(203, 34, 40), (234, 182, 40), (120, 60, 160), (40, 160, 90)]
    for n, colour in enumerate(doors):
        side = -1 if n % 2 == 0 else 1
        depth = 0.25 + 0.22 * (n // 2)
        x = vx + side * (vx * (1 - depth))
        top, bottom = vy - 260 * (1 - depth), vy + 330 * (1 - depth)
        width = 120 * (1 - depth)
        draw.polygon([(x, top), (x + side * width, top + 30 * (1 - depth)),
                      (x + side * width, bottom - 20 * (1 - depth)), (x, bottom)], fill=colour)
    return glow(image, lambda d: d.ellipse([vx - 60, vy - 60, vx + 60, vy + 60],
                                           fill=(255, 236, 200)), 80)


def rising_sun(rng: random.Random) -> Image.Image:
    """A red sun over layered blue mountains."""
    image = gradient((250, 226, 196), (236, 168, 130))
    draw = ImageDraw.Draw(image)
    draw.ellipse([W * 0.58, H * 0.12, W * 0.58 + 380, H * 0.12 + 380], fill=(196, 30, 42))
    for layer, colour in enumerate([(92, 110, 140), (62, 78, 110), (38, 48, 76), (22, 28, 48)]):
        base = H * (0.55 + layer * 0.12)
        points = [(0, H)]
        for x in range(0, W + 100, 100):
            points.append((x, base - rng.randint(20, 140) * (1 - layer * 0.2)))
        points.append((W, H))
        draw.polygon(points, fill=colour)
    return image


def tv_set(rng: random.Random, screen: Colour = (40, 120, 220)) -> Image.Image:
    """An old television on a sideboard against a painted wall, its screen glowing."""
    image = gradient((226, 214, 190), (196, 180, 152))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, H * 0.78, W, H], fill=(96, 62, 40))
    draw.rectangle([0, H * 0.78, W, H * 0.8], fill=(120, 80, 52))
    x0, y0, x1, y1 = W * 0.3, H * 0.18, W * 0.7, H * 0.74
    draw.rounded_rectangle([x0, y0, x1, y1], radius=48, fill=(52, 44, 40))
    sx0, sy0, sx1, sy1 = x0 + 60, y0 + 55, x1 - 170, y1 - 60
    screen_image = gradient(tuple(min(255, c + 60) for c in screen), screen,
                            (round(sx1 - sx0), round(sy1 - sy0)))
    mask = Image.new("L", screen_image.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, *screen_image.size], radius=40, fill=255)
    image.paste(screen_image, (round(sx0), round(sy0)), mask)
    for k in range(2):
        cx, cy = x1 - 85, y0 + 120 + k * 110
        draw.ellipse([cx - 32, cy - 32, cx + 32, cy + 32], fill=(150, 130, 100))
    draw.line([(W * 0.5, y0), (W * 0.42, H * 0.02)], fill=(60, 60, 60), width=6)
    draw.line([(W * 0.5, y0), (W * 0.6, H * 0.03)], fill=(60, 60, 60), width=6)
    for leg in (x0 + 80, x1 - 80):
        draw.line([(leg, y1), (leg + (30 if leg > W / 2 else -30), H * 0.8)], fill=(40, 34, 30),
                  width=14)
    return image


def colour_bars(rng: random.Random) -> Image.Image:
    """A test card's colour bars, tilted and overlapping like a title sequence."""
    image = Image.new("RGB", (W, H), (18, 18, 22))
    bars = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192),
            (192, 0, 0), (0, 0, 192)]
    layer = Image.new("RGB", (W * 2, H * 2), (18, 18, 22))
    draw = ImageDraw.Draw(layer)
    step = W * 2 // len(bars)
    for i, colour in enumerate(bars):
        draw.rectangle([i * step, 0, (i + 1) * step, H * 2], fill=colour)
    layer = layer.rotate(-12, resample=Image.Resampling.BICUBIC, fillcolor=(18, 18, 22))
    image.paste(layer.crop((W // 2, H // 2, W // 2 + W, H // 2 + H)))
    ImageDraw.Draw(image).rectangle([0, H * 0.72, W, H], fill=(18, 18, 22))
    for i in range(24):
        shade = 30 + i * 9
        ImageDraw.Draw(image).rectangle([i * W / 24, H * 0.76, (i + 1) * W / 24, H * 0.9],
                                        fill=(shade, shade, shade))
    return image


def skyline(rng: random.Random, sky: tuple[Colour, Colour], lit: Colour) -> Image.Image:
    """A city at night: blocks of buildings with lit windows."""
    image = gradient(*sky)
    draw = ImageDraw.Draw(image)
    x = -20
    while x < W:
        width = rng.randint(90, 200)
        top = rng.randint(int(H * 0.3), int(H * 0.7))
        draw.rectangle([x, top, x + width, H], fill=(16, 16, 26))
        for wy in range(top + 20, H - 20, 34):
            for wx in range(x + 14, x + width - 20, 30):
                if rng.random() < 0.35:
                    draw.rectangle([wx, wy, wx + 14, wy + 18], fill=lit)
        x += width + rng.randint(4, 16)
    return image


def fairy_lights(rng: random.Random) -> Image.Image:
    """Strings of coloured bulbs on a dark floral wall."""
    image = gradient((30, 26, 34), (14, 12, 18))
    colours = [(255, 70, 60), (255, 200, 60), (80, 200, 255), (120, 255, 120), (255, 120, 220)]

    def bulbs(draw: ImageDraw.ImageDraw) -> None:
        for row in range(3):
            sag = 120 + row * 30
            base = 160 + row * 250
            points = [(x, base + sag * math.sin(math.pi * x / W)) for x in range(0, W + 1, 20)]
            draw.line(points, fill=(70, 60, 50), width=4)
            for i, x in enumerate(range(60, W, 110)):
                y = base + sag * math.sin(math.pi * x / W)
                draw.ellipse([x - 16, y + 4, x + 16, y + 44], fill=colours[(i + row) % 5])

    return glow(image, bulbs, 30)


def calendar(rng: random.Random) -> Image.Image:
    """A wall planner: a grid of days, some marked in show colours."""
    image = gradient((238, 236, 230), (220, 216, 206))
    draw = ImageDraw.Draw(image)
    marks = [(203, 34, 40), (234, 182, 40), (120, 60, 160), (40, 160, 90)]
    cols, rows = 7, 5
    x0, y0, cw, ch = 130, 110, 190, 140
    draw.rectangle([x0 - 20, y0 - 60, x0 + cols * cw + 20, y0 - 20], fill=(40, 40, 48))
    for r in range(rows):
        for c in range(cols):
            box = [x0 + c * cw, y0 + r * ch, x0 + (c + 1) * cw - 10, y0 + (r + 1) * ch - 10]
            draw.rectangle(box, fill=(255, 255, 255), outline=(200, 196, 186), width=2)
            if rng.random() < 0.3:
                colour = rng.choice(marks)
                draw.rectangle([box[0] + 14, box[3] - 40, box[2] - 14 - rng.randint(0, 80),
                                box[3] - 16], fill=colour)
    return image


def ratings_chart(rng: random.Random) -> Image.Image:
    """Bars rising left to right, the office's ratings chart."""
    image = gradient((20, 40, 70), (10, 20, 40))
    draw = ImageDraw.Draw(image)
    for y in range(150, H - 100, 100):
        draw.line([(120, y), (W - 120, y)], fill=(50, 70, 100), width=2)
    value = 0.3
    for i in range(12):
        value = min(0.95, max(0.15, value + rng.uniform(-0.12, 0.18)))
        x = 160 + i * 110
        draw.rectangle([x, H - 100 - value * (H - 250), x + 70, H - 100],
                       fill=(255, 190, 60) if i == 11 else (90, 170, 240))
    return image


def meadow(rng: random.Random) -> Image.Image:
    """Rolling green hills under a sky with a sun: the poster for an open animated short."""
    image = gradient((120, 180, 240), (200, 230, 250))
    draw = ImageDraw.Draw(image)
    draw.ellipse([W * 0.72, H * 0.1, W * 0.72 + 170, H * 0.1 + 170], fill=(255, 214, 80))
    for k, colour in enumerate([(86, 160, 70), (60, 130, 52), (40, 100, 40)]):
        base = H * (0.55 + 0.13 * k)
        points = [(0, H)] + [(x, base + 50 * math.sin(x / (180 + 40 * k) + k * 2))
                             for x in range(0, W + 1, 20)] + [(W, H)]
        draw.polygon(points, fill=colour)
    for _ in range(40):
        x, y = rng.randint(0, W), rng.randint(int(H * 0.7), H)
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=rng.choice([(255, 255, 255),
                                                                     (255, 230, 90)]))
    return image


def portrait(rng: random.Random, background: Colour, clothes: Colour) -> Image.Image:
    """A head-and-shoulders silhouette on a plain colour, for an author's avatar."""
    size = 320
    image = gradient(background, tuple(max(0, c - 40) for c in background), (size, size))
    draw = ImageDraw.Draw(image)
    draw.ellipse([60, 230, 260, 430], fill=clothes)
    draw.ellipse([105, 70, 215, 195], fill=(236, 206, 176) if rng.random() < 0.5 else
                 (150, 104, 74))
    return image


PICTURES: dict[str, Callable[[random.Random], Image.Image]] = {
    "defenders-hallway": hallway,
    "rising-sun": rising_sun,
    "shield-tv": lambda rng: tv_set(rng, (30, 70, 160)),
    "colour-bars": colour_bars,
    "harlem-night": lambda rng: skyline(rng, ((40, 20, 60), (200, 90, 60)), (255, 210, 120)),
    "rooftops-red": lambda rng: skyline(rng, ((60, 6, 10), (150, 30, 30)), (255, 120, 90)),
    "fairy-lights": fairy_lights,
    "wall-planner": calendar,
    "ratings-chart": ratings_chart,
    "meadow-poster": meadow,
    "noir-tv": lambda rng: tv_set(rng, (110, 40, 140)),
}
PORTRAITS = {
    "dana-whitfield": ((186, 38, 30), (30, 30, 40)),
    "marcus-oyelaran": ((30, 90, 150), (230, 230, 230)),
    "zoe-muller": ((40, 130, 90), (60, 40, 90)),
}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, draw in PICTURES.items():
        image = draw(random.Random(name))
        image.save(OUT / f"{name}.jpg", "JPEG", quality=70, optimize=True, progressive=True)
    authors = OUT.parent / "authors"
    authors.mkdir(exist_ok=True)
    for name, (background, clothes) in PORTRAITS.items():
        image = portrait(random.Random(name), background, clothes).resize((160, 160))
        image.save(authors / f"{name}.jpg", "JPEG", quality=80, optimize=True)
    total = sum(p.stat().st_size for p in OUT.parent.rglob("*.jpg"))
    print(f"{len(PICTURES)} pictures and {len(PORTRAITS)} portraits, {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
