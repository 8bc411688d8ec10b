"""The Telegram adapter: commands in, status edits and photos out (python-telegram-bot 22)."""

PLATFORM = "telegram"
