#!/usr/bin/env python3
"""Writes tests/data/pil_resize/: an 8-bit RGB input and its resizes by PIL's
Image.resize(..., Image.BICUBIC), the call the reference's data/base_dataset.py makes
(transforms.Resize with InterpolationMode.BICUBIC on a PIL image ends in it).
tests/pil_resize.rs compares our resize to these pixels exactly.

    pip install pillow && python3 scripts/make_pil_resize_fixture.py
"""
import os
import random

from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "pil_resize")
# (width, height) of the outputs: down, up, one axis only, mixed.
SIZES = [(32, 32), (64, 50), (41, 20), (20, 37), (29, 53), (7, 5)]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(16)
    w, h = 41, 37
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            # Smooth ramps plus hard edges and noise: exercises rounding and clipping.
            base = (x * 6, y * 7, (x + y) * 3)
            edge = 255 if (x // 5 + y // 4) % 2 else 0
            px[x, y] = tuple(
                max(0, min(255, (b + edge + rng.randint(-40, 40)) // 2 if c != 2 else edge ^ rng.randint(0, 255)))
                for c, b in enumerate(base)
            )
    img.save(os.path.join(OUT, "input.png"))
    for sw, sh in SIZES:
        img.resize((sw, sh), Image.BICUBIC).save(os.path.join(OUT, f"bicubic_{sw}x{sh}.png"))
    print("PIL", Image.__version__ if hasattr(Image, "__version__") else "", "->", os.path.abspath(OUT))


if __name__ == "__main__":
    main()
