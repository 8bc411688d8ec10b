"""Deterministic pictures: the same prompt, seed and size always give the same PNG."""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw, ImageOps


def render_png(prompt: str, seed: int, width: int, height: int, grain: int = 24) -> bytes:
    """A gradient with shapes and fine grain (so it compresses like a real image)."""
    digest = hashlib.sha256(f"{seed}|{prompt}".encode()).digest()
    rng = random.Random(digest)
    dark, light = _colour(digest[0:3], 0.35), _colour(digest[3:6], 1.0)
    gradient = Image.linear_gradient("L").rotate(digest[6] % 360).resize((width, height))
    image = ImageOps.colorize(gradient, dark, light).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(3 + digest[7] % 5):
        box = (
            sorted(rng.randrange(width) for _ in range(2)),
            sorted(rng.randrange(height) for _ in range(2)),
        )
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((box[0][0], box[1][0], box[0][1], box[1][1]), fill=_colour(rng.randbytes(3), 0.9))
    if grain:
        noise = Image.frombytes("L", (width, height), rng.randbytes(width * height))
        image = Image.blend(image, Image.merge("RGB", (noise, noise, noise)), grain / 255)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _colour(raw: bytes, brightness: float) -> tuple[int, int, int]:
    red, green, blue = (int(b * brightness) for b in raw[:3])
    return red, green, blue
