"""What a user may ask for: the parameters of an image, the model catalog (models, LoRAs,
their limits and costs), validation against it, and the prompt filter."""

from core.requests.catalog import Catalog, LoraSpec, ModelSpec, load_catalog
from core.requests.moderation import PromptFilter
from core.requests.params import GenerationParams, LoraWeight, Size
from core.requests.validation import (
    SEED_MAX,
    LoraChoice,
    ParamsInput,
    check_prompt,
    parse_float,
    parse_int,
    parse_lora,
    validate,
)

__all__ = [
    "SEED_MAX",
    "Catalog",
    "GenerationParams",
    "LoraChoice",
    "LoraSpec",
    "LoraWeight",
    "ModelSpec",
    "ParamsInput",
    "PromptFilter",
    "Size",
    "check_prompt",
    "load_catalog",
    "parse_float",
    "parse_int",
    "parse_lora",
    "validate",
]
