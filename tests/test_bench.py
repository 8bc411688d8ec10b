"""bench/ end to end at toy sizes: every benchmark runs, its numbers hang together, and
the report renders. (The numbers themselves belong to docs/BENCHMARKS.md, not to tests.)"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.chaos import ChaosConfig, chaos
from bench.report import render
from bench.report_processes import chaos_section
from bench.suite import MODES, run_all

pytestmark = pytest.mark.timeout(180)


async def test_every_benchmark_runs_and_reports(tmp_path: Path) -> None:
    run = await run_all(MODES["smoke"], "smoke", "test", tmp_path)
    results = run["results"]
    for workload in ("two-phase", "one-phase-wide"):
        rows = results["delivery"][workload]["policies"]
        assert set(rows) == {"adaptive", "fixed-3s", "fixed-5s"}
        assert all(row["tasks"] == 6 and row["polls_per_task"] >= 1 for row in rows.values())
        assert all(row["delay_median_s"] >= 0 for row in rows.values())
    restart = results["delivery"]["after_restart"]
    assert {name: row["tasks"] for name, row in restart.items()} == dict.fromkeys(
        ("kept", "forgotten", "fixed-3s"), 5
    )
    load = results["responsiveness"]
    assert load["waiting"] + load["in_flight"] == 40 + 10  # the probes' jobs join the queue
    assert results["footprint"]["in_flight"] == 40 and results["footprint"]["idle_rss_mib"] > 0
    assert results["images"]["worker_process"]["images"] == 3
    assert results["throughput"]["jobs_per_second"] > 0
    assert results["throughput"]["image_worker_cpu_ms_per_job"] > 0  # the workers are counted
    cpu = results["images"]["image_cpu_per_job"]
    assert cpu["before"] > 0 and cpu["now"] > 0
    fairness = results["fairness"]
    # Behaviour, not timing: under FIFO the ten light users queue behind all 50 heavy jobs.
    assert fairness["fair_queue"]["light_vs_heavy"] < 1 < fairness["fifo"]["light_vs_heavy"]
    chat = fairness["chat"]  # the same for chat calls: the lane serves the light users first
    assert chat["fair_lane"]["light_vs_heavy"] < 1 < chat["fifo"]["light_vs_heavy"]
    for series in ("instant", "io_bound"):
        scale = results["scale_out"][series]
        assert set(scale) == {"1", "2"} and scale["1"]["vs_one_worker"] == 1.0
        assert all(row["jobs_per_second"] > 0 for row in scale.values())
        assert all(row["worker_cpu_ms_per_job"] > 0 for row in scale.values())
        assert all(row["redis_commands_per_job"] > 0 for row in scale.values())
    start = results["startup"]
    assert start["enqueue_s"] > start["bare_python_s"] > 0
    assert start["sdks_imported_by_the_cli"] == []  # no chat SDK without a chat platform
    assert start["first_image_warmed"]["second_s"] > 0
    assert not any(isinstance(v, float) and math.isnan(v) for v in _numbers(results))
    report = render(run)
    assert "## 6. Fairness" in report and "## 7. Scale-out" in report and "smoke mode" in report
    replies = results["replies"]
    assert replies["loaded"]["waiting"] >= 10 and replies["loaded"]["in_flight"] == 5
    assert replies["idle"]["reply_p99_ms"] > 0 and replies["loaded"]["reply_p99_ms"] > 0
    assert "## 10. Replies under load" in report
    assert "## 9. Start-up" in report and "first 5 tasks after a restart" in report


def _numbers(tree: object) -> list[object]:
    if isinstance(tree, dict):
        return [n for value in tree.values() for n in _numbers(value)]
    return [tree]


async def test_the_chaos_benchmark_runs_and_reports(tmp_path: Path) -> None:
    results = await chaos(ChaosConfig(jobs=10, kills=1, feed_seconds=3), tmp_path)
    for name in ("sqlite", "redis"):
        row = results[name]
        assert row["jobs"] == 10 and row["kills"] == 1
        # What the benchmark is for: nothing lost or wrongly charged, even in a toy run.
        assert row["lost"] == 0 and row["wrongly_charged"] == 0
        assert row["double_submits_unexplained"] == 0
    run = {"command": "test", "date": "now", "results": results}
    assert "## 8. Chaos" in chaos_section(run)[0]
