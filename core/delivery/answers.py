"""The words of a chat call's answer, alike on every platform: a describe answer's prompts
(with their translations) and an enhanced prompt shown for the user to choose."""

from __future__ import annotations

from core.delivery.i18n import Translator
from core.jobs.job import Job


def described_text(translator: Translator, job: Job) -> str:
    """The prompts, numbered as their buttons are, each with its translation under it."""
    lines = [translator.text(job.locale, "describe.title")]
    translations = job.translations if len(job.translations) == len(job.texts) else ()
    for number, prompt in enumerate(job.texts, start=1):
        lines.append(f"{number}. {prompt}")
        if translations:
            lines.append(f"    {translations[number - 1]}")
    lines.append(translator.text(job.locale, "describe.pick"))
    return "\n".join(lines)


def enhanced_text(translator: Translator, job: Job) -> str:
    return translator.text(
        job.locale, "enhance.shown", enhanced=job.texts[0], typed=job.params.prompt
    )
