"""Delivery and words: events routed to each platform's notifier (a batch assembled once),
how often progress is shown, the one button-id scheme, and everything a user reads, in
their language (English and Simplified Chinese)."""

from core.delivery.answers import described_text, enhanced_text
from core.delivery.buttons import PATTERN, Action, Press, button_id, parse_button
from core.delivery.i18n import DEFAULT_LOCALE, Translator, load_translator, normalize_locale
from core.delivery.notifiers import MemoryNotifier, PlatformNotifiers
from core.delivery.progress import ProgressThrottle
from core.delivery.render import (
    batch_summary,
    cancel_text,
    caption,
    details_text,
    event_text,
    failure_reason,
    history_text,
    models_text,
    offered_model,
    queue_text,
    quota_text,
    settings_saved_text,
    stats_text,
    token_text,
)

__all__ = [
    "DEFAULT_LOCALE",
    "PATTERN",
    "Action",
    "MemoryNotifier",
    "PlatformNotifiers",
    "Press",
    "ProgressThrottle",
    "Translator",
    "batch_summary",
    "button_id",
    "cancel_text",
    "caption",
    "described_text",
    "details_text",
    "enhanced_text",
    "event_text",
    "failure_reason",
    "history_text",
    "load_translator",
    "models_text",
    "normalize_locale",
    "offered_model",
    "parse_button",
    "queue_text",
    "quota_text",
    "settings_saved_text",
    "stats_text",
    "token_text",
]
