"""Image work with Pillow: verify, keep, annotate, fit to a platform, compose a grid.

Every function here is CPU-bound and synchronous; async callers run them in an image
worker process (`core.images.workers.ImageWorkers`) so the event loop never stalls on a 2048px PNG.
"""

from __future__ import annotations

import base64
import io
import struct
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from core.errors import DownloadError

# Our own ceiling, well under Pillow's bomb limit: the largest legitimate output is 2048x2048.
MAX_PIXELS = 40_000_000
MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
EXTENSION = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
JPEG_QUALITIES = (92, 85, 75, 65)
MIN_FIT_SIDE = 64


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int

    @property
    def mime(self) -> str:
        return MIME.get(self.format, "application/octet-stream")

    @property
    def extension(self) -> str:
        return EXTENSION.get(self.format, self.format.lower())


@dataclass(frozen=True)
class FitRules:
    """What a platform accepts: bytes per file, pixels per side, and width + height."""

    max_bytes: int
    max_side: int = 10_000
    max_side_sum: int = 20_000

    def __post_init__(self) -> None:
        if self.max_bytes < 1024 or self.max_side < MIN_FIT_SIDE:
            raise ValueError("fit rules need max_bytes >= 1024 and max_side >= 64")


@dataclass(frozen=True)
class FittedImage:
    data: bytes
    info: ImageInfo
    changed: bool


def inspect_image(data: bytes, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Say what `data` is; `DownloadError` if it is no whole, sound image of a format we take.

    The pixels are not decoded where the file's own structure proves it whole: a PNG's chunks
    each carry a checksum, checked through IEND (`verify`); a JPEG must end in its EOI marker,
    a WebP fill the size its RIFF header gives. A cut-short or damaged file is refused all
    the same (as a full decode refuses it), at a thirtieth of the cost (bench/). A GIF, rare
    and with nothing to check it by, is decoded.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                info = ImageInfo(probe.format or "?", probe.width, probe.height)
                if info.width * info.height > max_pixels:
                    size = f"{info.width}x{info.height}"
                    raise DownloadError("too_many_pixels", detail=size)
                if info.format not in MIME:
                    raise DownloadError("unsupported_format", detail=info.format)
                probe.verify()  # PNG: every chunk's CRC; the other formats: nothing
            if not _ends_whole(info.format, data):
                raise DownloadError("not_image", detail="truncated")
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DownloadError("too_many_pixels", detail=type(exc).__name__) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DownloadError("not_image", detail=type(exc).__name__) from None
    return info


def _ends_whole(image_format: str, data: bytes) -> bool:
    """Whether the file runs to the end its format marks (a PNG's IEND `verify` has seen)."""
    if image_format == "JPEG":
        return data.rstrip(b"\0").endswith(b"\xff\xd9")  # EOI; some encoders pad after it
    if image_format == "WEBP":
        riff_size = int.from_bytes(data[4:8], "little")
        return len(data) >= riff_size + 8
    if image_format == "GIF":  # rare, small, and without a checksum: decoded in full
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    return True


def to_data_uri(data: bytes) -> str:
    """A `data:image/...;base64,` URI, the form ModelScope takes for a local input image."""
    info = inspect_image(data)
    return f"data:{info.mime};base64,{base64.b64encode(data).decode('ascii')}"


def embed_png_text(data: bytes, text: Mapping[str, str]) -> bytes:
    """Add `text` as iTXt chunks before IEND: UTF-8 safe, pixels untouched, no re-encode."""
    end = data.rfind(b"IEND") - 4
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or end < 8:
        raise ValueError("not a PNG")
    chunks = b"".join(_itxt_chunk(key, value) for key, value in text.items())
    return data[:end] + chunks + data[end:]


def _itxt_chunk(keyword: str, value: str) -> bytes:
    # keyword, NUL, compression flag and method, empty language and translated keyword.
    body = keyword.encode("latin-1")[:79] + b"\0\0\0\0\0" + value.encode("utf-8")
    kind = b"iTXt"
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def read_png_text(data: bytes) -> dict[str, str]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return {str(k): str(v) for k, v in getattr(image, "text", {}).items()}


def save_original(
    data: bytes,
    directory: Path,
    stem: str,
    text: Mapping[str, str],
    info: ImageInfo | None = None,
) -> Path:
    """Keep the file as `<directory>/<stem>.<ext>`, with `text` embedded when it is a PNG;
    `info` from an earlier `inspect_image` of the same bytes spares a second decode."""
    info = info or inspect_image(data)
    if info.format == "PNG" and text:
        data = embed_png_text(data, text)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.{info.extension}"
    temporary = path.with_suffix(path.suffix + ".part")
    temporary.write_bytes(data)
    temporary.replace(path)  # a crash never leaves a half-written image under the real name
    return path


def fit_image(data: bytes, rules: FitRules) -> FittedImage:
    """The image within `rules`: as it is if it fits, else re-encoded, then downscaled."""
    info = inspect_image(data)
    if len(data) <= rules.max_bytes and _dimensions_fit(info.width, info.height, rules):
        return FittedImage(data, info, changed=False)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        scaled = _within_dimensions(image, rules)
        # Re-encoding a PNG losslessly at the same size gains next to nothing: skip to JPEG.
        lossless = not (info.format == "PNG" and scaled.size == image.size)
        while True:
            encoded = _smallest_encoding(scaled, rules.max_bytes, lossless)
            lossless = True
            if encoded is not None:
                return FittedImage(encoded, inspect_image(encoded), changed=True)
            scaled = _shrink(scaled)


def _dimensions_fit(width: int, height: int, rules: FitRules) -> bool:
    return max(width, height) <= rules.max_side and width + height <= rules.max_side_sum


def _within_dimensions(image: Image.Image, rules: FitRules) -> Image.Image:
    factor = min(1.0, rules.max_side / max(image.size), rules.max_side_sum / sum(image.size))
    if factor >= 1.0:
        return image
    size = (max(1, int(image.width * factor)), max(1, int(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _smallest_encoding(image: Image.Image, budget: int, lossless: bool) -> bytes | None:
    if lossless and len(png := _encode(image, "PNG")) <= budget:
        return png
    rgb = image.convert("RGB")
    for quality in JPEG_QUALITIES:
        jpeg = _encode(rgb, "JPEG", quality=quality)
        if len(jpeg) <= budget:
            return jpeg
    return None


def _shrink(image: Image.Image) -> Image.Image:
    if min(image.size) <= MIN_FIT_SIDE:
        raise ValueError("the image cannot fit the byte budget")
    size = (max(MIN_FIT_SIDE, int(image.width * 0.75)), max(MIN_FIT_SIDE, int(image.height * 0.75)))
    return image.resize(size, Image.Resampling.LANCZOS)


def lossless_webp(data: bytes) -> bytes:
    """The same pixels as a lossless WebP: usually a third smaller than a PNG, so the
    original may still fit where a PNG does not."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", lossless=True, quality=80, method=4)
        return buffer.getvalue()


def _encode(image: Image.Image, fmt: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, optimize=True, **options)
    return buffer.getvalue()


def compose_grid(images: Sequence[bytes], cell_side: int = 1024, gap: int = 8) -> bytes:
    """Up to 4 images in a 2-column grid, each fitted into a `cell_side` square; PNG out."""
    if not 1 <= len(images) <= 4:
        raise ValueError("a grid holds 1 to 4 images")
    columns = 1 if len(images) == 1 else 2
    rows = (len(images) + columns - 1) // columns
    side = cell_side + gap
    canvas = Image.new("RGB", (columns * side - gap, rows * side - gap), (24, 24, 24))
    for index, data in enumerate(images):
        with Image.open(io.BytesIO(data)) as image:
            cell = image.convert("RGB")
            cell.thumbnail((cell_side, cell_side), Image.Resampling.LANCZOS)
            x = (index % columns) * side + (cell_side - cell.width) // 2
            y = (index // columns) * side + (cell_side - cell.height) // 2
            canvas.paste(cell, (x, y))
    return _encode(canvas, "PNG")
