"""A ModelScope API-Inference simulator on loopback, for tests, demos and benchmarks."""

from core.simulator.faults import Fault
from core.simulator.server import Simulator
from core.simulator.timing import Timing

__all__ = ["Fault", "Simulator", "Timing"]
