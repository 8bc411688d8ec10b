"""Reading what `imagine-bot generate` was given: prompts, LoRA files, an input image."""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
from pathlib import Path

from core.errors import BadInputImage, DownloadError, InvalidParameter
from core.images.processing import to_data_uri
from core.requests import (
    SEED_MAX,
    Catalog,
    GenerationParams,
    LoraChoice,
    ParamsInput,
    parse_lora,
    validate,
)
from core.terms import Phrase

MAX_INPUT_IMAGE_BYTES = 10 * 1024 * 1024


def read_prompts(args: argparse.Namespace) -> list[str]:
    """The prompt argument, then one prompt per line of `--batch` (blank and # lines skipped)."""
    prompts = [args.prompt] if args.prompt else []
    if args.batch:
        text = _read_text(Path(args.batch), "batch")
        prompts += [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    return prompts


def read_loras(args: argparse.Namespace) -> tuple[LoraChoice, ...]:
    """`--lora ID[:WEIGHT]` flags, then the entries of `--loras-file`."""
    choices = [parse_lora(text) for text in args.lora or ()]
    if args.loras_file:
        choices += _loras_from_json(Path(args.loras_file))
    return tuple(choices)


def _loras_from_json(path: Path) -> list[LoraChoice]:
    """Accepts `"id"`, `{"id": weight}`, `["id", {"id": .., "weight": ..}]` or `{"loras": ..}`."""
    try:
        data = json.loads(_read_text(path, "loras-file"))
    except json.JSONDecodeError as exc:
        allowed = Phrase("valid_json", detail=exc.msg)
        raise InvalidParameter("loras-file", str(path), allowed) from None
    if isinstance(data, dict) and "loras" in data:
        data = data["loras"]
    if isinstance(data, str):
        return [LoraChoice(data)]
    if isinstance(data, dict):
        return [LoraChoice(str(k), _weight(v, path)) for k, v in data.items()]
    if isinstance(data, list):
        return [_lora_item(item, path) for item in data]
    raise InvalidParameter("loras-file", str(path), Phrase("loras_file_shape"))


def _lora_item(item: object, path: Path) -> LoraChoice:
    if isinstance(item, str):
        return LoraChoice(item)
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        weight = item.get("weight")
        return LoraChoice(item["id"], None if weight is None else _weight(weight, path))
    raise InvalidParameter("loras-file", str(path), Phrase("loras_file_entries"))


def _weight(value: object, path: Path) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise InvalidParameter("loras-file", f"{path}: {value!r}", Phrase("numeric_weights"))


def read_image(reference: str | None) -> str | None:
    """A public URL as it is; a local file as a base64 data URI."""
    if reference is None or reference.startswith(("http://", "https://")):
        return reference
    try:
        with Path(reference).open("rb") as file:  # never more than the cap: /dev/zero ends
            data = file.read(MAX_INPUT_IMAGE_BYTES + 1)
    except OSError as exc:
        allowed = Phrase("readable_file", detail=exc.strerror)
        raise InvalidParameter("image", reference, allowed) from None
    if len(data) > MAX_INPUT_IMAGE_BYTES:
        raise InvalidParameter("image", reference, Phrase("image_size"))
    try:
        return to_data_uri(data)
    except DownloadError as error:
        raise BadInputImage(error.reason) from None


def _read_text(path: Path, field: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        allowed = Phrase("readable_file", detail=exc.strerror)
        raise InvalidParameter(field, str(path), allowed) from None


def build_requests(
    args: argparse.Namespace, catalog: Catalog, rng: random.Random
) -> list[GenerationParams]:
    """Every task to run, validated up front: one invalid prompt and nothing is sent."""
    prompts = read_prompts(args)
    loras = read_loras(args)
    image = read_image(args.image)
    tasks: list[GenerationParams] = []
    for prompt in prompts:
        raw = ParamsInput(
            prompt=prompt,
            model=args.model,
            negative_prompt=args.negative or "",
            size=args.size,
            seed=args.seed,
            steps=args.steps,
            guidance=args.guidance,
            image_url=image,
            loras=loras,
        )
        first = validate(raw, catalog, rng)
        # Several images of one prompt differ by seed; a given seed counts up from there.
        tasks += [
            dataclasses.replace(first, seed=(first.seed + i) % (SEED_MAX + 1))
            for i in range(args.count)
        ]
    return tasks
