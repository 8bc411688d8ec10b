"""The sections of docs/BENCHMARKS.md whose benchmarks run the bot's own processes or its
chat adapter: scale-out, chaos, start-up, replies under load."""

from __future__ import annotations

from typing import Any

from bench.common import verdict


def scale_out_section(r: dict[str, Any]) -> list[str]:
    if "instant" not in r:  # a run from before the two series
        r = {**r, "instant": r["workers"], "io_bound": {}}
    config = r["config"]
    lines = [
        "## 7. Scale-out: worker processes on one Redis",
        "",
        f"{config['jobs']} jobs a round, each round its own `imagine-bot worker` processes on "
        "one Redis; the simulator and the queuing gateway run in the benchmark's process, all "
        f"on this machine's {r['cpus']} CPUs. CPU per job: the workers' (with their image "
        "workers), and the benchmark process's (gateway and simulator). Redis: commands and "
        "read events (round trips) per job, every role together.",
        "",
        "| tasks | workers | jobs/s | vs one worker | worker CPU/job | gateway+sim CPU/job "
        "| Redis commands/job | Redis round trips/job |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "instant": "instant",
        "io_bound": f"{config.get('io_run_seconds')} s, {config.get('io_worker_jobs')} a worker",
    }
    for series, label in names.items():
        for count, row in r[series].items():
            lines.append(
                f"| {label} | {count} | {row['jobs_per_second']} | {row['vs_one_worker']} "
                f"| {row.get('worker_cpu_ms_per_job', '?')} ms "
                f"| {row.get('gateway_and_simulator_cpu_ms_per_job', '?')} ms "
                f"| {row.get('redis_commands_per_job', '?')} "
                f"| {row.get('redis_round_trips_per_job', '?')} |"
            )
    return [
        *lines,
        "",
        "What the figures mean. With instant tasks every process is busy on the CPU, so on "
        f"{r['cpus']} CPUs more workers share the same cores: that ratio measures contention "
        "here, not how the design scales. Real tasks spend 10-60 s waiting on ModelScope; the "
        "I/O-bound series gives each worker a fixed number of job slots, so N workers have N "
        "times the slots, and its ratio shows whether the shared queue (claims, leases, the "
        "fair order in Redis) lets them use them. What predicts a bigger machine: a worker's "
        "CPU per job says how many jobs a second one core carries; Redis commands and round "
        "trips per job, times the jobs a second wanted, say what the queue asks of Redis, "
        "which is single-threaded. What they do not say: ModelScope's own limits (about one "
        "task at a time per account) cap real throughput long before either.",
        "",
    ]


def chaos_section(run: dict[str, Any] | None) -> list[str]:
    if run is None:
        return []
    r = run["results"]
    config = r["config"]
    lines = [
        "## 8. Chaos: SIGKILLs over a stream of jobs",
        "",
        f"`{run['command']}` on {run['date']}: in each round {config['jobs']} jobs arrive "
        f"over {config['feed_seconds']} s while {config['kills']} SIGKILLs hit at random "
        "moments (on SQLite, `imagine-bot run`; on Redis, one of two `imagine-bot worker`s), "
        "with upstream faults mixed in: poll 5xx, a submit whose answer is lost after the "
        "task was made, cut-off downloads, a content refusal, a crashed inference worker, "
        "a 429 at submit.",
        "",
        "| per 100 jobs | lost | double submits | double deliveries | wrongly charged "
        "| restart to next delivery (median) |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("sqlite", "redis"):
        row, per = r[name], r[name]["per_100_jobs"]
        lines.append(
            f"| {name} | {per['lost']} | {per['double_submits']} ({row['double_submits']} in "
            f"all; outcomes unknown: {row['lost_answer_faults']} lost answers, "
            f"{row['double_submits_after_kills']} kills mid-submit; "
            f"{row['double_submits_unexplained']} unexplained) | {per['double_deliveries']} "
            f"| {per['wrongly_charged']} | {row['restart_to_delivery_median_s']} s |"
        )
    met = all(
        r[name]["lost"] == 0
        and r[name]["wrongly_charged"] == 0
        and r[name]["double_submits_unexplained"] == 0
        for name in ("sqlite", "redis")
    )
    targets = "0 lost, 0 wrongly charged, double submits only after an unknown outcome"
    return [*lines, "", f"Targets ({targets}): {verdict(met)}.", ""]


def startup_section(r: dict[str, Any] | None) -> list[str]:
    if r is None:  # a run from before this benchmark
        return []
    cold, warm = r["first_image_cold"], r["first_image_warmed"]
    sdks = ", ".join(r["sdks_imported_by_the_cli"]) or "none"
    # "No slower": no start-up left in the first image. A fit takes milliseconds, and the
    # first one carries the image through the worker's pipe for the first time (about 2 ms
    # here), so the test is the start-up's size (hundreds of ms cold), not a ratio of noise.
    extra = warm["first_s"] - warm["second_s"]
    met = r["enqueue_s"] < 0.5 and extra < 0.05
    return [
        "## 9. Start-up",
        "",
        f"`imagine-bot enqueue` (SQLite, no chat platform): {r['enqueue_s']} s, "
        f"{r['enqueue_vs_bare_python']}x bare Python ({r['bare_python_s']} s); chat SDKs the "
        f"command imports without a platform configured: {sdks}.",
        "",
        "| image workers | first image | second | first / second |",
        "|---|---|---|---|",
        f"| started at the first image | {cold['first_s']} s | {cold['second_s']} s "
        f"| {cold['first_vs_second']} |",
        f"| warmed with the bot | {warm['first_s']} s | {warm['second_s']} s "
        f"| {warm['first_vs_second']} |",
        "",
        f"Warmed, the first image takes {extra * 1000:.0f} ms more than the second; cold, "
        f"{(cold['first_s'] - cold['second_s']) * 1000:.0f} ms more (the worker's start). "
        f"Medians over {r['config']['runs']} starts. Targets (enqueue under 0.5 s, the first "
        f"image no slower than the second: no start-up left in it, under 50 ms): "
        f"{verdict(met)}.",
        "",
    ]


def replies_section(r: dict[str, Any] | None) -> list[str]:
    if r is None:  # a run from before this benchmark
        return []
    idle, loaded = r["idle"], r["loaded"]
    row = "| {} | {} | {} | {} ms | {} ms | {} ms | {} |"
    return [
        "## 10. Replies under load (Telegram)",
        "",
        "A new user's `/imagine` to the bot's reply, through python-telegram-bot and our "
        "priority rate limiter at Telegram's real limits, against a fake Bot API on loopback; "
        f"{r['config']['probes']} probes, one after another. Loaded: the jobs' status and "
        "progress edits (progress due every second) compete for the same 30 messages a second.",
        "",
        "| | waiting | in flight | reply p50 | reply p99 | reply max | edits/s meanwhile |",
        "|---|---|---|---|---|---|---|",
        row.format(
            "idle",
            idle["waiting"],
            idle["in_flight"],
            idle["reply_p50_ms"],
            idle["reply_p99_ms"],
            idle["reply_max_ms"],
            idle["edits_per_second"],
        ),
        row.format(
            "loaded",
            loaded["waiting"],
            loaded["in_flight"],
            loaded["reply_p50_ms"],
            loaded["reply_p99_ms"],
            loaded["reply_max_ms"],
            loaded["edits_per_second"],
        ),
        "",
        f"Loaded p99 / idle p99: {r['p99_vs_idle']}x. Target (p99 under 300 ms with 1,000 "
        f"waiting and 200 in flight): {verdict(loaded['reply_p99_ms'] < 300)}.",
        "",
    ]
