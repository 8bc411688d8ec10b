"""The simulator's own check of a submit body, written from the API page (not from
`core.validation`, so a client bug that slips past our validation is still caught here).

It accepts what the real service accepts from ModelScope's own clients: `"size": ""` and
`"negative_prompt": ""` (unset, as ms-agent sends them), and `width`, `height` and
`num_inference_steps` (ignored by the service). Which models exist, and which edit
pictures, comes from the same catalog the bot reads (built-in plus MODEL_CATALOG_FILE)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.requests.catalog import BUILTIN_MODELS, ModelSpec

KNOWN_FIELDS = {
    "model",
    "prompt",
    "negative_prompt",
    "size",
    "seed",
    "steps",
    "guidance",
    "image_url",
    "loras",
}
IGNORED_FIELDS = {"width", "height", "num_inference_steps"}  # taken, and not used
_SIZE = re.compile(r"^(\d+)x(\d+)$")


@dataclass(frozen=True)
class ModelRule:
    sides: tuple[int, int]
    edits: bool
    cost: float = 1.0  # Magicubes a task of it takes from its token's balance


def model_rules(models: Iterable[ModelSpec] = BUILTIN_MODELS) -> dict[str, ModelRule]:
    return {m.id: ModelRule((m.min_side, m.max_side), m.edits_images, m.cost) for m in models}


def check_submit(body: Any, models: dict[str, ModelRule]) -> str | None:
    """None when the body is acceptable, else the 400 message the service would give."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    unknown = set(body) - KNOWN_FIELDS - IGNORED_FIELDS
    if unknown:
        return f"unsupported parameter(s): {', '.join(sorted(unknown))}"
    model = body.get("model")
    rule = models.get(model) if isinstance(model, str) else None
    if rule is None:
        return f"model {model!r} is not supported"
    for problem in (
        _prompt(body),
        _size(body.get("size"), rule.sides),
        _int_range(body, "seed", 0, 2**31 - 1),
        _int_range(body, "steps", 1, 100),
        _guidance(body.get("guidance")),
        _image(body.get("image_url"), edits=rule.edits),
        _loras(body.get("loras")),
    ):
        if problem:
            return problem
    return None


def _prompt(body: dict[str, Any]) -> str | None:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt is required"
    negative = body.get("negative_prompt", "")
    if len(prompt) >= 2000 or not isinstance(negative, str) or len(negative) >= 2000:
        return "prompt and negative_prompt must be shorter than 2000 characters"
    return None


def _size(size: object, sides: tuple[int, int]) -> str | None:
    if size is None or size == "":  # unset
        return None
    match = _SIZE.match(size) if isinstance(size, str) else None
    low, high = sides
    if match is None or not all(low <= int(side) <= high for side in match.groups()):
        return f"size {size!r} is invalid: each side must be in [{low}, {high}]"
    return None


def _int_range(body: dict[str, Any], name: str, low: int, high: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return f"{name} must be an integer in [{low}, {high}]"
    return None


def _guidance(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 1.5 <= value <= 20:
        return "guidance must be a number in [1.5, 20]"
    return None


def _image(value: object, *, edits: bool) -> str | None:
    if value is None:
        return "image_url is required for this model" if edits else None
    if not edits:
        return "image_url is not supported by this model"
    urls = value if isinstance(value, list) else [value]
    for url in urls:
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "data:image/")):
            return "image_url must be a URL or a data:image URI"
    return None


def _loras(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return None
    if not isinstance(value, dict) or not 1 <= len(value) <= 6:
        return "loras must be a repo id or a map of at most 6 repo ids to weights"
    weights = list(value.values())
    # The service wants them to sum to 1.0 as sent: 0.6 + 0.395 is refused.
    if not all(isinstance(w, int | float) for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
        return "lora weights must sum to 1.0"
    return None
