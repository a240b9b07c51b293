"""Benchmark the lab: up time, down time, idle memory (PSS), per-component startup.

Run as root: ``.venv/bin/python benchmarks/lab_bench.py [--rounds N] [--state-dir DIR] [--no-baseline]``.
Goals (issue 14, since the control plane is real Kubernetes: three kube-apiservers, two kube-schedulers, two
kube-controller-managers, six node agents): up <= 15 s, down <= 5 s, idle PSS <= 2 GiB. Leaves the lab down.

Baseline (same process, one extra round): every daemon exec'd (``ZEROSPOF_LAB_PRELOAD=0``) instead of
the lab's own Python daemons forked from the supervisor's preloaded modules; the ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerospof.lab import Lab, leftovers  # noqa: E402
from zerospof.lab.memory import pss_by_component  # noqa: E402

GOALS = {"up_s": 15.0, "down_s": 5.0, "idle_pss_mib": 2048.0}


def measure_baseline(lab: Lab, idle_s: float) -> dict[str, float]:
    """One round with every daemon exec'd (no preloading): up time and idle PSS."""
    previous = os.environ.get("ZEROSPOF_LAB_PRELOAD")
    os.environ["ZEROSPOF_LAB_PRELOAD"] = "0"
    try:
        started = time.monotonic()
        lab.up()
        up_s = time.monotonic() - started
        time.sleep(idle_s)
        memory = pss_by_component(lab.supervisor.pid(), lab.state_dir)
        print(f"baseline round: up {up_s:.2f}s; idle PSS {memory['total']} MiB {json.dumps(memory)}")
        return {"up_s": up_s, "idle_pss_mib": memory["total"]}
    finally:
        lab.down()
        if previous is None:
            del os.environ["ZEROSPOF_LAB_PRELOAD"]
        else:
            os.environ["ZEROSPOF_LAB_PRELOAD"] = previous


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--idle-s", type=float, default=5.0, help="settle time before measuring memory")
    parser.add_argument("--state-dir", default=None)
    parser.add_argument("--no-baseline", action="store_true", help="skip the exec-every-daemon baseline round")
    args = parser.parse_args()
    lab = Lab(args.state_dir)
    lab.down()
    baseline = None if args.no_baseline else measure_baseline(lab, args.idle_s)
    ups, downs, memories = [], [], []
    for round_number in range(1, args.rounds + 1):
        try:
            started = time.monotonic()
            result = lab.up()
            ups.append(time.monotonic() - started)
            time.sleep(args.idle_s)
            memory = pss_by_component(lab.supervisor.pid(), lab.state_dir)
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
    if baseline is not None:
        print(f"baseline (every daemon exec'd): up {baseline['up_s']:.2f}s, idle PSS {baseline['idle_pss_mib']} MiB; "
              f"ratio preloaded/baseline: up {summary['up_s'] / baseline['up_s']:.2f}, "
              f"idle PSS {summary['idle_pss_mib'] / baseline['idle_pss_mib']:.2f}")
    print(f"left behind after down: {left}")
    return 0 if all(summary[key] <= GOALS[key] for key in GOALS) and not any(left.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
