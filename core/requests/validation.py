"""Turns a raw request into `GenerationParams`, or names the field that is wrong.

Nothing reaches ModelScope without passing through `validate`: every limit of
`shared/MODELSCOPE_API.md` is checked here against the model catalog.
"""

from __future__ import annotations

import base64
import io
import random
import re
import unicodedata
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image

from core.errors import ImageNotEditable, ImageRequired, InvalidParameter
from core.requests.catalog import Catalog, LoraSpec, ModelSpec
from core.requests.params import GenerationParams, LoraWeight, Size
from core.terms import Phrase, Term

PROMPT_MAX_CHARS = 1999  # the service wants fewer than 2000
SEED_MAX = 2**31 - 1
STEPS_RANGE = (1, 100)
GUIDANCE_RANGE = (1.5, 20.0)
MAX_LORAS = 6
WEIGHT_TOLERANCE = 0.01
SIDE_STEP = 16  # a side made from a ratio is a multiple of this
RATIO_TOLERANCE = 0.05  # how far a fitted size may stray from the ratio asked for
SHAPE_PREFIX = 256 * 1024  # base64 characters read to find an input picture's size
MAX_IMAGE_URL_CHARS = 14_000_000  # a 10 MB image as base64, with room for the prefix

_Num = TypeVar("_Num", int, float)

_SIZE_RE = re.compile(r"^\s*(\d{1,5})\s*[xX×*]\s*(\d{1,5})\s*$")
_RATIO_RE = re.compile(r"^\s*(\d{1,3})\s*[:/]\s*(\d{1,3})\s*$")
_REPO_ID_RE = re.compile(r"^[\w.-]+/[\w.-]+$")
_DATA_URI_RE = re.compile(r"^data:image/(png|jpeg|jpg|webp|gif|bmp);base64,[A-Za-z0-9+/=\s]+$")


@dataclass(frozen=True)
class LoraChoice:
    """A LoRA as a user named it: a catalog name or a repo id, and maybe a weight."""

    name: str
    weight: float | None = None


@dataclass(frozen=True)
class ParamsInput:
    """A request as it arrives from a command, before any check."""

    prompt: str
    model: str | None = None
    negative_prompt: str | None = None  # None: not given (a saved default may apply)
    size: str | None = None
    aspect_ratio: str | None = None
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    image_url: str | None = None
    loras: tuple[LoraChoice, ...] = ()


def validate(
    raw: ParamsInput, catalog: Catalog, rng: random.Random | None = None
) -> GenerationParams:
    """Check every field of `raw` against `catalog`; a missing seed is drawn from `rng`."""
    model = _resolve_model(raw, catalog)
    seed = raw.seed if raw.seed is not None else (rng or random.Random()).randint(0, SEED_MAX)
    return GenerationParams(
        model=model.id,
        prompt=_text("prompt", raw.prompt, required=True),
        negative_prompt=_text("negative_prompt", raw.negative_prompt or "", required=False),
        size=_resolve_size(raw, model),
        seed=check_range("seed", seed, 0, SEED_MAX),
        steps=_optional_range("steps", raw.steps, model.default_steps, STEPS_RANGE),
        guidance=_optional_range("guidance", raw.guidance, model.default_guidance, GUIDANCE_RANGE),
        image_url=_image_url(raw.image_url, model, catalog),
        loras=resolve_loras(raw.loras, model, catalog),
    )


def check_range(field: str, value: _Num, low: _Num, high: _Num) -> _Num:
    """`value` itself, or an error naming `field` and the range `low..high`."""
    if not low <= value <= high:
        raise InvalidParameter(field, value, f"{low}..{high}")
    return value


def parse_int(field: str, text: str) -> int:
    """A whole number typed by a user; the error names the field."""
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidParameter(field, text, Phrase("whole_number")) from None


def parse_float(field: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidParameter(field, text, Phrase("number")) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidParameter(field, text, Phrase("finite_number"))
    return value


def parse_lora(text: str) -> LoraChoice:
    """`ID` or `ID:WEIGHT`, as typed after `--lora`."""
    name, sep, weight = text.strip().rpartition(":")
    if not sep or "/" in weight:
        return LoraChoice(text.strip())
    return LoraChoice(name, parse_float("lora weight", weight))


def _resolve_model(raw: ParamsInput, catalog: Catalog) -> ModelSpec:
    if raw.model is None or not raw.model.strip():
        editors = catalog.editors()
        return editors[0] if raw.image_url and editors else catalog.default_model
    model = catalog.find_model(raw.model)
    if model is None:
        names = ", ".join(m.aliases[0] if m.aliases else m.id for m in catalog.models)
        raise InvalidParameter("model", raw.model, names)
    return model


def check_prompt(value: str) -> str:
    """A prompt on its own (an edited one): stripped, 1..PROMPT_MAX_CHARS characters."""
    return _text("prompt", value, required=True)


def clean_text(value: str) -> str:
    """A text as it may reach ModelScope and a caption: Unicode NFC, tabs and line breaks as
    spaces or newlines, no control or invisible format characters (NUL, ESC, zero-width
    spaces, bidirectional overrides), no spaces around."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ")
    kept = (ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf"))
    return "".join(kept).strip()


def _text(field: str, value: str, *, required: bool) -> str:
    text = clean_text(value)
    if required and not text:
        raise InvalidParameter(
            field, Term("empty"), Phrase("characters", low=1, high=PROMPT_MAX_CHARS)
        )
    if len(text) > PROMPT_MAX_CHARS:
        raise InvalidParameter(
            field,
            Phrase("character_count", count=len(text)),
            Phrase("characters", low=1, high=PROMPT_MAX_CHARS),
        )
    return text


def _resolve_size(raw: ParamsInput, model: ModelSpec) -> Size:
    if raw.size and raw.aspect_ratio:
        raise InvalidParameter("aspect_ratio", raw.aspect_ratio, Phrase("size_or_ratio"))
    if raw.aspect_ratio:
        return size_for_ratio(raw.aspect_ratio, model)
    if not raw.size:
        shape = picture_shape(raw.image_url) if model.edits_images else None
        return _fitted(*shape, model) if shape else model.default_size_value
    match = _SIZE_RE.match(raw.size)
    if match is None:
        raise InvalidParameter("size", raw.size, Phrase("size_format"))
    size = Size(int(match[1]), int(match[2]))
    _check_sides(size, model, "size", raw.size)
    return size


def size_for_ratio(ratio: str, model: ModelSpec) -> Size:
    """The size of ratio `W:H` for `model`: its default area where that fits, else the
    largest of that ratio within its side limits; each side a multiple of 16 inside them."""
    match = _RATIO_RE.match(ratio)
    if match is None or int(match[1]) == 0 or int(match[2]) == 0:
        raise InvalidParameter("aspect_ratio", ratio, Phrase("ratio_format"))
    across, down = int(match[1]), int(match[2])
    size = _fitted(across, down, model)
    if abs(size.width / size.height - across / down) > RATIO_TOLERANCE * across / down:
        most = f"{model.max_side / model.min_side:g}"
        raise InvalidParameter("aspect_ratio", ratio, Phrase("ratios", most=most, model=model.name))
    return size


def _fitted(across: int, down: int, model: ModelSpec) -> Size:
    """The model's default area in the shape `across` x `down`, within its side limits
    (as near that shape as the limits allow)."""
    default = model.default_size_value
    scale = (default.width * default.height / (across * down)) ** 0.5
    scale = min(scale, model.max_side / max(across, down))  # the long side fits
    scale = max(scale, model.min_side / min(across, down))  # the short side is big enough
    return Size(*(_fit_side(part * scale, model) for part in (across, down)))


def _fit_side(length: float, model: ModelSpec) -> int:
    """`length` to a multiple of SIDE_STEP within the model's limits."""
    low = -(-model.min_side // SIDE_STEP) * SIDE_STEP
    high = model.max_side // SIDE_STEP * SIDE_STEP
    return max(low, min(high, round(length / SIDE_STEP) * SIDE_STEP))


def picture_shape(image_url: str | None) -> tuple[int, int] | None:
    """Width and height of a picture given as a data URI, read from its header alone (the
    first SHAPE_PREFIX characters); None for a link or a header we cannot read."""
    if not image_url or not image_url.startswith("data:"):
        return None
    payload = image_url.partition(",")[2][:SHAPE_PREFIX]
    try:
        head = base64.b64decode(payload[: len(payload) // 4 * 4])
        with Image.open(io.BytesIO(head)) as picture:
            width, height = picture.size
    except (ValueError, OSError, Image.DecompressionBombError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def _check_sides(size: Size, model: ModelSpec, field: str, shown: str) -> None:
    low, high = model.min_side, model.max_side
    if not (low <= size.width <= high and low <= size.height <= high):
        raise InvalidParameter(field, shown, Phrase("sides", low=low, high=high, model=model.name))


def _optional_range(
    field: str, value: _Num | None, default: _Num | None, bounds: tuple[_Num, _Num]
) -> _Num | None:
    chosen = value if value is not None else default
    if chosen is None:
        return None
    check_range(field, chosen, bounds[0], bounds[1])
    return chosen


def _image_url(url: str | None, model: ModelSpec, catalog: Catalog) -> str | None:
    if url is None:
        if model.edits_images:
            raise ImageRequired(model.name)
        return None
    if not model.edits_images:
        editors = ", ".join(m.name for m in catalog.editors()) or "-"
        raise ImageNotEditable(model.name, editors)
    if len(url) > MAX_IMAGE_URL_CHARS:
        raise InvalidParameter(
            "image", Phrase("character_count", count=len(url)), Phrase("image_size")
        )
    if url.startswith(("http://", "https://")) and " " not in url:
        return url
    if _DATA_URI_RE.match(url):
        return url
    raise InvalidParameter("image", url, Phrase("image_reference"))


def resolve_loras(
    choices: tuple[LoraChoice, ...], model: ModelSpec, catalog: Catalog
) -> tuple[LoraWeight, ...]:
    """Resolve names to repo ids and weights that sum to 1.0 (missing ones share the rest)."""
    if not choices:
        return ()
    if len(choices) > MAX_LORAS:
        raise InvalidParameter("lora", len(choices), Phrase("lora_count", high=MAX_LORAS))
    repo_ids = [_lora_id(choice.name, model, catalog) for choice in choices]
    if len(set(repo_ids)) != len(repo_ids):
        raise InvalidParameter("lora", ", ".join(repo_ids), Phrase("each_lora_once"))
    weights = _weights(choices)
    return tuple(LoraWeight(rid, w) for rid, w in zip(repo_ids, weights, strict=True))


def _lora_id(name: str, model: ModelSpec, catalog: Catalog) -> str:
    spec: LoraSpec | None = catalog.find_lora(name)
    if spec is None:
        if not _REPO_ID_RE.match(name.strip()):
            listed = "lora_listed" if catalog.loras else "lora_unlisted"
            raise InvalidParameter("lora", name, Phrase(listed))
        return name.strip()
    if spec.families and model.family not in spec.families:
        raise InvalidParameter(
            "lora", name, Phrase("lora_family", families=", ".join(spec.families))
        )
    return spec.id


def _weights(choices: tuple[LoraChoice, ...]) -> list[float]:
    given = [c.weight for c in choices if c.weight is not None]
    for weight in given:
        check_range("lora weight", weight, 0.01, 1.0)
    missing = len(choices) - len(given)
    share = (1.0 - sum(given)) / missing if missing else 0.0
    weights = [round(c.weight if c.weight is not None else share, 4) for c in choices]
    total = sum(weights)
    if abs(total - 1.0) > WEIGHT_TOLERANCE or min(weights) <= 0:
        shown = ", ".join(f"{c.name}:{w:g}" for c, w in zip(choices, weights, strict=True))
        raise InvalidParameter("lora weight", shown, Phrase("weights_sum", total=f"{total:g}"))
    return _sum_to_one(weights)


def _sum_to_one(weights: list[float]) -> list[float]:
    """Weights within the tolerance, rescaled to sum to exactly 1.0 (ModelScope refuses
    0.6 + 0.395): in ten-thousandths, the rounding's remainder going to the largest."""
    total = sum(weights)
    units = [round(w / total * 10_000) for w in weights]
    units[units.index(max(units))] += 10_000 - sum(units)
    return [u / 10_000 for u in units]
