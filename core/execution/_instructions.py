"""What the bot asks of ModelScope's chat models, in English (they follow it best)."""

from __future__ import annotations

DESCRIBE = (
    "Describe the image as prompts for a text-to-image model. Write four different prompts "
    "in English, one per line, each under 60 words: subject, setting, style, lighting and "
    "composition. No numbering, no commentary."
)
ENHANCE = (
    "Rewrite the user's prompt for a text-to-image model: richer and more specific (subject, "
    "setting, lighting, style, composition), keeping its meaning. Under 80 words. {language} "
    "Answer with the prompt only."
)
SAME_LANGUAGE = "Write in the language of the prompt."
IN_ENGLISH = "Write in English."
TO_ENGLISH = (
    "Translate the user's text-to-image prompt into English, keeping every detail. Answer "
    "with the translation only."
)
TO_LANGUAGE = (
    "Translate each line of the user's text into {language}, one line for each line. Answer "
    "with the translations only."
)
LANGUAGES = {"zh": "Simplified Chinese"}  # a user's locale: the language a model is asked for
