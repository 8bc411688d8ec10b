"""Edit on Telegram: the Edit button asks for a new prompt (a message the presser answers by
replying to it), and the reply draws the job again with that prompt (or, under an enhanced
prompt, draws the changed one).

The question carries the job's id in its own text, so a reply still finds its job after a
restart; nothing is kept in between.
"""

from __future__ import annotations

import logging
import re

from telegram import CallbackQuery, ForceReply, Message, MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from adapters.telegram.render import TelegramNotifier
from adapters.telegram.target import ReplyTarget
from adapters.telegram.who import locale_of, message_of, user_key
from core.delivery import Translator
from core.errors import ImagineError
from core.jobs import JobKind
from core.service import GenerationService

log = logging.getLogger("imagine.telegram")
JOB_MARK = re.compile(r"#([0-9a-f]{8,32})\b")
PLACEHOLDER_MAX = 64  # Telegram's limit for input_field_placeholder


class PromptEdits:
    def __init__(
        self, service: GenerationService, translator: Translator, notifier: TelegramNotifier
    ) -> None:
        self._service = service
        self._t = translator
        self._notifier = notifier

    def register(self, app: Application) -> None:  # type: ignore[type-arg]
        replies = filters.REPLY & filters.TEXT & ~filters.COMMAND
        app.add_handler(MessageHandler(replies, self.replied))

    async def ask(self, update: Update, query: CallbackQuery, job_id: str) -> str:
        """The Edit button: a question under the result, addressed to the presser (a mention
        makes Telegram open the reply field for them alone), with the old prompt as hint."""
        message = query.message
        if not isinstance(message, Message):
            return ""
        job = await self._service.rerollable(user_key(update), job_id)
        name = query.from_user.first_name or str(query.from_user.id)
        text = self._t.text(locale_of(update), "edit.ask", name=name, job_id=job.id)
        mention = MessageEntity(
            MessageEntity.TEXT_MENTION, 0, _utf16_length(name), user=query.from_user
        )
        old = (job.texts[0] if job.kind is JobKind.ENHANCE else job.params.prompt)[:PLACEHOLDER_MAX]
        hint = ForceReply(selective=True, input_field_placeholder=old)
        await message.reply_text(text, entities=[mention], reply_markup=hint)
        return ""

    async def replied(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A reply to one of our Edit questions: the job drawn again with the new prompt.
        Replies to anything else are not ours and pass untouched."""
        message = message_of(update)
        asked = message.reply_to_message
        job_id = _asked_job(asked, context.bot.id) if asked is not None else None
        if asked is None or job_id is None:
            return
        locale = locale_of(update)
        user = user_key(update)
        try:
            job = await self._service.rerollable(user, job_id)
        except ImagineError as error:
            await message.reply_text(self._t.error(locale, error))
            return
        status = await message.reply_text(self._t.text(locale, "status.accepted"))
        target = ReplyTarget.answering(message, status.message_id).encode()
        try:
            if job.kind is JobKind.ENHANCE:  # an enhanced prompt, changed before it is drawn
                await self._service.prompts.draw_enhanced(user, job_id, target, edited=message.text)
            else:
                await self._service.reroll(user, job_id, target, message.text)
        except ImagineError as error:
            await self._notifier.show_status(
                ReplyTarget.decode(target), self._t.error(locale, error)
            )
        try:  # the question is answered: it need not stay in the chat
            await context.bot.delete_message(message.chat_id, asked.message_id)
        except TelegramError as error:
            log.info("the edit question stays: %s", error)


def _asked_job(asked: Message, bot_id: int) -> str | None:
    """The job an Edit question of this bot is about, else None."""
    if asked.from_user is None or asked.from_user.id != bot_id:
        return None
    found = JOB_MARK.findall(asked.text or "")
    return found[-1] if found else None


def _utf16_length(text: str) -> int:
    """Telegram counts entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
