"""The image pipeline on real images made with Pillow."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from bot.simulator.render import render_png
from core.errors import DownloadError
from core.images.processing import (
    FitRules,
    compose_grid,
    embed_png_text,
    fit_image,
    inspect_image,
    read_png_text,
    save_original,
    to_data_uri,
)


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def big_png() -> bytes:
    return render_png("a detailed landscape", 3, 2048, 2048, grain=40)


def test_inspect_reports_format_and_size() -> None:
    info = inspect_image(encode(Image.new("RGB", (300, 200)), "JPEG"))
    assert (info.format, info.width, info.height, info.mime) == ("JPEG", 300, 200, "image/jpeg")
    assert info.extension == "jpg"


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 64])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(DownloadError, match="not_image"):
        inspect_image(data)


def test_truncated_image_is_refused(big_png: bytes) -> None:
    with pytest.raises(DownloadError):
        inspect_image(big_png[: len(big_png) // 2])


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    return Image.open(io.BytesIO(render_png("a harbour at night", 2, 512, 384, grain=30)))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_a_file_cut_short_anywhere_is_refused_without_a_full_decode(
    picture: Image.Image, fmt: str, keep: float
) -> None:
    """The checks that replace decoding every pixel (chunk checksums, end markers, the RIFF
    size) still refuse a download that stopped early, wherever it stopped."""
    whole = encode(picture.convert("RGB"), fmt)
    assert inspect_image(whole).format == fmt
    with pytest.raises(DownloadError, match="not_image"):
        inspect_image(whole[: int(len(whole) * keep)])


def test_a_png_damaged_in_transit_is_refused(picture: Image.Image) -> None:
    damaged = bytearray(encode(picture))
    damaged[len(damaged) // 2] ^= 0x5A  # inside the pixel data: its chunk's CRC no longer fits
    with pytest.raises(DownloadError, match="not_image"):
        inspect_image(bytes(damaged))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = encode(Image.new("1", (9000, 9000)))  # 81 Mpx in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(DownloadError, match="too_many_pixels"):
        inspect_image(bomb)


def test_png_text_is_embedded_without_touching_pixels() -> None:
    original = encode(Image.new("RGB", (64, 64), (10, 200, 30)))
    text = {"prompt": "一只在雪中的狐狸", "seed": "42"}
    annotated = embed_png_text(original, text)
    assert read_png_text(annotated) == text
    with Image.open(io.BytesIO(annotated)) as a, Image.open(io.BytesIO(original)) as b:
        assert a.tobytes() == b.tobytes()
    with pytest.raises(ValueError, match="not a PNG"):
        embed_png_text(b"GIF89a", text)


def test_save_original_keeps_the_seed_layout(tmp_path: Path) -> None:
    path = save_original(
        encode(Image.new("RGB", (32, 32))), tmp_path / "out", "gen_77", {"model": "m"}
    )
    assert path == tmp_path / "out" / "gen_77.png"
    assert read_png_text(path.read_bytes())["model"] == "m"
    assert [p.name for p in path.parent.iterdir()] == ["gen_77.png"]  # no .part left behind
    jpeg = save_original(encode(Image.new("RGB", (32, 32)), "JPEG"), tmp_path, "gen_78", {"a": "b"})
    assert jpeg.suffix == ".jpg"


def test_an_image_that_fits_is_left_alone() -> None:
    data = encode(Image.new("RGB", (100, 100)))
    fitted = fit_image(data, FitRules(max_bytes=10_000_000))
    assert fitted.data == data and not fitted.changed


@pytest.mark.parametrize("budget", [10 * 1024 * 1024, 1024 * 1024, 200 * 1024])
def test_fitting_a_2048_png_to_a_budget(big_png: bytes, budget: int) -> None:
    fitted = fit_image(big_png, FitRules(max_bytes=budget))
    assert len(fitted.data) <= budget
    assert fitted.info.width == fitted.info.height  # the aspect ratio is kept
    if len(big_png) <= budget:
        assert fitted.data == big_png
    else:
        assert fitted.changed


def test_fitting_respects_side_rules(big_png: bytes) -> None:
    fitted = fit_image(big_png, FitRules(max_bytes=50_000_000, max_side=1280, max_side_sum=2000))
    assert fitted.info.width <= 1000 and fitted.info.width + fitted.info.height <= 2000


def test_invalid_fit_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="fit rules"):
        FitRules(max_bytes=10)


def test_grid_of_three(big_png: bytes) -> None:
    small = encode(Image.new("RGB", (512, 256), (255, 0, 0)))
    grid = inspect_image(compose_grid([big_png, small, big_png], cell_side=256, gap=4))
    assert (grid.width, grid.height) == (2 * 256 + 4, 2 * 256 + 4)
    with pytest.raises(ValueError, match="1 to 4"):
        compose_grid([])


def test_data_uri_round_trip() -> None:
    data = encode(Image.new("RGB", (8, 8)))
    uri = to_data_uri(data)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == data


def test_simulator_pictures_are_deterministic() -> None:
    assert render_png("fox", 1, 128, 96) == render_png("fox", 1, 128, 96)
    assert render_png("fox", 1, 128, 96) != render_png("fox", 2, 128, 96)
    assert inspect_image(render_png("fox", 1, 128, 96)).width == 128
