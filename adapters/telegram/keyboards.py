"""Buttons: short, versioned callback data (`v1:<action>:<arg>`, under 64 bytes), so a
button still works after a restart; the job it names is read from the service."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.delivery.i18n import Translator

VERSION = "v1"
REROLL, FULL_SIZE, DELETE = "r", "f", "d"
SET_MODEL, SET_SIZE = "sm", "ss"
MAX_BYTES = 64


@dataclass(frozen=True)
class Press:
    action: str
    argument: str


def encode(action: str, argument: str) -> str:
    data = f"{VERSION}:{action}:{argument}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str) -> Press | None:
    """The button pressed, or None for data of another version or shape."""
    version, _, rest = data.partition(":")
    action, _, argument = rest.partition(":")
    if version != VERSION or not action or not argument:
        return None
    return Press(action, argument)


def result_keyboard(translator: Translator, locale: str, job_id: str) -> InlineKeyboardMarkup:
    def button(key: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            translator.text(locale, key), callback_data=encode(action, job_id)
        )

    return InlineKeyboardMarkup(
        [
            [
                button("button.reroll", REROLL),
                button("button.full_size", FULL_SIZE),
                button("button.delete", DELETE),
            ]
        ]
    )


def settings_keyboard(models: list[tuple[str, str]], sizes: list[str]) -> InlineKeyboardMarkup:
    """One row per model (label, alias), then the sizes, three to a row."""
    rows = [
        [InlineKeyboardButton(label, callback_data=encode(SET_MODEL, alias))]
        for label, alias in models
    ]
    size_buttons = [
        InlineKeyboardButton(size, callback_data=encode(SET_SIZE, size)) for size in sizes
    ]
    rows += [size_buttons[i : i + 3] for i in range(0, len(size_buttons), 3)]
    return InlineKeyboardMarkup(rows)
