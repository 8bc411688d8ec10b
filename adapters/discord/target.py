"""Where a Discord job's answers go: the interaction's webhook while its token lives, then
the channel (or a DM). Stored with the job, so delivery works after a restart."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

# Discord keeps an interaction token for 15 minutes; stop trusting it a little before.
TOKEN_LIFETIME_SECONDS = 15 * 60 - 30


@dataclass(frozen=True)
class DiscordTarget:
    application_id: int
    token: str
    message_id: int  # the response (status) message the interaction created
    channel_id: int
    user_id: int
    issued_at: float  # wall-clock seconds when the interaction arrived
    size_limit: int  # bytes per attachment in that place (interaction.filesize_limit)
    guild_id: int | None = None

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> DiscordTarget:
        return cls(**json.loads(text))

    def token_alive(self, now: float) -> bool:
        return now < self.issued_at + TOKEN_LIFETIME_SECONDS
