"""A secret string that cannot leak through repr, str, logs or exception text."""

from __future__ import annotations

import base64
import re

# ModelScope's access tokens: "ms-" and a UUID; a little looser. Members paste them in chats
# (core.service.members): what has this shape is never logged (bot/logs.py) nor echoed.
MODELSCOPE_TOKEN_SHAPE = re.compile(r"\bms-[A-Za-z0-9][A-Za-z0-9_-]{15,199}")


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


class Sealer:
    """Seals secrets for keeping at rest (members' own tokens) and opens them again, with a
    key derived from the operator's BOT_SECRET_KEY: Fernet (AES-128-CBC with an HMAC-SHA256,
    from `cryptography`), so a sealed value read or changed without the key is refused."""

    MIN_KEY_LENGTH = 32

    def __init__(self, key: Secret) -> None:
        if len(key.reveal()) < self.MIN_KEY_LENGTH:
            raise ValueError(f"the key must be at least {self.MIN_KEY_LENGTH} characters")
        from cryptography.fernet import Fernet  # only where the feature is on
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        derived = HKDF(hashes.SHA256(), 32, salt=None, info=b"imagine-bot sealed secrets")
        self._fernet = Fernet(base64.urlsafe_b64encode(derived.derive(key.reveal().encode())))

    def seal(self, secret: Secret) -> str:
        return self._fernet.encrypt(secret.reveal().encode()).decode("ascii")

    def open(self, sealed: str, label: str) -> Secret | None:
        """The secret, or None if it was sealed with another key or tampered with."""
        from cryptography.fernet import InvalidToken

        try:
            return Secret(self._fernet.decrypt(sealed.encode("ascii")).decode(), label)
        except (InvalidToken, ValueError):
            return None
