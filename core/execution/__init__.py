"""Running a job against ModelScope: the tokens (accounts) tasks run on, the engine (submit,
poll, download, keep) and the runner that moves a job through its states, writing each to
its row before announcing it."""

from core.execution.engine import GeneratedImage, ImageEngine, Progress
from core.execution.runner import JobRunner, Outcome
from core.execution.text_lane import ChatAnswer, TextLane
from core.execution.tokens import TokenAccount, TokenPool

__all__ = [
    "ChatAnswer",
    "GeneratedImage",
    "ImageEngine",
    "JobRunner",
    "Outcome",
    "Progress",
    "TextLane",
    "TokenAccount",
    "TokenPool",
]
