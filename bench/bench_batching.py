"""make_batches holds every accepted row of a run: measure it at 1M rows (target: 1.5 GB, 15 min).

Runs the domain part of the step (cross-chunk de-duplication, grouping by label, batch documents and
manifest lines) on synthetic accepted rows shaped like ingest's chunk results; the S3 PUTs are not
included (they are I/O, made concurrently by the function).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from bulkqa import batching, keys


def rows(n: int, labels: int = 100) -> list[list[Any]]:
    out = []
    for i in range(n):
        label = f"label-{i % labels:03d}"
        uri = f"s3://bulk-label-qa-labelsbucket-example/images/folder{i % 997}/image_{i:08d}.jpg"
        out.append([i + 2, keys.item_id(uri, label), uri, uri[40:], label, 50.0 + (i % 5000) / 100])
    return out


def run(n: int = 1_000_000) -> dict[str, Any]:
    data = rows(n)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    dedup = batching.deduplicate(data)
    batches = batching.make_batches(dedup.rows, 25)
    size = 0
    for batch in batches:
        size += len(json.dumps(batch.document("bench-run")))
        size += len(batch.manifest_line("bench-run", "bucket"))
    jobs = batching.split_jobs(batches, 100_000)
    result = {
        "rows": n,
        "tasks": len(batches),
        "jobs": len(jobs),
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mb": round(rss_before / 1024, 1),
        "batch_bytes": size,
    }
    return result


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), indent=2))
