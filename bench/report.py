"""docs/BENCHMARKS.md from one run's results: the numbers, and each target met or missed."""

from __future__ import annotations

from typing import Any

from bench.common import verdict
from bench.report_processes import (
    chaos_section,
    replies_section,
    scale_out_section,
    startup_section,
)

POLICY_COLUMNS = (
    "| policy | delay median (s) | p95 (s) | poll lag median (s) | polls/task "
    "| delay vs fixed 3 s | polls vs fixed 3 s |\n|---|---|---|---|---|---|---|"
)


def delivery_section(results: dict[str, Any]) -> list[str]:
    lines = ["## 1. Delivery delay and polls per task", ""]
    # "No worse" on the wide workload: fixed 3 s's numbers within this run's noise (5 %).
    targets = {"two-phase": (0.4, 1.0), "one-phase-wide": (1.05, 1.05)}
    goals = {
        "two-phase": "median delay <= 0.4x fixed 3 s, polls <= fixed 3 s",
        "one-phase-wide": "no worse than fixed 3 s on either axis (within 5 % noise)",
    }
    for workload, (delay_goal, polls_goal) in targets.items():
        data = results[workload]
        rows = data["policies"]
        ours = rows["adaptive"]
        met = ours["delay_vs_fixed_3s"] <= delay_goal and ours["polls_vs_fixed_3s"] <= polls_goal
        lines += [f"### {workload}", "", POLICY_COLUMNS]
        for name, row in rows.items():
            lines.append(
                f"| {name} | {row['delay_median_s']} | {row['delay_p95_s']} "
                f"| {row['poll_lag_median_s']} | {row['polls_per_task']} "
                f"| {row['delay_vs_fixed_3s']} | {row['polls_vs_fixed_3s']} |"
            )
        limit = data["physical_limit"]
        lines += [
            "",
            f"Target ({goals[workload]}): {verdict(met)}. Physical limit: "
            f"a delay of the pipeline alone ({limit['delay_median_s']} s median) and "
            f"{limit['polls_per_task']} poll per task.",
            "",
        ]
    return [*lines, *restart_lines(results["after_restart"], results["two-phase"]["policies"])]


def restart_lines(rows: dict[str, Any], warm: dict[str, Any]) -> list[str]:
    names = {
        "kept": "kept in the store",
        "forgotten": "forgotten (before)",
        "fixed-3s": "fixed 3 s",
    }
    lines = [
        "### two-phase, the first 5 tasks after a restart",
        "",
        "| run times | delay median (s) | poll lag median (s) | polls per task "
        "| delay vs fixed 3 s |",
        "|---|---|---|---|---|",
    ]
    for name, label in names.items():
        row = rows[name]
        lines.append(
            f"| {label} | {row['delay_median_s']} | {row['poll_lag_median_s']} "
            f"| {row['polls_per_task']} | {row['delay_vs_fixed_3s']} |"
        )
    ours = warm["adaptive"]
    met = rows["kept"]["poll_lag_median_s"] <= 1.5 * ours["poll_lag_median_s"]
    return [
        *lines,
        f"| warm (above: 45 tasks after the warm-up) | {ours['delay_median_s']} "
        f"| {ours['poll_lag_median_s']} | {ours['polls_per_task']} "
        f"| {ours['delay_vs_fixed_3s']} |",
        "",
        "The same 5 tasks in each of the first three rows, each in a process just started; "
        "the first read what an earlier run learned from the store (SQLite here; Redis "
        "alike), as the CLI and every worker do. The poll lag is what the run times decide; "
        "the delay adds the pipeline, which here includes the simulator rendering each "
        "picture in the benchmark's process: when the learned plan sees five tasks end "
        "together, their renders queue (a fixed interval spreads them). Target (kept: the "
        f"first tasks' poll lag within 1.5x the warm one's): {verdict(met)}.",
        "",
    ]


def responsiveness_section(r: dict[str, Any]) -> list[str]:
    met = r["submit_p99_ms"] < 50 and r["loop_lag_p99_ms"] < 20
    return [
        "## 2. Responsiveness under load",
        "",
        f"{r['waiting']} jobs waiting and {r['in_flight']} in flight (polled).",
        "",
        "| submit p50 | submit p99 | /queue p50 | /queue p99 | loop lag p99 | loop lag max |",
        "|---|---|---|---|---|---|",
        f"| {r['submit_p50_ms']} ms | {r['submit_p99_ms']} ms | {r['queue_view_p50_ms']} ms "
        f"| {r['queue_view_p99_ms']} ms | {r['loop_lag_p99_ms']} ms | {r['loop_lag_max_ms']} ms |",
        "",
        f"Target (submit p99 < 50 ms, loop lag p99 < 20 ms): {verdict(met)}.",
        "",
    ]


def footprint_section(r: dict[str, Any]) -> list[str]:
    per_job_kb = r["kib_per_job_in_flight"] * 1.024
    return [
        "## 3. Footprint",
        "",
        f"Idle with both chat adapters loaded: {r['idle_rss_mib']} MiB resident. With "
        f"{r['in_flight']} jobs in flight: {r['rss_with_jobs_mib']} MiB, "
        f"{r['kib_per_job_in_flight']} KiB ({per_job_kb:.1f} kB) per job.",
        "",
        f"Target (< 50 kB per in-flight job): {verdict(per_job_kb < 50)}.",
        "",
    ]


def images_section(r: dict[str, Any]) -> list[str]:
    lines = [
        "## 4. Image pipeline",
        "",
        "| 2048x2048 PNG | size | to 10 MB | to 1 MB |",
        "|---|---|---|---|",
    ]
    for name, row in r["fit_2048_png"].items():
        ten, one = row["10MB"], row["1MB"]
        lines.append(
            f"| {name} | {row['input_mib']} MiB | {ten['median_ms']} ms ({ten['output_mib']} MiB) "
            f"| {one['median_ms']} ms ({one['output_mib']} MiB) |"
        )
    lines += ["", "| fitting to 1 MB | images | wall | loop lag p99 | loop lag max |"]
    lines.append("|---|---|---|---|---|")
    for name in ("worker_process", "thread_pool", "on_the_loop"):
        row = r[name]
        lines.append(
            f"| {name.replace('_', ' ')} | {row['images']} | {row['wall_s']} s "
            f"| {row['loop_lag_p99_ms']} ms | {row['loop_lag_max_ms']} ms |"
        )
    met = r["worker_process"]["loop_lag_p99_ms"] < 20
    cpu = r["image_cpu_per_job"]
    halved = cpu["now_vs_before"] <= 0.5
    return [
        *lines,
        "",
        f"Off the loop (lag p99 < 20 ms while fitting): {verdict(met)}.",
        "",
        "The images of one job (a 1024x1024 PNG: checked at download, then fitted for Telegram, "
        f"which it passes as it is) cost {cpu['now']} ms of CPU, against {cpu['before']} ms when "
        f"every check decoded the pixels in full: {cpu['now_vs_before']}x. The check reads the "
        "header and the file's own structure (PNG chunk checksums, the JPEG and WebP ends) and "
        "decodes only to re-encode. Target (at most half): "
        f"{verdict(halved)}.",
        "",
    ]


def throughput_section(r: dict[str, Any]) -> list[str]:
    return [
        "## 5. Throughput",
        "",
        f"{r['config']['jobs']} jobs, instant tasks, {r['config']['slots']} slots: "
        f"**{r['jobs_per_second']} jobs/s**, {r['cpu_ms_per_job']} ms of CPU per job in the "
        f"bot's process (the simulator's share included) and {r['image_worker_cpu_ms_per_job']} "
        f"ms in its image worker, {r['polls_per_job']} polls per job.",
        "",
    ]


def fairness_section(r: dict[str, Any]) -> list[str]:
    ours, fifo = r["fair_queue"], r["fifo"]
    return [
        "## 6. Fairness",
        "",
        "One user submits 50 jobs, then 10 users one each "
        f"({r['config']['slots']} slots, tasks of {r['config']['run_seconds']} s).",
        "",
        "| scheduler | light users' mean wait | light max | heavy user's mean wait "
        "| light / heavy |",
        "|---|---|---|---|---|",
        f"| fair queue | {ours['light_mean_wait_s']} s | {ours['light_max_wait_s']} s "
        f"| {ours['heavy_mean_wait_s']} s | {ours['light_vs_heavy']} |",
        f"| FIFO | {fifo['light_mean_wait_s']} s | {fifo['light_max_wait_s']} s "
        f"| {fifo['heavy_mean_wait_s']} s | {fifo['light_vs_heavy']} |",
        "",
        f"Light users wait {r['light_wait_fair_vs_fifo']}x as long as under FIFO.",
        "",
        *_chat_fairness(r),
    ]


def _chat_fairness(r: dict[str, Any]) -> list[str]:
    chat = r.get("chat")
    if chat is None:  # a run from before chat calls
        return []
    ours, fifo = chat["fair_lane"], chat["fifo"]
    return [
        "Chat calls (describe, enhance): one user's 20 calls, then 5 users' one each, on one "
        f"token's chat slot (answers of {r['config'].get('answer_seconds', '?')} s).",
        "",
        "| lane | light users' mean wait | heavy user's mean wait | light / heavy |",
        "|---|---|---|---|",
        f"| fair lane | {ours['light_mean_wait_s']} s | {ours['heavy_mean_wait_s']} s "
        f"| {ours['light_vs_heavy']} |",
        f"| FIFO | {fifo['light_mean_wait_s']} s | {fifo['heavy_mean_wait_s']} s "
        f"| {fifo['light_vs_heavy']} |",
        "",
        f"Light users wait {chat['light_wait_fair_vs_fifo']}x as long as under FIFO.",
        "",
    ]


def render(run: dict[str, Any], chaos: dict[str, Any] | None = None) -> str:
    machine, results = run["machine"], run["results"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{run['command']}` on {run['date']} ({run['mode']} mode, "
        f"{run['seconds']} s). Machine: {machine['cpu']}, {machine['cpus']} CPUs, "
        f"{machine['system']}, Python {machine['python']}. The JSON is next to this file.",
        "",
        "Everything runs on the ModelScope simulator on loopback, through the real core "
        "(SQLite file, aiohttp, scheduler, job runners). Ratios are measured within one run. "
        "How each number is measured, and what changed because of them: "
        "[PERFORMANCE.md](PERFORMANCE.md).",
        "",
        *delivery_section(results["delivery"]),
        *responsiveness_section(results["responsiveness"]),
        *footprint_section(results["footprint"]),
        *images_section(results["images"]),
        *throughput_section(results["throughput"]),
        *fairness_section(results["fairness"]),
        *scale_out_section(results["scale_out"]),
        *chaos_section(chaos),
        *startup_section(results.get("startup")),
        *replies_section(results.get("replies")),
    ]
    return "\n".join(lines)
