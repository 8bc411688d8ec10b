"""Fair admission, proved over random arrival orders with hypothesis."""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from core.jobs.job import Job, new_id
from core.requests.params import GenerationParams, Size
from core.scheduling.fairqueue import FairQueue

PARAMS = GenerationParams("m", "p", Size(512, 512), 1)


def make_job(user: str, tier: int = 0) -> Job:
    return Job(
        id=new_id(),
        batch_id="b",
        batch_index=0,
        batch_size=1,
        user=user,
        chat="c",
        is_group=False,
        reply_target="",
        locale="en",
        params=PARAMS,
        cost=1.0,
        day="d",
        created_at=0.0,
        tier=tier,
    )


@dataclasses.dataclass
class Trace:
    arrivals: dict[str, int]  # job id -> tick
    admitted: list[tuple[int, Job]]  # (tick, job) in admission order


def simulate(arrivals: list[tuple[int, str]], slots: int, durations: list[int]) -> Trace:
    """Jobs arrive at ticks; each runs `durations[i]` ticks; one job in flight per user."""
    queue, running = FairQueue(), []  # running: (ends_at, job)
    pending = sorted(enumerate(arrivals), key=lambda item: (item[1][0], item[0]))
    trace = Trace({}, [])
    tick = 0
    while pending or len(queue) or running:
        while pending and pending[0][1][0] <= tick:
            _, (_, user) = pending.pop(0)
            job = make_job(user)
            trace.arrivals[job.id] = tick
            queue.push(job)
        running = [(end, job) for end, job in running if end > tick]
        busy = Counter(job.user for _, job in running)
        while len(running) < slots:
            job = queue.next_job(lambda j, busy=busy: busy[j.user] < 1)
            if job is None:
                break
            busy[job.user] += 1
            running.append((tick + durations[len(trace.admitted) % len(durations)], job))
            trace.admitted.append((tick, job))
        tick += 1
    return trace


scenarios = st.integers(min_value=1, max_value=40).flatmap(
    lambda flood: st.tuples(
        st.lists(
            st.tuples(st.integers(0, 30), st.sampled_from(["u1", "u2", "u3", "u4"])),
            min_size=1,
            max_size=12,
        ),
        st.integers(0, 10).map(lambda start: [(start, "flood")] * flood),
        st.integers(1, 3),
        st.lists(st.integers(1, 4), min_size=1, max_size=8),
    )
)


@settings(max_examples=300, deadline=None)
@given(scenarios)
def test_a_flood_delays_anothers_first_job_by_one_turn_at_most(scenario) -> None:  # type: ignore[no-untyped-def]
    others, flood, slots, durations = scenario
    trace = simulate(flood + others, slots, durations)
    first_job_of: dict[str, Job] = {}
    for _, job in trace.admitted:
        first_job_of.setdefault(job.user, job)
    for user, first in first_job_of.items():
        if user == "flood":
            continue
        arrived = trace.arrivals[first.id]
        admitted_at = next(i for i, (_, job) in enumerate(trace.admitted) if job.id == first.id)
        ahead = [job.user for tick, job in trace.admitted[:admitted_at] if tick >= arrived]
        assert Counter(ahead)["flood"] <= 1, (user, ahead)
        assert all(count <= 1 for count in Counter(ahead).values()), (user, ahead)


@settings(max_examples=200, deadline=None)
@given(scenarios)
def test_fifo_within_a_user_and_nothing_lost(scenario) -> None:  # type: ignore[no-untyped-def]
    others, flood, slots, durations = scenario
    trace = simulate(flood + others, slots, durations)
    assert len(trace.admitted) == len(flood) + len(others)
    assert len({job.id for _, job in trace.admitted}) == len(trace.admitted)
    by_user: dict[str, list[int]] = {}
    for _, job in trace.admitted:
        by_user.setdefault(job.user, []).append(trace.arrivals[job.id])
    assert all(ticks == sorted(ticks) for ticks in by_user.values())


def test_least_recently_served_goes_first() -> None:
    queue = FairQueue()
    a1, a2, b1, c1 = make_job("a"), make_job("a"), make_job("b"), make_job("c")
    for job in (a1, a2, b1, c1):
        queue.push(job)
    assert [queue.position(j.id) for j in (a1, b1, c1, a2)] == [1, 2, 3, 4]
    assert queue.next_job(lambda j: True) is a1
    late = make_job("d")
    queue.push(late)  # never served: ahead of a's second job
    assert [job.user for job in queue.order()] == ["b", "c", "d", "a"]


def test_a_blocked_user_keeps_the_turn() -> None:
    queue = FairQueue()
    a, b = make_job("a"), make_job("b")
    queue.push(a)
    queue.push(b)
    assert queue.next_job(lambda j: j.user != "a") is b
    assert queue.next_job(lambda j: True) is a


def test_a_priority_tier_starts_earlier_in_the_rotation() -> None:
    queue = FairQueue()
    plain, vip = make_job("plain"), make_job("vip", tier=1)
    queue.push(plain)
    queue.push(vip)
    assert queue.next_job(lambda j: True) is vip


def test_remove_takes_a_waiting_job_out() -> None:
    queue = FairQueue()
    a, b = make_job("a"), make_job("a")
    queue.push(a)
    queue.push(b)
    assert queue.remove(a.id) is a
    assert queue.remove(a.id) is None
    assert queue.position(b.id) == 1 and len(queue) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["u1", "u2", "u3", "u4", "u5"]), st.integers(0, 2), st.booleans()
        ),
        min_size=1,
        max_size=40,
    )
)
def test_order_and_position_predict_the_admissions(steps: list[tuple[str, int, bool]]) -> None:
    queue = FairQueue()
    for user, tier, admit_one in steps:
        queue.push(make_job(user, tier))
        if admit_one:
            queue.next_job(lambda job: True)
    predicted = list(queue.order())
    assert [queue.position(job.id) for job in predicted] == list(range(1, len(predicted) + 1))
    admitted = [queue.next_job(lambda job: True) for _ in predicted]
    assert [job.id for job in predicted] == [job.id for job in admitted if job is not None]
    assert queue.next_job(lambda job: True) is None
