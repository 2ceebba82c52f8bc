"""Benchmark of the analysis: 1,000,000 synthetic verdicts through write_reports (a standalone script).

    .venv/bin/python bench/bench_analysis.py [N] [--aggregation M]   (--help: the options)

Targets: 1M verdicts in <= 10 s CPU on one core and <= 500 MB peak memory (whole write_reports run,
verdicts generated on the fly as a DynamoDB scan would deliver them); >= 500,000 verdicts/s for the
aggregation alone (``analyze`` over verdicts already built). ``run()`` returns the numbers as a dict
for a bench runner.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT / "functions") not in sys.path:
    sys.path.insert(0, str(ROOT / "functions"))

from bulkqa.analysis import AnalysisOptions, Verdict, analyze  # noqa: E402
from bulkqa.reports import REPORT_FILES, write_reports  # noqa: E402

N_VERDICTS = 1_000_000
N_AGGREGATION = 300_000
N_CLASSES = 50
OPTIONS = AnalysisOptions(min_confidence=50.0)  # every verdict analysed, 10 buckets from 50 to 100
TARGETS = {"cpu_seconds": 10.0, "peak_mb": 500.0, "aggregation_rows_per_s": 500_000.0}


def synthetic(n: int, seed: int = 2019) -> Iterator[Verdict]:
    """n verdicts over N_CLASSES labels: one reviewer for most items, three for every tenth, a few unreviewed."""
    rng = random.Random(seed)
    rand = rng.random
    labels = [f"class-{i:02d}" for i in range(N_CLASSES)]
    skill = [0.4 + 0.6 * rand() for _ in labels]
    for i in range(n):
        label = i % N_CLASSES
        confidence = 50.0 + 50.0 * rand()
        correct = rand() < skill[label] * confidence / 100.0 + (1.0 - skill[label]) * 0.5
        u = rand()
        if u < 0.01:
            confirms = rejects = 0
        elif u < 0.11:
            votes = [(rand() < 0.95) == correct for _ in range(3)]
            confirms = sum(votes)
            rejects = 3 - confirms
        else:
            confirms, rejects = (1, 0) if correct else (0, 1)
        yield Verdict(f"s3://bench-bucket/images/{i:07d}.jpg", labels[label], confidence, confirms, rejects)


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(n: int = N_VERDICTS, aggregation_n: int = N_AGGREGATION) -> dict[str, Any]:
    """Run both measurements and return them (also printed)."""
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as tmp:
        out = pathlib.Path(tmp)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        report = write_reports(synthetic(n), None, OPTIONS, out)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        peak = _peak_mb()
        sizes = {name: (out / name).stat().st_size for name in REPORT_FILES}
    assert report["rows"]["total"] == n

    cpu0 = time.process_time()
    collections.deque(synthetic(n), maxlen=0)  # the cost of making the verdicts, included above
    generation_cpu = time.process_time() - cpu0

    verdicts = list(synthetic(aggregation_n, seed=7))
    cpu0 = time.process_time()
    analyze(verdicts, None, OPTIONS)
    aggregation_cpu = time.process_time() - cpu0
    del verdicts

    result: dict[str, Any] = {
        "verdicts": n,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
        "rows_per_s": round(n / cpu),
        "peak_mb": round(peak, 1),
        "generation_cpu_seconds": round(generation_cpu, 3),
        "aggregation_verdicts": aggregation_n,
        "aggregation_cpu_seconds": round(aggregation_cpu, 3),
        "aggregation_rows_per_s": round(aggregation_n / aggregation_cpu),
        "file_bytes": sizes,
        "classes": len(report["classes"]),
        "python": sys.version.split()[0],
    }
    result["meets_targets"] = (
        result["cpu_seconds"] <= TARGETS["cpu_seconds"] * n / N_VERDICTS
        and result["peak_mb"] <= TARGETS["peak_mb"]
        and result["aggregation_rows_per_s"] >= TARGETS["aggregation_rows_per_s"]
    )
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/bench_analysis.py",
        description="write_reports over N synthetic verdicts, then the aggregation alone over M.",
        epilog="A quick measurement: bench/bench_analysis.py 200000 (the targets scale with N).",
    )
    parser.add_argument("n", nargs="?", type=int, default=N_VERDICTS, help=f"verdicts (default {N_VERDICTS:,})")
    parser.add_argument(
        "--aggregation",
        type=int,
        default=N_AGGREGATION,
        metavar="M",
        help=f"verdicts for the aggregation alone (default {N_AGGREGATION:,})",
    )
    args = parser.parse_args(argv[1:])
    result = run(args.n, args.aggregation)
    print(
        f"write_reports: {result['verdicts']:,} verdicts in {result['cpu_seconds']} s CPU "
        f"({result['wall_seconds']} s wall): {result['rows_per_s']:,} verdicts/s"
    )
    print(f"  of which generating the synthetic verdicts: {result['generation_cpu_seconds']} s CPU")
    print(f"peak memory (max RSS, whole process): {result['peak_mb']} MB")
    print(
        f"aggregation alone: {result['aggregation_verdicts']:,} verdicts in "
        f"{result['aggregation_cpu_seconds']} s "
        f"CPU: {result['aggregation_rows_per_s']:,} verdicts/s"
    )
    print("targets met" if result["meets_targets"] else f"TARGETS MISSED: {TARGETS}")
    print(result)
    return 0 if result["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
