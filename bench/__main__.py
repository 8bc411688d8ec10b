"""`python -m bench [--quick | --full | --chaos]`: every benchmark in one run, on the simulator;
or the chaos benchmark alone (real processes SIGKILLed over a stream of jobs).

Writes docs/benchmarks-<mode>.json and docs/BENCHMARKS.md (the machine, the command, the
date and the numbers against their targets; the latest chaos run in its own section).
`./scripts/bench` runs it in the project's venv.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.chaos import ChaosConfig, chaos
from bench.report import render
from bench.suite import MODES, machine, run_all

ROOT = Path(__file__).resolve().parents[1]
CHAOS = ChaosConfig(jobs=200, kills=20, feed_seconds=40)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--quick", action="store_const", const="quick", dest="mode")
    chosen.add_argument("--full", action="store_const", const="full", dest="mode")
    chosen.add_argument("--chaos", action="store_const", const="chaos", dest="mode")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where results go")
    args = parser.parse_args()
    mode = args.mode or "quick"
    command = "./scripts/bench --" + mode
    with tempfile.TemporaryDirectory() as workdir:
        if mode == "chaos":
            results = asyncio.run(run_chaos(command, Path(workdir)))
        else:
            results = asyncio.run(run_all(MODES[mode], mode, command, Path(workdir)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"benchmarks-{mode}.json").write_text(json.dumps(results, indent=2) + "\n")
    report = render(latest_suite(args.out), load(args.out / "benchmarks-chaos.json"))
    (args.out / "BENCHMARKS.md").write_text(report)
    sys.stdout.write(report)


async def run_chaos(command: str, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    results = await chaos(CHAOS, workdir)
    return {
        "mode": "chaos",
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }


def latest_suite(folder: Path) -> dict[str, Any]:
    """The newest quick or full run: the page is rendered from it."""
    runs = [run for name in ("quick", "full") if (run := load(folder / f"benchmarks-{name}.json"))]
    if not runs:
        raise SystemExit("run ./scripts/bench --quick (or --full) first")
    return max(runs, key=lambda run: str(run["date"]))


def load(path: Path) -> dict[str, Any] | None:
    return dict(json.loads(path.read_text())) if path.exists() else None


if __name__ == "__main__":
    main()
