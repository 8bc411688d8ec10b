"""A secret string that cannot leak through repr, str, logs or exception text."""

from __future__ import annotations


class Secret:
    """Holds a token; only `reveal()` gives it back, so every use is deliberate."""

    __slots__ = ("_label", "_value")

    def __init__(self, value: str, label: str = "secret") -> None:
        self._value = value
        self._label = label

    def reveal(self) -> str:
        return self._value

    @property
    def label(self) -> str:
        """A name that is safe to log, such as `token#2`."""
        return self._label

    def __repr__(self) -> str:
        return f"Secret({self._label})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
