"""Validated generation parameters: what one ModelScope task is asked to draw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Size:
    """An image size in pixels, written `WxH` on the wire."""

    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class LoraWeight:
    """One LoRA repository id and its weight in the mix."""

    repo_id: str
    weight: float


@dataclass(frozen=True)
class GenerationParams:
    """Everything one task needs; built only by `core.validation`, so always valid."""

    model: str
    prompt: str
    size: Size
    seed: int
    negative_prompt: str = ""
    steps: int | None = None
    guidance: float | None = None
    image_url: str | None = None
    loras: tuple[LoraWeight, ...] = field(default_factory=tuple)

    def to_payload(self) -> dict[str, Any]:
        """The JSON body of `POST v1/images/generations`."""
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt,
            "size": str(self.size),
            "seed": self.seed,
        }
        if self.negative_prompt:
            payload["negative_prompt"] = self.negative_prompt
        if self.steps is not None:
            payload["steps"] = self.steps
        if self.guidance is not None:
            payload["guidance"] = self.guidance
        if self.image_url is not None:
            payload["image_url"] = self.image_url
        if self.loras:
            payload["loras"] = _loras_payload(self.loras)
        return payload

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form that `from_dict` reads back (the job row keeps it)."""
        return {**self.to_payload(), "loras": [[lo.repo_id, lo.weight] for lo in self.loras]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationParams:
        width, height = (int(side) for side in str(data["size"]).split("x"))
        return cls(
            model=data["model"],
            prompt=data["prompt"],
            size=Size(width, height),
            seed=int(data["seed"]),
            negative_prompt=data.get("negative_prompt", ""),
            steps=data.get("steps"),
            guidance=data.get("guidance"),
            image_url=data.get("image_url"),
            loras=tuple(LoraWeight(str(rid), float(w)) for rid, w in data.get("loras", [])),
        )

    def describe(self) -> dict[str, str]:
        """The parameters as text, for captions and for the PNG's text chunks."""
        text = {"model": self.model, "prompt": self.prompt, "size": str(self.size)}
        text["seed"] = str(self.seed)
        if self.negative_prompt:
            text["negative_prompt"] = self.negative_prompt
        if self.steps is not None:
            text["steps"] = str(self.steps)
        if self.guidance is not None:
            text["guidance"] = f"{self.guidance:g}"
        if self.loras:
            text["loras"] = ",".join(f"{lo.repo_id}:{lo.weight:g}" for lo in self.loras)
        return text


def _loras_payload(loras: tuple[LoraWeight, ...]) -> str | dict[str, float]:
    # The service takes one LoRA as a bare string and several as {repo_id: weight}.
    if len(loras) == 1 and loras[0].weight == 1.0:
        return loras[0].repo_id
    return {lo.repo_id: lo.weight for lo in loras}
