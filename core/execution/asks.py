"""What the bot asks of ModelScope's chat models (in English: they follow it best), and what
it makes of their answers, which are untrusted text: stripped of markup, one prompt a line,
capped (`_text_outputs`). Run on a `TextLane`; the service charges for them and filters
the prompts (`core.service.prompts`), the CLI calls them as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.delivery.i18n import normalize_locale
from core.errors import ImagineError
from core.execution import _instructions as ask
from core.execution._text_outputs import first_prompt, is_english, prompts_in
from core.execution.text_lane import TextLane
from core.modelscope.chat import ChatMessage

log = logging.getLogger("imagine.text")

__all__ = ["Asked", "describe", "enhance", "in_language", "is_english", "to_english"]


@dataclass(frozen=True)
class Asked:
    """The prompts an answer held (none when it held nothing usable), and the token's label."""

    texts: tuple[str, ...]
    token: str


async def describe(lane: TextLane, user: str, model: str, image: str) -> Asked:
    """Up to four English prompts for a picture like `image` (a URL or a data URI)."""
    messages = [
        ChatMessage("system", ask.DESCRIBE),
        ChatMessage("user", "Describe this picture.", (image,)),
    ]
    answer = await lane.call(user, model, messages)
    return Asked(tuple(prompts_in(answer.text)), answer.token)


async def enhance(lane: TextLane, user: str, model: str, prompt: str, english: bool) -> Asked:
    """`prompt` rewritten richer; in English when the image model prefers it."""
    language = ask.IN_ENGLISH if english else ask.SAME_LANGUAGE
    messages = [
        ChatMessage("system", ask.ENHANCE.format(language=language)),
        ChatMessage("user", prompt),
    ]
    return await _one_prompt(lane, user, model, messages)


async def to_english(lane: TextLane, user: str, model: str, prompt: str) -> Asked:
    messages = [ChatMessage("system", ask.TO_ENGLISH), ChatMessage("user", prompt)]
    return await _one_prompt(lane, user, model, messages)


async def in_language(
    lane: TextLane, user: str, model: str, prompts: tuple[str, ...], locale: str
) -> tuple[str, ...]:
    """`prompts` in the language of `locale`, one for each; none for English, or when the
    translation fails or does not match them line for line (the English ones still serve)."""
    language = ask.LANGUAGES.get(normalize_locale(locale))
    if language is None or not prompts:
        return ()
    system = ask.TO_LANGUAGE.format(language=language)
    messages = [ChatMessage("system", system), ChatMessage("user", "\n".join(prompts))]
    try:
        answer = await lane.call(user, model, messages)
    except ImagineError as error:
        log.warning("the prompts could not be translated (%s): English only", error)
        return ()
    lines = [first_prompt(line) for line in answer.text.splitlines() if line.strip()]
    return tuple(lines) if len(lines) == len(prompts) else ()


async def _one_prompt(lane: TextLane, user: str, model: str, messages: list[ChatMessage]) -> Asked:
    answer = await lane.call(user, model, messages)
    prompt = first_prompt(answer.text)
    return Asked((prompt,) if prompt else (), answer.token)
