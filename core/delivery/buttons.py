"""One scheme for the id of every button the bot shows, on every platform.

`v1:<action>:<argument>`: short, versioned and parseable, under Telegram's 64-byte
`callback_data` (Discord allows 100 characters in a `custom_id`), so a button keeps working
after a restart: whatever it acts on is read again from the store. Buttons already posted
by older versions keep working: `parse_button` also reads the long action names Discord's
buttons carried (`v1:reroll:<job>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

VERSION = "v1"
MAX_BYTES = 64  # Telegram's limit, the smaller of the two
PATTERN = rf"^{VERSION}:[a-z]+:\S+$"  # what a platform's router hands to `parse_button`


class Action(StrEnum):
    """What a button does; the value is what its id carries."""

    REROLL = "r"  # the same request, a new seed (argument: job id)
    FULL_SIZE = "f"  # the original file (argument: job id)
    DELETE = "d"  # remove the result (argument: job id, `.message` for one of an album)
    EDIT = "e"  # the same request with a new prompt (argument: job id)
    DETAILS = "i"  # the parameters, to the presser alone (argument: job id)
    SET_MODEL = "sm"  # save a default model (argument: its alias)
    SET_SIZE = "ss"  # save a default size (argument: WxH)
    TAKE_OFFER = "o"  # ask again with the working model offered (argument: the offer's id)
    IMAGINE_THIS = "t"  # draw a describe answer's prompt (argument: `<job id>.<number>`)
    GENERATE = "g"  # draw an enhance answer's prompt (argument: job id)
    USE_MINE = "m"  # draw the prompt as the user typed it instead (argument: job id)
    EDIT_ENHANCED = "x"  # change an enhanced prompt, then draw it (argument: job id)
    SET_ENHANCE = "se"  # save whether the user's prompts are enhanced (argument: on, off)


_LONG_NAMES = {"reroll": Action.REROLL, "edit": Action.EDIT, "details": Action.DETAILS}
_LONG_NAMES["delete"] = Action.DELETE


@dataclass(frozen=True)
class Press:
    action: Action
    argument: str


def button_id(action: Action, argument: str) -> str:
    data = f"{VERSION}:{action.value}:{argument}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"button id over {MAX_BYTES} bytes: {data!r}")
    return data


def parse_button(data: str) -> Press | None:
    """The button pressed, or None for an id of another version or shape."""
    version, _, rest = data.partition(":")
    name, _, argument = rest.partition(":")
    if version != VERSION or not name or not argument:
        return None
    action = _LONG_NAMES.get(name)
    if action is None:
        try:
            action = Action(name)
        except ValueError:
            return None
    return Press(action, argument)
