"""Button presses: reroll, edit, details, full size, delete, the /settings choices, a
working model offered in place of a failing one, and the choices under a describe answer
("Imagine 1".."4") and under an enhanced prompt (Generate, Use mine; Edit is edits.py's)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import CallbackQuery, Message, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from adapters.telegram.edits import PromptEdits
from adapters.telegram.render import TelegramNotifier
from adapters.telegram.target import ReplyTarget
from adapters.telegram.who import actor, locale_of, request_of, user_key
from core.delivery import Action, Translator, details_text, parse_button, settings_saved_text
from core.errors import ImagineError
from core.service import GenerationService

# What a press does; it answers the text shown to the presser alone ("" for none).
Handler = Callable[[Update, CallbackQuery, str], Awaitable[str]]
ALERT_MAX = 200  # Telegram's limit for a callback answer's text


class Buttons:
    def __init__(
        self, service: GenerationService, translator: Translator, notifier: TelegramNotifier
    ) -> None:
        self._service = service
        self._t = translator
        self._notifier = notifier
        edits = PromptEdits(service, translator, notifier)
        self._edits = edits
        self._actions: dict[Action, Handler] = {
            Action.REROLL: self._reroll,
            Action.EDIT: edits.ask,
            Action.DETAILS: self._details,
            Action.FULL_SIZE: self._full_size,
            Action.DELETE: self._delete,
            Action.SET_MODEL: self._set_model,
            Action.SET_SIZE: self._set_size,
            Action.TAKE_OFFER: self._take_offer,
            Action.IMAGINE_THIS: self._imagine_this,
            Action.GENERATE: self._generate,
            Action.USE_MINE: self._use_mine,
            Action.SET_ENHANCE: self._set_enhance,
        }

    def register(self, app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(CallbackQueryHandler(self.pressed))  # every press gets an answer
        self._edits.register(app)

    async def pressed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        press = parse_button(query.data or "")
        if press is None or press.action not in self._actions:  # older, or not ours
            text = self._t.text(locale_of(update), "button.expired")
            await query.answer(text, show_alert=True)  # else the client spins forever
            return
        try:
            answer = await self._actions[press.action](update, query, press.argument)
        except ImagineError as error:
            await query.answer(self._t.error(locale_of(update), error), show_alert=True)
            return
        await query.answer(answer or None, show_alert=bool(answer))

    async def _reroll(self, update: Update, query: CallbackQuery, job_id: str) -> str:
        await self._service.rerollable(user_key(update), job_id)  # else only the presser hears
        return await self._ask_again(
            update, query, lambda target: self._service.reroll(user_key(update), job_id, target)
        )

    async def _take_offer(self, update: Update, query: CallbackQuery, offer: str) -> str:
        """The refused request again, with the working model offered under the refusal."""
        await self._service.offer_open(user_key(update), offer)  # else only the presser hears
        return await self._ask_again(
            update, query, lambda target: self._service.take_offer(user_key(update), offer, target)
        )

    async def _imagine_this(self, update: Update, query: CallbackQuery, argument: str) -> str:
        """A describe answer's prompt, drawn for whoever pressed, charged to them."""
        job_id, _, number = argument.partition(".")
        await self._service.prompts.answer(job_id)  # else only the presser hears
        prompts = self._service.prompts

        def ask(target: str) -> Awaitable[object]:
            return prompts.imagine_this(request_of(update, target), job_id, int(number))

        return await self._ask_again(update, query, ask)

    async def _generate(self, update: Update, query: CallbackQuery, job_id: str) -> str:
        return await self._draw_enhanced(update, query, job_id, mine=False)

    async def _use_mine(self, update: Update, query: CallbackQuery, job_id: str) -> str:
        return await self._draw_enhanced(update, query, job_id, mine=True)

    async def _draw_enhanced(
        self, update: Update, query: CallbackQuery, job_id: str, *, mine: bool
    ) -> str:
        user, prompts = user_key(update), self._service.prompts
        await self._service.rerollable(user, job_id)  # theirs, else only the presser hears
        return await self._ask_again(
            update, query, lambda target: prompts.draw_enhanced(user, job_id, target, mine=mine)
        )

    async def _ask_again(
        self, update: Update, query: CallbackQuery, ask: Callable[[str], Awaitable[object]]
    ) -> str:
        """A new status message under the pressed one, then `ask` (with its reply target);
        a refusal is said in that status message."""
        target = await self._new_status(update, query)
        if target is not None:
            try:
                await ask(target.encode())
            except ImagineError as error:
                await self._notifier.show_status(target, self._t.error(locale_of(update), error))
        return ""

    async def _new_status(self, update: Update, query: CallbackQuery) -> ReplyTarget | None:
        """A new status message under the pressed one, for the job a press asks for; None
        when the pressed message is gone (nowhere to answer)."""
        message = query.message
        if not isinstance(message, Message):
            return None
        status = await query.get_bot().send_message(
            message.chat.id,
            self._t.text(locale_of(update), "status.accepted"),
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
        )
        return ReplyTarget.answering(message, status.message_id)

    async def _details(self, update: Update, query: CallbackQuery, job_id: str) -> str:
        """What the picture was made with: an alert to the presser when it fits one, else a
        reply under the picture."""
        job = await self._service.job(job_id)
        locale = locale_of(update)
        if job is None:
            return self._t.text(locale, "error.job_not_found", job_id=job_id)
        text = details_text(self._t, locale, job)
        if len(text) <= ALERT_MAX or not isinstance(query.message, Message):
            return text[:ALERT_MAX]
        await query.message.reply_text(text)
        return ""

    async def _full_size(self, update: Update, query: CallbackQuery, job_id: str) -> str:
        job = await self._service.job(job_id)
        message = query.message
        if job is None or not job.result_path or message is None:
            return self._t.text(locale_of(update), "error.job_not_found", job_id=job_id)
        path = Path(job.result_path)
        data = await asyncio.to_thread(path.read_bytes)
        await query.get_bot().send_document(
            message.chat.id, data, filename=path.name, reply_to_message_id=message.message_id
        )
        return ""

    async def _delete(self, update: Update, query: CallbackQuery, argument: str) -> str:
        job_id, _, album_message = argument.partition(".")
        message = query.message
        if message is None:
            return ""
        await self._service.deletable(actor(update, query.get_bot()), job_id)
        target = int(album_message) if album_message else message.message_id
        await query.get_bot().delete_message(message.chat.id, target)
        return ""

    async def _set_model(self, update: Update, query: CallbackQuery, alias: str) -> str:
        change = await self._service.set_defaults(user_key(update), model=alias)
        return settings_saved_text(self._t, locale_of(update), "model", alias, change)

    async def _set_size(self, update: Update, query: CallbackQuery, size: str) -> str:
        change = await self._service.set_defaults(user_key(update), size=size)
        return settings_saved_text(self._t, locale_of(update), "size", size, change)

    async def _set_enhance(self, update: Update, query: CallbackQuery, value: str) -> str:
        change = await self._service.set_defaults(user_key(update), enhance=value)
        saved = "on" if change.saved.get("enhance") == "on" else "off"
        return self._t.text(locale_of(update), f"settings.enhance_saved_{saved}")
