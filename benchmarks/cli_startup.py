"""Benchmark ``zerospof --help`` start-up time (prints figures; not a test).

Goal: under 0.2 s. "before" is the CLI with what it imported eagerly until issue 11 (the lab, the
chaos runner, objectives, reports, targets, validation) loaded first, in the same interpreter and
venv; "after" is ``zerospof --help`` as it is now. Each is a fresh process, run ``--runs`` times
alternately; medians and the ratio are printed.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EAGER = ("zerospof.lab.lab", "zerospof.chaos.runner", "zerospof.objectives", "zerospof.report", "zerospof.targets",
         "zerospof.validate", "zerospof.chaos.settings")
VARIANTS = {
    "before (eager imports)": f"import {', '.join(EAGER)}; from zerospof.cli import main; main(['--help'])",
    "after (lazy imports)": "from zerospof.cli import main; main(['--help'])",
}


def once(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    timings: dict[str, list[float]] = {name: [] for name in VARIANTS}
    once("pass")  # warm the file cache
    for _ in range(args.runs):
        for name, code in VARIANTS.items():
            timings[name].append(once(code))
    baseline = statistics.median(timings["before (eager imports)"])
    bare = statistics.median(once("pass") for _ in range(5))
    print(f"python start-up alone: {bare * 1000:.0f} ms (median of 5)")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"{name:<24} median {median * 1000:6.0f} ms  min {min(values) * 1000:6.0f} ms  "
              f"ratio to before {median / baseline:.2f}  goal < 200 ms: {'met' if median < 0.2 else 'MISSED'}")


if __name__ == "__main__":
    main()
