"""How long ModelScope takes, learned from finished tasks: the one model of run times that
the adaptive poll policy plans its polls from and the service estimates waits from.

A workload is a model and an image size (`workload_of`): tasks of one workload take about as
long once they run. A task waits `PENDING` in ModelScope's queue first, for a time nobody can
predict, so two things are learned per workload: the *run* (from the moment it started
running, as far as the polls can tell, to its end: what the poll plan needs) and the *total*
(from the submit to the end: what a user waits). Both are exponentially weighted log-normal
fits (`Spread`), since run times are positive and skewed. The latest samples of each workload
are kept too (`Sample`), so the fits can be kept in the store and rebuilt after a restart or
in another process (`core.modelscope.memory`).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from core.modelscope.tasks import TaskSnapshot, TaskStatus

RUNNING = (TaskStatus.RUNNING, TaskStatus.PROCESSING)
SMOOTHING = 0.1
REMEMBER = 10_000  # tasks followed at once (one abandoned without an end is forgotten)
# Samples kept per workload: replayed, the last 100 give the fit all of them would (the
# oldest weighs 0.9^100, about 3e-5).
KEEP = 100


@dataclass(frozen=True, order=True)
class Sample:
    """One finished task of a workload: when it ended (epoch seconds), its run, its total."""

    at: float
    run: float
    total: float


def workload_of(model: str, size: object) -> str:
    """The key run times are learned under."""
    return f"{model} {size}"


class Spread:
    """An exponentially weighted mean and variance of log(seconds) of one workload."""

    def __init__(self, smoothing: float = SMOOTHING) -> None:
        self._smoothing = smoothing
        self.count = 0
        self.mean = 0.0
        self.variance = 0.0

    def observe(self, seconds: float) -> None:
        value = math.log(max(seconds, 1e-3))
        self.count += 1
        if self.count == 1:
            self.mean = value
            return
        alpha = max(self._smoothing, 1 / self.count)
        deviation = value - self.mean
        self.mean += alpha * deviation
        self.variance = (1 - alpha) * (self.variance + alpha * deviation * deviation)

    @property
    def spread(self) -> float:
        return max(math.sqrt(self.variance), 0.02)

    @property
    def expected(self) -> float:
        """The mean of the fitted log-normal, in seconds."""
        return math.exp(self.mean + self.variance / 2)


@dataclass
class TaskTrack:
    """What the polls of one task have shown, in seconds since its submit."""

    waiting_seen: float = 0.0  # the last poll that saw it waiting; 0 is the submit
    running_seen: float | None = None  # the first poll that saw it running
    last_poll: float = 0.0
    plan: deque[float] = field(default_factory=deque)  # the poll policy's planned polls

    def saw(self, status: TaskStatus, elapsed: float) -> bool:
        """Note a poll's answer; True when it is the first to see the task running."""
        started = False
        if status not in RUNNING:
            self.waiting_seen, self.running_seen = elapsed, None
            self.plan.clear()
        elif self.running_seen is None:
            self.running_seen, started = elapsed, True
        self.last_poll = elapsed
        return started

    def run_seconds(self, snapshot: TaskSnapshot, elapsed: float) -> float:
        """The run's length as far as the polls allow; `time_taken` is trusted within that,
        in case it counts more than the run."""
        longest = max(elapsed - self.waiting_seen, 0.0)
        shortest = 0.0 if self.running_seen is None else self.last_poll - self.running_seen
        if snapshot.time_taken_ms is None:
            return (shortest + longest) / 2
        return min(max(snapshot.time_taken_ms / 1000, shortest), longest)


class RunTimes:
    """Per workload, the run and total `Spread`s; per task being polled, its `TaskTrack`."""

    def __init__(
        self,
        smoothing: float = SMOOTHING,
        remember: int = REMEMBER,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._smoothing = smoothing
        self._remember = remember
        self._now = now
        self._runs: dict[str, Spread] = {}
        self._totals: dict[str, Spread] = {}
        self._tracks: OrderedDict[str, TaskTrack] = OrderedDict()
        self._samples: dict[str, deque[Sample]] = {}
        self._unsaved: dict[str, list[Sample]] = {}

    def track(self, task_id: str) -> TaskTrack:
        track = self._tracks.get(task_id)
        if track is None:
            track = self._tracks[task_id] = TaskTrack()
            if len(self._tracks) > self._remember:
                self._tracks.popitem(last=False)
        return track

    def finished(self, workload: str, snapshot: TaskSnapshot, elapsed: float) -> None:
        """Learn from a task's last poll, `elapsed` seconds after its submit (a failed task
        teaches nothing: it may have ended at once)."""
        track = self._tracks.pop(snapshot.task_id, None) or TaskTrack(last_poll=elapsed)
        if snapshot.status is not TaskStatus.SUCCEED:
            return
        sample = Sample(self._now(), track.run_seconds(snapshot, elapsed), elapsed)
        self._learn(workload, sample)
        self._unsaved.setdefault(workload, []).append(sample)

    def restore(self, workload: str, samples: Iterable[Sample]) -> None:
        """The workload's fits rebuilt from `samples` (its own and other processes', oldest
        first), in place of what this process had learned of it."""
        self._runs.pop(workload, None)
        self._totals.pop(workload, None)
        self._samples.pop(workload, None)
        for sample in sorted(samples)[-KEEP:]:
            self._learn(workload, sample)

    def unsaved(self) -> dict[str, list[Sample]]:
        """The samples learned since the last call, by workload (for the store)."""
        taken, self._unsaved = self._unsaved, {}
        return taken

    def keep_unsaved(self, samples: dict[str, list[Sample]]) -> None:
        """Take back samples whose saving failed, for the next try."""
        for workload, ones in samples.items():
            self._unsaved[workload] = [*ones, *self._unsaved.get(workload, [])]

    def samples(self, workload: str) -> list[Sample]:
        return list(self._samples.get(workload, ()))

    @property
    def workloads(self) -> list[str]:
        return list(self._samples)

    def runs(self, workload: str) -> Spread | None:
        """The workload's run times, if any task of it finished."""
        return self._runs.get(workload)

    def expected(self, workload: str) -> float | None:
        """Seconds from a task's submit to its end; None until one of the workload's tasks
        finished (a guess is not an estimate)."""
        total = self._totals.get(workload)
        return total.expected if total is not None else None

    def left(self, workload: str, elapsed: float) -> float | None:
        """Seconds still to wait for a task `elapsed` seconds after its submit; None when
        nothing was measured, or it already took longer than expected."""
        expected = self.expected(workload)
        if expected is None or elapsed >= expected:
            return None
        return expected - elapsed

    def typical(self, workload: str | None = None) -> float | None:
        """A task's seconds: of `workload` when one of its tasks finished, else the mean over
        every workload measured; None before any task finished."""
        own = self.expected(workload) if workload else None
        totals = [spread.expected for spread in self._totals.values()]
        return own or (sum(totals) / len(totals) if totals else None)

    @property
    def tracked(self) -> int:
        """Tasks followed now (bounded)."""
        return len(self._tracks)

    def _learn(self, workload: str, sample: Sample) -> None:
        self._spread(self._runs, workload).observe(sample.run)
        self._spread(self._totals, workload).observe(sample.total)
        self._samples.setdefault(workload, deque(maxlen=KEEP)).append(sample)

    def _spread(self, spreads: dict[str, Spread], workload: str) -> Spread:
        return spreads.setdefault(workload, Spread(self._smoothing))
