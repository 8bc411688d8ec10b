"""Discord's JSON shapes, as much of them as discord.py reads."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

APP_ID = 800_000_000_000_000_001
GUILD = 810_000_000_000_000_001
CHANNEL = 820_000_000_000_000_001
OTHER_CHANNEL = 820_000_000_000_000_002
ALICE, BOB, ADMIN = 830_000_000_000_000_001, 830_000_000_000_000_002, 830_000_000_000_000_003
MANAGE_GUILD = 1 << 5
BOT_USER: Json = {
    "id": str(APP_ID),
    "username": "imagine",
    "discriminator": "0",
    "global_name": "Imagine",
    "avatar": None,
    "bot": True,
}
_ids = itertools.count(700_000_000_000_000_000)


def user(user_id: int | str) -> Json:
    return {"id": str(user_id), "username": f"u{user_id}", "discriminator": "0", "avatar": None}


def application_info() -> Json:
    return {
        "id": str(APP_ID),
        "name": "imagine",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(ADMIN),
        "verify_key": "0" * 64,
        "flags": 0,
        "summary": "",
    }


def guild() -> Json:
    return {
        "id": str(GUILD),
        "name": "Art club",
        "owner_id": str(ADMIN),
        "member_count": 3,
        "preferred_locale": "en-US",
        "premium_tier": 0,
        "roles": [
            {
                "id": str(GUILD),
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": [_text_channel(CHANNEL, "art"), _text_channel(OTHER_CHANNEL, "general")],
        "members": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "threads": [],
    }


def _text_channel(channel_id: int, name: str) -> Json:
    return {
        "id": str(channel_id),
        "type": 0,
        "name": name,
        "position": 0,
        "guild_id": str(GUILD),
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


def attachment(
    attachment_id: int, name: str, size: int, url: str, content_type: str = "image/png"
) -> Json:
    return {
        "id": str(attachment_id),
        "filename": name,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
        "width": 64,
        "height": 64,
    }


def interaction(
    kind: int,
    data: Json,
    *,
    user_id: int,
    in_guild: bool = True,
    channel_id: int = CHANNEL,
    locale: str = "en-US",
    permissions: int = 0,
    size_limit: int = 10 * 1024 * 1024,
    message: Json | None = None,
) -> Json:
    """An INTERACTION_CREATE payload (kind 2 command, 3 component, 4 autocomplete, 5 modal)."""
    identifier = next(_ids)
    payload: Json = {
        "id": str(identifier),
        "application_id": str(APP_ID),
        "type": kind,
        "data": data,
        "token": f"itoken-{identifier}",
        "version": 1,
        "locale": locale,
        "attachment_size_limit": size_limit,
        "app_permissions": "0",
        "entitlements": [],
        "channel_id": str(channel_id),
    }
    if message is not None:
        payload["message"] = message
    if in_guild:
        payload.update(
            guild_id=str(GUILD),
            guild_locale="en-US",
            context=0,
            channel=_text_channel(channel_id, "art"),
            member={
                "user": user(user_id),
                "roles": [],
                "permissions": str(permissions),
                "joined_at": datetime.now(UTC).isoformat(),
                "deaf": False,
                "mute": False,
                "flags": 0,
            },
        )
    else:
        payload.update(
            context=1,
            user=user(user_id),
            channel={"id": str(channel_id), "type": 1, "recipients": [user(user_id)]},
        )
    return payload


def command_data(name: str, options: list[Json], resolved: Json | None = None) -> Json:
    data: Json = {"id": str(next(_ids)), "name": name, "type": 1, "options": options}
    if resolved:
        data["resolved"] = resolved
    return data


def options(**values: Any) -> list[Json]:
    """Slash command options from keyword arguments (strings 3, ints 4, booleans 5, floats
    10)."""
    made = []
    for name, value in values.items():
        kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
        kind = 10 if isinstance(value, float) else kind
        made.append({"name": name, "type": kind, "value": value})
    return made
