"""The model and LoRA catalog: what may be asked of ModelScope, and what it costs.

Built-in entries follow `shared/MODELSCOPE_API.md`; an operator's JSON file (setting
`MODEL_CATALOG_FILE`) adds entries or replaces them by id. File shape:

    {"default_model": "Qwen/Qwen-Image",
     "models": [{"id": "...", "name": "...", "family": "flux", ...}],
     "loras": [{"id": "owner/repo", "name": "...", "families": ["flux"]}],
     "text_costs": {"describe": 0.5, "enhance": 0.2, "translate": 0.1}}

A model with `"prefers_english": true` gets a prompt in another language translated first
(`core.service.prompts`); Qwen-Image and Z-Image read Chinese as well as English.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import ConfigurationError
from core.requests.params import Size

_Entry = TypeVar("_Entry", "ModelSpec", "LoraSpec")

# Side ranges per model family, from the service's documentation.
FAMILY_SIDES: dict[str, tuple[int, int]] = {
    "sd": (64, 2048),
    "flux": (64, 1024),
    "qwen-image": (64, 1664),
    "z-image": (512, 2048),
}


class ModelSpec(BaseModel):
    """One model: identity, limits, defaults and cost in quota units."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=3)
    name: str
    aliases: tuple[str, ...] = ()
    family: str
    min_side: int = Field(ge=1)
    max_side: int = Field(ge=1)
    default_size: str = "1024x1024"
    default_steps: int | None = Field(default=None, ge=1, le=100)
    default_guidance: float | None = Field(default=None, ge=1.5, le=20)
    cost: float = Field(default=1.0, gt=0)
    edits_images: bool = False
    prefers_english: bool = False  # a prompt in another language is translated first

    @model_validator(mode="before")
    @classmethod
    def _family_sides(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("family") in FAMILY_SIDES:
            low, high = FAMILY_SIDES[data["family"]]
            data = {"min_side": low, "max_side": high, **data}
        return data

    @property
    def default_size_value(self) -> Size:
        width, height = (int(part) for part in self.default_size.split("x"))
        return Size(width, height)

    def names(self) -> Iterable[str]:
        return (self.id, self.name, *self.aliases)


class LoraSpec(BaseModel):
    """One LoRA repository and the model families it was trained for (empty: any)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    name: str = ""
    aliases: tuple[str, ...] = ()
    families: tuple[str, ...] = ()

    def names(self) -> Iterable[str]:
        return (self.id, *((self.name,) if self.name else ()), *self.aliases)


class TextCosts(BaseModel):
    """What a chat call costs in quota units (a text unit): a fraction of an image."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    describe: float = Field(default=0.5, ge=0)
    enhance: float = Field(default=0.2, ge=0)
    translate: float = Field(default=0.1, ge=0)


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_model: str | None = None
    models: list[ModelSpec] = []
    loras: list[LoraSpec] = []
    text_costs: TextCosts | None = None


def _model(id_: str, name: str, family: str, *aliases: str, **extra: object) -> ModelSpec:
    return ModelSpec.model_validate(
        {"id": id_, "name": name, "family": family, "aliases": aliases, **extra}
    )


BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    _model(
        "Tongyi-MAI/Z-Image-Turbo",
        "Z-Image Turbo",
        "z-image",
        "z-image",
        "zit",
        "turbo",
        default_steps=9,
        cost=1.0,
    ),
    _model(
        "Qwen/Qwen-Image",
        "Qwen-Image",
        "qwen-image",
        "qwen",
        default_size="1328x1328",
        default_steps=30,
        default_guidance=4.0,
        cost=2.0,
    ),
    _model(
        "MAILAND/majicflus_v1",
        "majicFlus v1",
        "flux",
        "majicflus",
        default_steps=30,
        default_guidance=3.5,
        cost=1.0,
        prefers_english=True,
    ),
    _model(
        "black-forest-labs/FLUX.1-Krea-dev",
        "FLUX.1 Krea [dev]",
        "flux",
        "krea",
        "flux",
        default_steps=28,
        default_guidance=4.5,
        cost=1.0,
        prefers_english=True,
    ),
    _model(
        "stabilityai/stable-diffusion-xl-base-1.0",
        "Stable Diffusion XL",
        "sd",
        "sdxl",
        default_steps=30,
        default_guidance=7.0,
        cost=0.5,
        prefers_english=True,
    ),
    _model(
        "Qwen/Qwen-Image-Edit",
        "Qwen-Image Edit",
        "qwen-image",
        "qwen-edit",
        default_steps=30,
        default_guidance=4.0,
        cost=2.0,
        edits_images=True,
    ),
    _model(
        "black-forest-labs/FLUX.1-Kontext-dev",
        "FLUX.1 Kontext [dev]",
        "flux",
        "kontext",
        default_steps=28,
        default_guidance=2.5,
        cost=1.0,
        prefers_english=True,
        edits_images=True,
    ),
)


class Catalog:
    """Looks models and LoRAs up by id, name or alias, case-insensitively."""

    def __init__(
        self,
        models: Iterable[ModelSpec],
        loras: Iterable[LoraSpec],
        default_model: str,
        text_costs: TextCosts | None = None,
    ) -> None:
        self.text_costs = text_costs or TextCosts()
        self.models = tuple(models)
        self.loras = tuple(loras)
        self._models = _index(self.models)
        self._loras = _index(self.loras)
        if default_model.casefold() not in self._models:
            raise ConfigurationError(f"default model {default_model!r} is not in the catalog")
        self.default_model = self._models[default_model.casefold()]

    def find_model(self, name: str) -> ModelSpec | None:
        return self._models.get(name.strip().casefold())

    def find_lora(self, name: str) -> LoraSpec | None:
        return self._loras.get(name.strip().casefold())

    def generators(self) -> tuple[ModelSpec, ...]:
        return tuple(m for m in self.models if not m.edits_images)

    def editors(self) -> tuple[ModelSpec, ...]:
        return tuple(m for m in self.models if m.edits_images)


def _index(entries: tuple[_Entry, ...]) -> dict[str, _Entry]:
    index: dict[str, _Entry] = {}
    # Ids first, so an alias can never shadow another entry's id.
    for entry in entries:
        index[entry.id.casefold()] = entry
    for entry in entries:
        for name in entry.names():
            index.setdefault(name.casefold(), entry)
    return index


def load_catalog(path: Path | None = None) -> Catalog:
    """The built-in catalog, with the entries of the file at `path` merged over it by id."""
    models = {m.id: m for m in BUILTIN_MODELS}
    loras: dict[str, LoraSpec] = {}
    default, text_costs = BUILTIN_MODELS[0].id, None
    if path is not None:
        extra = _read_catalog_file(path)
        models.update({m.id: m for m in extra.models})
        loras.update({lo.id: lo for lo in extra.loras})
        default, text_costs = extra.default_model or default, extra.text_costs
    return Catalog(models.values(), loras.values(), default, text_costs)


def _read_catalog_file(path: Path) -> CatalogFile:
    try:
        return CatalogFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ConfigurationError(
            f"MODEL_CATALOG_FILE {path}: cannot read ({exc.strerror})"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"MODEL_CATALOG_FILE {path}: not JSON ({exc.msg})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigurationError(f"MODEL_CATALOG_FILE {path}: {where}: {first['msg']}") from exc
