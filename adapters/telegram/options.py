"""`/imagine a fox in snow --no blur --size 1024x768 --n 2`: the text of a command, parsed.

Words before, between and after flags form the prompt. `--no`/`--neg` take every word up to
the next flag. Phones turn `--` into an em dash, so `—size` works too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core.errors import InvalidParameter
from core.requests import ParamsInput, parse_float, parse_int, parse_lora
from core.terms import Phrase

VALUE_FLAGS = ("size", "ar", "seed", "steps", "guidance", "model", "lora", "n")
TEXT_FLAGS = ("no", "neg")
SWITCHES = ("enhance",)  # flags without a value
ALL_FLAGS = ", ".join(f"--{name}" for name in (*TEXT_FLAGS, *VALUE_FLAGS, *SWITCHES))


@dataclass(frozen=True)
class ParsedCommand:
    params: ParamsInput
    count: int
    enhance: bool | None = None  # --enhance: the prompt rewritten richer first


def parse_imagine(text: str) -> ParsedCommand:
    """The parameters and image count of an `/imagine` command's arguments."""
    prompt: list[str] = []
    negative: list[str] = []
    values: dict[str, list[str]] = {}
    switches: set[str] = set()
    words, target = _words(text), prompt
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("--"):
            target.append(word)
            continue
        name = word[2:].lower()
        if name in TEXT_FLAGS:
            target = negative
        elif name in SWITCHES:
            switches.add(name)
        elif name in VALUE_FLAGS and index < len(words):
            values.setdefault(name, []).append(words[index])
            index, target = index + 1, prompt
        else:
            allowed = ALL_FLAGS if name not in VALUE_FLAGS else Phrase("flag_value")
            raise InvalidParameter("flag", word, allowed)
    parsed = _build(" ".join(prompt), " ".join(negative), values)
    return dataclasses.replace(parsed, enhance=True if "enhance" in switches else None)


def _words(text: str) -> list[str]:
    return [w.replace("—", "--", 1) if w.startswith("—") else w for w in text.split()]


def _build(prompt: str, negative: str, values: dict[str, list[str]]) -> ParsedCommand:
    def one(name: str) -> str | None:
        given = values.get(name)
        if given and len(given) > 1:
            raise InvalidParameter(name, " ".join(given), Phrase("flag_once", flag=name))
        return given[0] if given else None

    seed, steps, guidance, count = one("seed"), one("steps"), one("guidance"), one("n")
    params = ParamsInput(
        prompt=prompt,
        model=one("model"),
        negative_prompt=negative or None,
        size=one("size"),
        aspect_ratio=one("ar"),
        seed=parse_int("seed", seed) if seed else None,
        steps=parse_int("steps", steps) if steps else None,
        guidance=parse_float("guidance", guidance) if guidance else None,
        loras=tuple(parse_lora(text) for text in values.get("lora", [])),
    )
    return ParsedCommand(params, parse_int("n", count) if count else 1)
