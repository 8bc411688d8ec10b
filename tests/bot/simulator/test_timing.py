from __future__ import annotations

import random
import statistics

from bot.simulator import Timing


def test_two_phase_draws_follow_the_parameters() -> None:
    rng = random.Random(4)
    draws = [Timing(queue_mean=5, run_mean=12, run_sd=1.5).draw(rng) for _ in range(4000)]
    queues, runs = zip(*draws, strict=True)
    assert 4.6 < statistics.mean(queues) < 5.4
    assert 11.8 < statistics.mean(runs) < 12.2
    assert 1.3 < statistics.stdev(runs) < 1.7


def test_lognormal_has_the_asked_median_and_tail() -> None:
    rng = random.Random(5)
    runs = sorted(Timing(shape="lognormal", run_mean=15, p95=60).draw(rng)[1] for _ in range(4000))
    assert 14 < runs[2000] < 16
    assert 52 < runs[3800] < 68


def test_scale_shrinks_every_duration() -> None:
    slow = Timing(queue_mean=5, run_mean=10).draw(random.Random(1))
    fast = Timing(queue_mean=5, run_mean=10, scale=0.01).draw(random.Random(1))
    assert fast == (slow[0] * 0.01, slow[1] * 0.01)
