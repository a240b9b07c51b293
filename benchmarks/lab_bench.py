"""Benchmark the lab: up time, down time, idle memory (PSS), per-component startup.

Run as root: ``.venv/bin/python benchmarks/lab_bench.py [--rounds N] [--state-dir DIR]``.
Goals: up <= 10 s, down <= 5 s, idle PSS <= 400 MiB. Leaves the lab down.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerospof.lab import Lab, leftovers  # noqa: E402
from zerospof.lab.memory import pss_by_component  # noqa: E402

GOALS = {"up_s": 10.0, "down_s": 5.0, "idle_pss_mib": 400.0}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--idle-s", type=float, default=5.0, help="settle time before measuring memory")
    parser.add_argument("--state-dir", default=None)
    args = parser.parse_args()
    lab = Lab(args.state_dir)
    lab.down()
    ups, downs, memories = [], [], []
    for round_number in range(1, args.rounds + 1):
        try:
            started = time.monotonic()
            result = lab.up()
            ups.append(time.monotonic() - started)
            time.sleep(args.idle_s)
            memory = pss_by_component(lab.supervisor.pid())
            memories.append(memory["total"])
            print(f"round {round_number}: up {ups[-1]:.2f}s; idle PSS {memory['total']} MiB {json.dumps(memory)}")
            print(f"  start steps (s since up started): {json.dumps(result.get('steps_s', {}))}")
            print("  per-component healthy at (s since up started):")
            for name, seconds in sorted(result["components_s"].items(), key=lambda item: item[1]):
                print(f"    {name:<14} {seconds:6.2f}")
        finally:
            started = time.monotonic()
            lab.down()
            downs.append(time.monotonic() - started)
            print(f"round {round_number}: down {downs[-1]:.2f}s")
    left = leftovers.find(lab.state_dir)
    summary = {"up_s": statistics.median(ups), "down_s": statistics.median(downs),
               "idle_pss_mib": statistics.median(memories)}
    print("summary (median): " + ", ".join(
        f"{key}={value:.2f} (goal <= {GOALS[key]:g}: {'ok' if value <= GOALS[key] else 'MISSED'})"
        for key, value in summary.items()))
    print(f"left behind after down: {left}")
    return 0 if all(summary[key] <= GOALS[key] for key in GOALS) and not any(left.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
