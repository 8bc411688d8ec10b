"""`python -m bench [--quick | --full]`: every benchmark in one run, on the simulator.

Writes docs/benchmarks-<mode>.json and docs/BENCHMARKS.md (the machine, the command, the
date and the numbers against their targets). `./scripts/bench` runs it in the project's venv.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from bench.report import render
from bench.suite import MODES, run_all

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--quick", action="store_const", const="quick", dest="mode")
    chosen.add_argument("--full", action="store_const", const="full", dest="mode")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where results go")
    args = parser.parse_args()
    mode = args.mode or "quick"
    command = "./scripts/bench --" + mode
    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(run_all(MODES[mode], mode, command, Path(workdir)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"benchmarks-{mode}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "BENCHMARKS.md").write_text(render(results))
    sys.stdout.write(render(results))


if __name__ == "__main__":
    main()
