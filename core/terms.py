"""A word inside a message that must itself be translated (a scope, a state)."""

from __future__ import annotations


class Term(str):
    """A message value the translator looks up as `term.<value>` before filling it in."""

    __slots__ = ()
