"""make_batches at scale: the streaming plan (``batching.SpillPlanner``) on 1M and 10M accepted rows.

    .venv/bin/python bench/bench_batching.py [ROWS ...]     (default: 1000000)

Runs the domain part of the step the way ``steps.make_batches`` does: accepted rows (shaped like
ingest's chunk results, generated lazily so the input itself is not held) are added in line order,
cross-chunk duplicates included; each batch is turned into its JSON document and manifest line as it
is cut. The S3 PUTs are left out (I/O, made concurrently by the function). Reports CPU and wall
seconds, the process's peak RSS (the Lambda function has 1,536 MB) and the local disk the spill files
take (the function has 10,240 MB of ephemeral storage). One fresh interpreter per size, so peak RSS
is that size's.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "functions"))

from bulkqa import batching, keys  # noqa: E402
from bulkqa.rows import AcceptedRow  # noqa: E402

LABELS = 100
DUPLICATE_EVERY = 50_000  # one cross-chunk duplicate per 50,000 rows


def rows(n: int) -> Iterator[AcceptedRow]:
    for i in range(n):
        j = i - 40_000 if i % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 else i  # repeats a row of an earlier chunk
        label = f"label-{j % LABELS:03d}"
        uri = f"s3://bulk-label-qa-labelsbucket-example/images/folder{j % 997}/image_{j:08d}.jpg"
        yield AcceptedRow(i + 2, keys.item_id(uri, label), uri, uri[40:], label, 50.0 + (j % 5000) / 100)


class BatchingRun(TypedDict):
    rows: int
    images: int
    duplicates: int
    tasks: int
    labels: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    spill_mb: float
    batch_documents_mb: float
    manifest_mb: float


def run(n: int) -> BatchingRun:
    started, cpu = time.perf_counter(), time.process_time()
    tasks = document_bytes = manifest_bytes = 0
    with tempfile.TemporaryDirectory(prefix="bench-batches-") as tmp:
        planner = batching.SpillPlanner(Path(tmp))
        for row in rows(n):
            planner.add(row)

        def emit(batch: batching.Batch) -> None:
            nonlocal tasks, document_bytes, manifest_bytes
            tasks += 1
            document_bytes += len(json.dumps(batch.document("bench-run"), ensure_ascii=False).encode("utf-8"))
            manifest_bytes += len(batch.manifest_line("bench-run", "bucket")) + 1

        spill = 0
        planned = planner.plan(25, emit)
        spill = sum(path.stat().st_size for path in Path(tmp).iterdir())
    return {
        "rows": n,
        "images": planned.images,
        "duplicates": len(planned.duplicates),
        "tasks": tasks,
        "labels": planned.labels,
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "spill_mb": round(spill / 2**20, 1),
        "batch_documents_mb": round(document_bytes / 2**20, 1),
        "manifest_mb": round(manifest_bytes / 2**20, 1),
    }


def run_in_child(n: int) -> BatchingRun:
    out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True)
    result: BatchingRun = json.loads(out.stdout)
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(run(int(sys.argv[2]))))
    else:
        for size in [int(a) for a in sys.argv[1:]] or [1_000_000]:
            print(json.dumps(run_in_child(size), indent=2))
