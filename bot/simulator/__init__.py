"""A ModelScope API-Inference simulator on loopback, for tests, demos and benchmarks."""

from bot.simulator.faults import Fault
from bot.simulator.server import Simulator
from bot.simulator.timing import Timing

__all__ = ["Fault", "Simulator", "Timing"]
