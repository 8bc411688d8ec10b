"""The service: the two doors adapters use into the core (the generation service, and the
admin facade with who-may-do-what decided here), the community's own rules behind them,
and `Core`, which puts the running core together from its parts."""

from core.service.access import Access, Actor, ChatRights
from core.service.admin import CommunityAdmin
from core.service.core import Core
from core.service.generation import GenerationService
from core.service.prompt_requests import PromptRequests
from core.service.prompts import PromptSettings
from core.service.rules import CommunityRules, member_key

__all__ = [
    "Access",
    "Actor",
    "ChatRights",
    "CommunityAdmin",
    "CommunityRules",
    "Core",
    "GenerationService",
    "PromptRequests",
    "PromptSettings",
    "member_key",
]
