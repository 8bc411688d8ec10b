"""Slash command options: autocomplete over the catalog, and the request they make; and
what a submitted form holds."""

from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands

from core.errors import BadInputImage, InvalidParameter
from core.images import ImageWorkers
from core.requests import Catalog, LoraChoice, ParamsInput
from core.terms import Phrase

MAX_CHOICES = 25  # Discord shows at most 25 suggestions
PRESET_SIZES = ("1024x1024", "1328x1328", "1024x768", "768x1024", "1280x720", "720x1280")
SIZE_TEXT = re.compile(r"^\s*(\d{2,5})\s*[xX×*]\s*(\d{2,5})\s*$")
EDIT_IMAGE_MAX_BYTES = 10 * 1024 * 1024


def model_choices(catalog: Catalog, typed: str) -> list[app_commands.Choice[str]]:
    """Models whose id, name or alias contains what the user typed."""
    needle = typed.strip().casefold()
    found = [
        m for m in catalog.models if not needle or any(needle in n.casefold() for n in m.names())
    ]
    return [
        app_commands.Choice(name=_label(f"{m.name} ({m.family})"), value=(m.aliases or (m.id,))[0])
        for m in found[:MAX_CHOICES]
    ]


def lora_choices(catalog: Catalog, typed: str) -> list[app_commands.Choice[str]]:
    needle = typed.strip().casefold()
    found = [
        lo for lo in catalog.loras if not needle or any(needle in n.casefold() for n in lo.names())
    ]
    return [
        app_commands.Choice(name=_label(lo.name or lo.id), value=lo.id)
        for lo in found[:MAX_CHOICES]
    ]


def size_choices(typed: str) -> list[app_commands.Choice[str]]:
    """The presets that match, and what the user typed when it reads as WxH."""
    needle = typed.strip().lower()
    sizes = [s for s in PRESET_SIZES if needle in s]
    match = SIZE_TEXT.match(typed)
    if match:
        own = f"{int(match[1])}x{int(match[2])}"
        sizes = [own, *(s for s in sizes if s != own)]
    return [app_commands.Choice(name=s, value=s) for s in sizes[:MAX_CHOICES]]


def normalize_size(size: str | None) -> str | None:
    """`1024 x 768` and `1024×768` -> `1024x768`; anything else goes on to the core's check."""
    if size is None:
        return None
    match = SIZE_TEXT.match(size)
    return f"{int(match[1])}x{int(match[2])}" if match else size.strip()


def check_attachment(size: int, content_type: str | None) -> None:
    """An image to edit: an image, at most EDIT_IMAGE_MAX_BYTES."""
    if not (content_type or "").startswith("image/"):
        raise InvalidParameter("image", content_type or "?", Phrase("picture_formats"))
    if size > EDIT_IMAGE_MAX_BYTES:
        megabytes = f"{size / 1_000_000:.1f} MB"
        raise InvalidParameter("image", megabytes, Phrase("image_size"))


async def attachment_data_uri(image: discord.Attachment, images: ImageWorkers) -> str:
    """ModelScope gets an attachment's pixels as a data URI, never a Discord URL."""
    try:
        data = await image.read()
    except discord.HTTPException:
        raise BadInputImage("unreachable") from None
    return await images.data_uri(data)


def params_input(
    prompt: str,
    *,
    negative_prompt: str | None = None,
    size: str | None = None,
    seed: int | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    model: str | None = None,
    lora: str | None = None,
    lora_weight: float | None = None,
    image_url: str | None = None,
) -> ParamsInput:
    if lora_weight is not None and lora is None:
        raise InvalidParameter("lora_weight", lora_weight, Phrase("with_lora"))
    return ParamsInput(
        prompt,
        model=model,
        negative_prompt=negative_prompt,
        size=normalize_size(size),
        seed=seed,
        steps=steps,
        guidance=guidance,
        image_url=image_url,
        loras=(LoraChoice(lora, lora_weight),) if lora else (),
    )


def _label(text: str) -> str:
    return text if len(text) <= 100 else text[:99] + "…"


def form_value(data: dict[str, Any], field_id: str) -> str | None:
    """The value of the field `field_id` in a submitted form's data (None: not there)."""
    for row in data.get("components") or []:
        for field in row.get("components") or []:
            if field.get("custom_id") == field_id:
                return str(field.get("value", ""))
    return None
