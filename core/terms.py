"""Values inside a message that must themselves be translated.

`Term` is one word or short phrase (a scope, a state): looked up as `term.<value>`.
`Phrase` is a message of its own with values (an allowed range, a ban's reason): looked up
as `phrase.<key>` and filled in the reader's language, so the core can say *what* is allowed
without choosing the words. `ModelId` is shown by the model's catalog name.
"""

from __future__ import annotations


class Term(str):
    """A message value the translator looks up as `term.<value>` before filling it in."""

    __slots__ = ()


class Key(str):
    """A value that is a message key of its own (`status.RUNNING`): shown as that message,
    or as the part after the last dot when no catalog has it."""

    __slots__ = ()


class ModelId(str):
    """A model's repository id, which the translator shows by the catalog's name for it."""

    __slots__ = ()


class Phrase:
    """A message value the translator renders from `phrase.<key>` and `params` (which may
    hold Terms and Phrases)."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params

    def __str__(self) -> str:
        # Logs and exception text only; readers get the translated phrase.
        values = ", ".join(f"{name}={value}" for name, value in self.params.items())
        return f"{self.key}({values})" if values else self.key

    def __repr__(self) -> str:
        return f"Phrase({self!s})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Phrase) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)


def to_plain(value: object) -> object:
    """A message value as JSON keeps it (a job's failure is stored with its row), its kind
    included, so it is still translated after a restart."""
    if isinstance(value, Phrase):
        return {"phrase": value.key, "params": {k: to_plain(v) for k, v in value.params.items()}}
    for kind in (Term, Key, ModelId):
        if isinstance(value, kind):
            return {kind.__name__.lower(): str(value)}
    return value if isinstance(value, int | float | str | None) else str(value)


def from_plain(value: object) -> object:
    """The message value `to_plain` stored."""
    if not isinstance(value, dict):
        return value
    if "phrase" in value:
        params = {k: from_plain(v) for k, v in dict(value.get("params") or {}).items()}
        return Phrase(str(value["phrase"]), **params)
    for kind in (Term, Key, ModelId):
        if kind.__name__.lower() in value:
            return kind(value[kind.__name__.lower()])
    return str(value)
