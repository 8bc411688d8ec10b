"""How long simulated tasks take: a queue phase, then a run phase."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Timing:
    """Task durations in seconds.

    `two-phase` (the real service): PENDING for an exponential time of mean `queue_mean`,
    then RUNNING for a normal time (`run_mean`, `run_sd`). `lognormal`: one wide phase
    with median `run_mean` and 95th percentile `p95`, no state change. `scale` multiplies
    every duration, so a benchmark can run an hour of traffic in a minute.
    """

    queue_mean: float = 0.0
    run_mean: float = 1.0
    run_sd: float = 0.0
    shape: Literal["two-phase", "lognormal"] = "two-phase"
    p95: float = 0.0
    scale: float = 1.0

    def draw(self, rng: random.Random) -> tuple[float, float]:
        """(seconds PENDING, seconds RUNNING) for one new task."""
        if self.shape == "lognormal":
            sigma = math.log(max(self.p95, self.run_mean) / self.run_mean) / 1.645
            return 0.0, self.scale * rng.lognormvariate(math.log(self.run_mean), sigma)
        queue = rng.expovariate(1 / self.queue_mean) if self.queue_mean > 0 else 0.0
        run = max(0.05 * self.run_mean, rng.gauss(self.run_mean, self.run_sd))
        return self.scale * queue, self.scale * run
