"""The prompt filter: words and regular expressions, global with per-chat additions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import InvalidParameter
from core.terms import Phrase


@dataclass(frozen=True)
class PromptFilter:
    """Words match anywhere, ignoring case (Chinese has no word boundaries); regexes search."""

    words: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                allowed = Phrase("regex", detail=str(exc))
                raise InvalidParameter("filter pattern", pattern, allowed) from None

    def match(self, *texts: str) -> str | None:
        """The first rule any of `texts` breaks, as `word:...` or `regex:...`; else None."""
        for text in texts:
            folded = text.casefold()
            for word in self.words:
                if word.casefold() in folded:
                    return f"word:{word}"
            for pattern in self.patterns:
                if re.search(pattern, text, re.IGNORECASE):
                    return f"regex:{pattern}"
        return None

    def extended(self, words: Iterable[str], patterns: Iterable[str]) -> PromptFilter:
        return PromptFilter((*self.words, *words), (*self.patterns, *patterns))
