"""Every field is checked before anything is sent; errors name field, value and range."""

from __future__ import annotations

import base64
import io
import random

import pytest
from PIL import Image

from core.delivery import load_translator
from core.errors import InvalidParameter
from core.requests.catalog import LoraSpec, load_catalog
from core.requests.params import Size
from core.requests.validation import (
    LoraChoice,
    ParamsInput,
    parse_float,
    parse_int,
    parse_lora,
    validate,
)

CATALOG = load_catalog()
PNG_URI = "data:image/png;base64,iVBORw0KGgo="


def check(**fields: object):  # type: ignore[no-untyped-def]
    return validate(ParamsInput(**{"prompt": "a fox", **fields}), CATALOG, random.Random(5))


def said(error: InvalidParameter, locale: str = "en") -> str:
    """What the user reads about `error`."""
    return load_translator().error(locale, error)


def rejects(field: str, **fields: object) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        check(**fields)
    assert caught.value.field == field
    return caught.value


def test_defaults_come_from_the_catalog() -> None:
    params = check()
    assert params.model == "Tongyi-MAI/Z-Image-Turbo"
    assert (params.size, params.steps, params.guidance) == (Size(1024, 1024), 9, None)
    assert 0 <= params.seed <= 2**31 - 1
    qwen = check(model="qwen")
    assert (qwen.size, qwen.steps, qwen.guidance) == (Size(1328, 1328), 30, 4.0)


def test_prompt_rules() -> None:
    assert check(prompt="  trimmed  ").prompt == "trimmed"
    rejects("prompt", prompt="   ")
    assert check(prompt="x" * 1999).prompt == "x" * 1999
    error = rejects("prompt", prompt="x" * 2000)
    assert said(error) == "Invalid prompt: 2000 characters. Allowed: 1 to 1999 characters."
    assert said(error, "zh") == "参数 prompt 无效：2000 个字符。允许的值：1 到 1999 个字符。"
    rejects("negative_prompt", negative_prompt="n" * 2000)


@pytest.mark.parametrize(
    ("model", "good", "bad"),
    [
        ("zit", "512x2048", "511x1024"),
        ("flux", "64x1024", "1024x1025"),
        ("qwen", "1664x64", "1665x1024"),
        ("sdxl", "2048x64", "2049x64"),
    ],
)
def test_size_ranges_per_family(model: str, good: str, bad: str) -> None:
    assert str(check(model=model, size=good).size) == good
    error = rejects("size", model=model, size=bad)
    assert error.value == bad and "each side" in said(error)


@pytest.mark.parametrize("text", ["1024X768", "1024 x 768", "1024×768", "1024*768"])
def test_size_spellings(text: str) -> None:
    assert check(size=text).size == Size(1024, 768)


def test_size_must_be_width_x_height() -> None:
    assert "WIDTHxHEIGHT" in said(rejects("size", size="big"))


def test_aspect_ratio_keeps_the_default_area() -> None:
    size = check(aspect_ratio="16:9").size
    assert size.width % 16 == 0 and size.height % 16 == 0
    assert abs(size.width / size.height - 16 / 9) < 0.05
    assert abs(size.width * size.height - 1024 * 1024) / (1024 * 1024) < 0.05
    rejects("aspect_ratio", aspect_ratio="0:1")
    extreme = rejects("aspect_ratio", aspect_ratio="20:1")  # the short side would be under 512
    assert said(extreme).endswith("Allowed: ratios from 1:4 to 4:1 for Z-Image Turbo.")
    rejects("aspect_ratio", aspect_ratio="1:1", size="1024x1024")


@pytest.mark.parametrize(
    ("model", "ratio", "size"),
    [
        ("qwen", "16:9", "1664x928"),  # the default area is too wide: the largest that fits
        ("qwen", "9:16", "928x1664"),
        ("qwen", "1:1", "1328x1328"),
        ("flux", "16:9", "1024x576"),
        ("flux", "4:3", "1024x768"),
        ("flux", "21:9", "1024x432"),
        ("zit", "4:1", "2048x512"),
    ],
)
def test_aspect_ratio_fits_the_models_limits(model: str, ratio: str, size: str) -> None:
    fitted = check(model=model, aspect_ratio=ratio).size
    assert str(fitted) == size
    spec = CATALOG.find_model(model)
    assert spec is not None and spec.min_side <= min(fitted.width, fitted.height)
    assert max(fitted.width, fitted.height) <= spec.max_side
    wide, high = (int(part) for part in ratio.split(":"))
    assert abs(fitted.width / fitted.height - wide / high) < 0.05 * wide / high


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("seed", [0, 2**31 - 1], [-1, 2**31]),
        ("steps", [1, 100], [0, 101]),
        ("guidance", [1.5, 20.0], [1.49, 20.01]),
    ],
)
def test_numeric_ranges(field: str, good: list[float], bad: list[float]) -> None:
    for value in good:
        assert getattr(check(**{field: value}), field) == value
    for value in bad:
        error = rejects(field, **{field: value})
        assert error.value == value and ".." in error.allowed


def test_model_must_exist_and_the_error_lists_choices() -> None:
    error = rejects("model", model="dall-e")
    assert "qwen" in error.allowed and error.value == "dall-e"


def test_image_only_with_an_edit_model() -> None:
    assert check(model="qwen-edit", image_url=PNG_URI).image_url == PNG_URI
    assert check(image_url="https://example.com/a.png").model == "Qwen/Qwen-Image-Edit"
    assert "choose an edit model" in said(rejects("image", model="qwen", image_url=PNG_URI))
    rejects("image", model="kontext")
    rejects("image", model="kontext", image_url="ftp://x/a.png")
    rejects("image", model="kontext", image_url="data:text/plain;base64,aGk=")


def test_one_lora_gets_the_whole_weight() -> None:
    params = check(loras=(LoraChoice("someone/style"),))
    assert [(lo.repo_id, lo.weight) for lo in params.loras] == [("someone/style", 1.0)]


def test_missing_weights_share_what_is_left() -> None:
    params = check(loras=(LoraChoice("a/a", 0.5), LoraChoice("b/b"), LoraChoice("c/c")))
    assert [lo.weight for lo in params.loras] == [0.5, 0.25, 0.25]
    thirds = check(loras=tuple(LoraChoice(f"x/{i}") for i in range(3)))
    assert abs(sum(lo.weight for lo in thirds.loras) - 1.0) < 0.001


def test_weights_within_the_tolerance_are_sent_summing_to_exactly_one() -> None:
    params = check(loras=(LoraChoice("a/a", 0.6), LoraChoice("b/b", 0.395)))
    weights = [lo.weight for lo in params.loras]
    assert abs(sum(weights) - 1.0) < 1e-9  # ModelScope refuses 0.995
    assert weights == [0.603, 0.397]  # in proportion to what was asked


def test_lora_rules() -> None:
    seven = tuple(LoraChoice(f"x/{i}") for i in range(7))
    assert said(rejects("lora", loras=seven)) == "Invalid lora: 7. Allowed: at most 6 LoRAs."
    rejects("lora", loras=(LoraChoice("a/a"), LoraChoice("a/a")))
    rejects("lora", loras=(LoraChoice("not a repo"),))
    sum_error = rejects("lora weight", loras=(LoraChoice("a/a", 0.5), LoraChoice("b/b", 0.2)))
    assert "add up to 1.0 (these add up to 0.7)" in said(sum_error)
    rejects("lora weight", loras=(LoraChoice("a/a", 0.9), LoraChoice("b/b", 0.9)))
    rejects("lora weight", loras=(LoraChoice("a/a", 1.5),))


def test_catalog_loras_resolve_and_check_the_family() -> None:
    from core.requests.catalog import Catalog

    catalog = Catalog(
        CATALOG.models,
        [LoraSpec(id="ink/wash", name="Ink", families=("flux",))],
        CATALOG.default_model.id,
    )
    raw = ParamsInput("a fox", model="flux", loras=(LoraChoice("ink"),))
    assert validate(raw, catalog).loras[0].repo_id == "ink/wash"
    with pytest.raises(InvalidParameter) as caught:
        validate(ParamsInput("a fox", model="qwen", loras=(LoraChoice("ink"),)), catalog)
    assert said(caught.value).endswith("Allowed: models of the flux family.")


def test_typed_values_are_parsed_with_the_field_named() -> None:
    assert parse_int("seed", " 12 ") == 12
    with pytest.raises(InvalidParameter, match="seed"):
        parse_int("seed", "twelve")
    assert parse_float("guidance", "3.5") == 3.5
    for bad in ("nan", "inf", "x"):
        with pytest.raises(InvalidParameter, match="guidance"):
            parse_float("guidance", bad)
    assert parse_lora("owner/repo:0.4") == LoraChoice("owner/repo", 0.4)
    assert parse_lora("owner/repo") == LoraChoice("owner/repo")
    assert parse_lora("watercolor") == LoraChoice("watercolor")


def test_seed_is_drawn_from_the_given_rng() -> None:
    first = validate(ParamsInput("x"), CATALOG, random.Random(1)).seed
    assert first == validate(ParamsInput("x"), CATALOG, random.Random(1)).seed


def test_invisible_and_control_characters_never_reach_modelscope() -> None:
    only_invisible = "\u200b\u200c\u200d\u2060\ufeff"
    empty = rejects("prompt", prompt=only_invisible)  # nothing is charged
    assert said(empty) == "Invalid prompt: (empty). Allowed: 1 to 1999 characters."
    params = check(prompt="a\u200b fox\x00 in\x1b[31m snow\u202e\r\nline\ttwo")
    assert params.prompt == "a fox in[31m snow\nline two"
    assert check(prompt="cafe\u0301").prompt == "café"  # NFC: one character, as typed
    assert check(prompt="x" * 1999 + "\u200b" * 10).prompt == "x" * 1999  # length after cleaning


def data_uri(width: int, height: int, kind: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 100, 50)).save(buffer, kind)
    return f"data:image/{kind.lower()};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def test_an_edit_keeps_the_input_pictures_shape_unless_a_size_is_given() -> None:
    assert str(check(model="qwen-edit", image_url=data_uri(400, 300)).size) == "1184x880"
    assert str(check(model="qwen-edit", image_url=data_uri(300, 400, "JPEG")).size) == "880x1184"
    panorama = check(model="kontext", image_url=data_uri(2000, 200)).size  # fitted, not refused
    assert str(panorama) == "1024x96"
    given = check(model="qwen-edit", image_url=data_uri(400, 300), size="512x512").size
    assert str(given) == "512x512"
    linked = check(model="qwen-edit", image_url="https://example.com/a.png").size
    assert str(linked) == "1024x1024"  # a link is not fetched to learn its shape
    assert str(check(model="qwen-edit", image_url=PNG_URI).size) == "1024x1024"  # no header
