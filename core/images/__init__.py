"""Images: fetching ModelScope's outputs safely, checking and fitting them to a chat's
limits with Pillow, in worker processes off the event loop."""

from core.images.download import ImageFetcher
from core.images.origins import Origin, parse_origins
from core.images.processing import FitRules, FittedImage, ImageInfo
from core.images.workers import ImageWorkers

__all__ = [
    "FitRules",
    "FittedImage",
    "ImageFetcher",
    "ImageInfo",
    "ImageWorkers",
    "Origin",
    "parse_origins",
]
