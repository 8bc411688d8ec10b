"""The inline keyboards under results and /settings; their buttons carry the core's one
button-id scheme (core.delivery.buttons), so they still work after a restart."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message

from core.delivery import Action, Translator, button_id, offered_model
from core.errors import ImagineError
from core.jobs import Job


def result_keyboard(translator: Translator, locale: str, job_id: str) -> InlineKeyboardMarkup:
    def button(key: str, action: Action) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            translator.text(locale, key), callback_data=button_id(action, job_id)
        )

    return InlineKeyboardMarkup(
        [
            [
                button("button.reroll", Action.REROLL),
                button("button.edit", Action.EDIT),
                button("button.details", Action.DETAILS),
            ],
            [button("button.full_size", Action.FULL_SIZE), button("button.delete", Action.DELETE)],
        ]
    )


ALBUM_ACTIONS = (
    (Action.REROLL, "🔁"),
    (Action.EDIT, "✏️"),
    (Action.DETAILS, "ℹ️"),
    (Action.FULL_SIZE, "🖼"),
)


def album_keyboard(jobs: list[Job], sent: tuple[Message, ...]) -> InlineKeyboardMarkup:
    """A row per image of an album: reroll, edit, details, full size and delete that one."""
    rows = []
    for number, (job, message) in enumerate(zip(jobs, sent, strict=False), start=1):
        row = [
            InlineKeyboardButton(f"{icon} {number}", callback_data=button_id(action, job.id))
            for action, icon in ALBUM_ACTIONS
        ]
        delete = button_id(Action.DELETE, f"{job.id}.{message.message_id}")
        row.append(InlineKeyboardButton(f"🗑 {number}", callback_data=delete))
        rows.append(row)
    return InlineKeyboardMarkup(rows)


def settings_keyboard(
    models: list[tuple[str, str]], sizes: list[str], enhance: tuple[str, str] | None = None
) -> InlineKeyboardMarkup:
    """One row per model (label, alias), then the sizes, three to a row, then `enhance`
    (its label, and the value a press saves) when the bot can enhance prompts."""
    rows = [
        [InlineKeyboardButton(label, callback_data=button_id(Action.SET_MODEL, alias))]
        for label, alias in models
    ]
    size_buttons = [
        InlineKeyboardButton(size, callback_data=button_id(Action.SET_SIZE, size)) for size in sizes
    ]
    rows += [size_buttons[i : i + 3] for i in range(0, len(size_buttons), 3)]
    if enhance is not None:
        label, value = enhance
        rows.append(
            [InlineKeyboardButton(label, callback_data=button_id(Action.SET_ENHANCE, value))]
        )
    return InlineKeyboardMarkup(rows)


def describe_keyboard(translator: Translator, job: Job) -> InlineKeyboardMarkup:
    """ "Imagine 1" to "Imagine 4" under a describe answer, two to a row."""
    buttons = [
        InlineKeyboardButton(
            translator.text(job.locale, "button.imagine_this", number=number),
            callback_data=button_id(Action.IMAGINE_THIS, f"{job.id}.{number - 1}"),
        )
        for number in range(1, len(job.texts) + 1)
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def enhance_keyboard(translator: Translator, job: Job) -> InlineKeyboardMarkup:
    """Under an enhanced prompt: draw it, draw the prompt as typed, or change it first."""
    choices = (
        ("button.generate", Action.GENERATE),
        ("button.use_mine", Action.USE_MINE),
        ("button.edit", Action.EDIT),
    )
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    translator.text(job.locale, key), callback_data=button_id(action, job.id)
                )
                for key, action in choices
            ]
        ]
    )


def offer_keyboard(
    translator: Translator, locale: str, error: ImagineError
) -> InlineKeyboardMarkup | None:
    """Under a refusal for a model ModelScope is failing: ask again with the one offered."""
    offered = offered_model(translator, locale, error)
    if offered is None:
        return None
    offer, label = offered
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=offer)]])
