"""Benchmark reading configuration files through zerospof's strict, bounded loader (prints figures; not a test).

Goal: a file at the size limit (1 MB) is read, checked for duplicate keys, depth, alias expansion and
non-finite numbers well under a second. The baseline is PyYAML's pure-Python ``yaml.safe_load`` of the same
text in the same process (what zerospof used before), so the ratio shows what libyaml plus the checks cost.

    .venv/bin/python benchmarks/yaml_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from zerospof.schema import MAX_FILE_BYTES, parse_yaml

REPO = Path(__file__).resolve().parents[1]


def document_near_limit() -> bytes:
    """The repository's target example repeated under distinct keys until just below the size limit."""
    example = (REPO / "targets" / "staging.example.yaml").read_text()
    indented = "".join(f"  {line}\n" for line in example.splitlines())
    parts, size, index = [], 0, 0
    while size + len(indented) + 20 < MAX_FILE_BYTES:
        chunk = f"copy{index}:\n{indented}"
        parts.append(chunk)
        size += len(chunk.encode())
        index += 1
    return "".join(parts).encode()


def best_of(rounds: int, run: Callable[[], object]) -> tuple[float, float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings), statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    raw = document_near_limit()
    text = raw.decode()
    strict_best, strict_median = best_of(args.rounds, lambda: parse_yaml(raw, "bench.yaml"))
    pure_best, pure_median = best_of(args.rounds, lambda: yaml.safe_load(text))
    print(f"document: {len(raw) / 1e6:.2f} MB, libyaml available: {yaml.__with_libyaml__}")
    print(f"zerospof strict loader: best {strict_best:.3f} s, median {strict_median:.3f} s")
    print(f"baseline yaml.safe_load (pure Python): best {pure_best:.3f} s, median {pure_median:.3f} s")
    print(f"ratio strict / baseline (best): {strict_best / pure_best:.2f}")


if __name__ == "__main__":
    main()
