"""A poll policy that learns each workload's run time and polls close to a task's likely end.

A ModelScope task waits `PENDING` in ModelScope's queue for a time nobody can predict, then
runs for a time that is narrow for a given model and size. So the policy polls every
`pending_every` seconds while a task waits. Once a poll sees it running, the run began
between that poll and the one before, and the run times of finished tasks of the same
workload (their `time_taken`) say when it will likely end: the policy lays out the
remaining polls there, each covering at most `quantile_step` of the probability and at most
`delay_budget` seconds of expected delay. Until a workload has `warmup` finished tasks, when
its run times are wide (log-sd above `widest_spread`: then no plan does much better than a
fixed interval at the same number of polls), and once a task outlives its likely end, it
polls every `fallback` seconds like a fixed interval.
bench/ measures it against fixed intervals (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from core.modelscope.runtimes import RunTimes, Spread, TaskTrack

START_POINTS = 8  # the run's start is spread over this many points between two polls
MAX_PLANNED_POLLS = 200


@dataclass(frozen=True)
class AdaptiveSettings:
    """The policy's knobs; every one but the ratios and counts is in seconds."""

    fallback: float = 3.0
    pending_every: float = 5.0
    quantile_step: float = 0.12
    delay_budget: float = 0.1
    min_gap: float = 0.25
    max_gap: float = 20.0
    last_quantile: float = 0.97
    warmup: int = 5
    widest_spread: float = 0.35  # log-sd of run times beyond which no plan beats `fallback`

    def scaled(self, factor: float) -> AdaptiveSettings:
        """The same policy on a clock `factor` times as fast (a benchmark's scaled time)."""
        seconds = ("fallback", "pending_every", "delay_budget", "min_gap", "max_gap")
        return replace(self, **{name: getattr(self, name) * factor for name in seconds})

    def __post_init__(self) -> None:
        times = [getattr(self, f.name) for f in fields(self) if f.type == "float"]
        if min(times) <= 0 or not 0 < self.last_quantile < 1 or self.warmup < 1:
            raise ValueError("adaptive polling settings must be positive")


def end_distribution(
    runs: Spread, started_after: float, started_by: float
) -> Callable[[float], float]:
    """P(the task has ended by elapsed `x`): a run time drawn from `runs`, started at a
    moment spread evenly over (`started_after`, `started_by`]."""
    width = started_by - started_after
    points = START_POINTS if width > 0 else 1
    starts = [started_by - width * (i + 0.5) / points for i in range(points)]
    mean, spread = runs.mean, runs.spread * math.sqrt(2)

    def cdf(x: float) -> float:
        total = sum(1 + math.erf((math.log(x - s) - mean) / spread) for s in starts if x > s)
        return total / (2 * points)

    return cdf


def plan_polls(
    cdf: Callable[[float], float], now: float, settings: AdaptiveSettings
) -> list[float]:
    """Poll times after `now`: each step stops where it covers `quantile_step` more of the
    probability or costs `delay_budget` seconds of expected delay, whichever comes first."""
    plan: list[float] = []
    step = settings.min_gap / 2
    t, done = now, cdf(now)
    while done < settings.last_quantile and len(plan) < MAX_PLANNED_POLLS:
        x, cost, previous = t, 0.0, done
        while x - t < settings.max_gap:
            reached = cdf(x + step)
            cost += ((previous + reached) / 2 - done) * step
            x, previous = x + step, reached
            if cost > settings.delay_budget or reached >= done + settings.quantile_step:
                break
        t = max(x, t + settings.min_gap)
        done = cdf(t)
        plan.append(t)
    return plan


class AdaptivePolicy:
    """Implements `core.modelscope.polling.PollPolicy`, planning from what `run_times` learned
    (one `RunTimes` for every engine, so every token's tasks teach it)."""

    def __init__(self, run_times: RunTimes, settings: AdaptiveSettings | None = None) -> None:
        self.run_times = run_times
        self.settings = settings or AdaptiveSettings()

    def next_delay(self, workload: str, track: TaskTrack, elapsed: float) -> float:
        runs = self._plannable(workload)
        if track.running_seen is None:
            return self.settings.pending_every if runs is not None else self.settings.fallback
        if track.running_seen == elapsed and runs is not None:  # the first poll that saw it run
            cdf = end_distribution(runs, track.waiting_seen, elapsed)
            track.plan = deque(plan_polls(cdf, elapsed, self.settings))
        while track.plan and track.plan[0] <= elapsed:
            track.plan.popleft()
        return track.plan.popleft() - elapsed if track.plan else self.settings.fallback

    def _plannable(self, workload: str) -> Spread | None:
        """The workload's learned run times, if there are enough and they are narrow."""
        runs = self.run_times.runs(workload)
        if runs is None or runs.count < self.settings.warmup:
            return None
        return runs if runs.spread <= self.settings.widest_spread else None
