"""One button-id scheme for every platform, under Telegram's 64 bytes, that also reads the
ids older versions put in chats."""

from __future__ import annotations

import pytest

from core.delivery.buttons import Action, Press, button_id, parse_button


def test_every_action_survives_the_round_trip() -> None:
    for action in Action:
        assert parse_button(button_id(action, "a1b2c3d4e5f6.42")) == Press(
            action, "a1b2c3d4e5f6.42"
        )


def test_older_and_foreign_ids() -> None:
    assert parse_button("v1:reroll:abc") == Press(Action.REROLL, "abc")  # Discord's long names
    assert parse_button("v1:delete:abc") == Press(Action.DELETE, "abc")
    for foreign in ("v2:r:abc", "v1:zz:abc", "v1:r:", "v1", "", "r:abc"):
        assert parse_button(foreign) is None


def test_an_id_over_telegrams_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        button_id(Action.SET_MODEL, "x" * 60)
