"""A chat model's answer is untrusted text: these turn it into prompts, or into nothing."""

from __future__ import annotations

import re
import unicodedata

from core.requests.validation import clean_text

PROMPT_CAP = 600  # characters of one prompt a chat model wrote (a typed one may be longer)
DESCRIBED_CAP = 300  # of each of a describe's four: with their translations, one message
MARKUP = re.compile(r"<[^>]{0,200}>|[*_`#>~|]+|\[(.*?)\]\((?:.*?)\)")
LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)、:]|[-•*+]|prompt\s*\d*\s*[:：])\s*", re.IGNORECASE)
QUOTES = "\"'“”‘’「」『』"


def cleaned(text: str, cap: int = PROMPT_CAP) -> str:
    """One line of an answer as a prompt: no markup, list marks or quotes around, one line,
    cut at a word boundary under `cap` characters."""
    line = MARKUP.sub(lambda found: found.group(1) or "", clean_text(text))
    line = LIST_MARK.sub("", " ".join(line.split())).strip().strip(QUOTES).strip()
    if len(line) <= cap:
        return line
    cut = line[:cap]
    return (cut.rsplit(" ", 1)[0] if " " in cut[cap // 2 :] else cut).rstrip(" ,;")


def prompts_in(answer: str, at_most: int = 4) -> list[str]:
    """The prompts an answer lists, one per line, leaving out a preamble ("Here are…:")."""
    found = []
    for line in answer.splitlines():
        prompt = cleaned(line, DESCRIBED_CAP)
        if len(prompt) < 3 or prompt.endswith((":", "：")):
            continue
        found.append(prompt)
    return found[:at_most]


def first_prompt(answer: str) -> str:
    """An answer that should be one prompt: its lines as one."""
    return cleaned(" ".join(answer.splitlines()))


def is_english(text: str) -> bool:
    """No letters of another script than Latin (digits and punctuation do not count)."""
    return all(not ch.isalpha() or unicodedata.name(ch, "").startswith("LATIN") for ch in text)
