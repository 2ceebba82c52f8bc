"""Step 4: the chunk results -> rejected.csv, the batch files and one manifest per labeling job."""

from __future__ import annotations

import contextlib
import csv
import heapq
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from .. import batching, ingest, keys, log
from ..errors import InvalidEvent, NoRowsAccepted
from ..escaping import csv_safe
from ..rows import BelowMinRow, RejectedRow
from ..settings import BatchSettings
from .common import get_path, require_str

if TYPE_CHECKING:
    from ..model import BatchesResult, IngestRows, IngestSummary, JobPart, MakeBatchesInput
    from ..ports import LabelsTable, ObjectStore, RawEvent, RunsTable

T = TypeVar("T")

_REJECTED_HEADER = ["line", "reason", "image", "label", "confidence"]
#: Chunk results read ahead of the one being processed (each ~60,000 rows): bounds make_batches' memory.
READ_AHEAD = 4
#: Batch files PUT per round as make_batches cuts them, and how many at once (10M rows: 400,000 files,
#: ~25 ms each: 32 at a time take ~5 min, within S3's 3,500 PUT/s per prefix).
PUT_ROUND = 512
PUT_THREADS = 32


def _write_rejected(out: TextIO, rows: Iterable[RejectedRow]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_REJECTED_HEADER)
    for row in rows:
        writer.writerow([row.line, *(csv_safe(str(v)) for v in row[1:])])


def _read_in_order(read: Callable[[str], T], names: list[str]) -> Iterator[T]:
    """``read(name)`` for each name, in order, at most ``READ_AHEAD`` requests in flight (bounded memory)."""
    ahead = READ_AHEAD
    with ThreadPoolExecutor(max_workers=ahead) as pool:
        pending = [pool.submit(read, name) for name in names[:ahead]]
        for n in range(len(names)):
            result = pending.pop(0).result()
            if n + ahead < len(names):
                pending.append(pool.submit(read, names[n + ahead]))
            yield result


def _below_min_row(row: BelowMinRow) -> RejectedRow:
    reason = f"confidence {row.confidence:g} is below the minimum confidence (counted, not reviewed)"
    return RejectedRow(row.line, reason, row.image, row.label, f"{row.confidence:g}")


def parse_make_batches(event: RawEvent) -> MakeBatchesInput:
    run_id = require_str(event, "run_id")
    chunks = get_path(event, "ingest", "chunks") or 0
    if not isinstance(chunks, (int, str)) or not str(chunks).isdigit():
        raise InvalidEvent(f"make_batches needs ingest.chunks, the number of chunks, not {chunks!r}")
    return {"run_id": run_id, "ingest": {"chunks": int(chunks)}}


def make_batches(
    event: RawEvent, settings: BatchSettings, store: ObjectStore, labels: LabelsTable, runs: RunsTable
) -> BatchesResult:
    """Gather the chunk results, write rejected.csv, the batch files and one manifest per job.

    Streams: chunk results are read in order with bounded read-ahead, accepted rows spill to local
    files (:class:`batching.SpillPlanner`), rows that were not accepted to a local file, and batch
    files are written as they are cut. What grows with the run is small: a manifest line per batch
    (~300 bytes) and the cross-chunk duplicates found (~0.9 KB each). 10M rows: see the README.
    """
    request = parse_make_batches(event)
    run_id, expected = request["run_id"], request["ingest"]["chunks"]
    result_keys = store.keys(keys.chunk_results_prefix(run_id))  # zero-padded chunk numbers: file order
    if len(result_keys) != expected:
        raise InvalidEvent(f"expected {expected} chunk results for run {run_id}, found {len(result_keys)}")
    rows = blank = below_min = rejected_in_chunks = 0
    with tempfile.TemporaryDirectory(prefix="bulkqa-batches-") as tmp:
        work = Path(tmp)
        planner = batching.SpillPlanner(work)
        not_accepted = work / "not-accepted.jsonl"  # rejected and below-minimum rows, in line order
        with not_accepted.open("w", encoding="utf-8") as pending, contextlib.closing(planner):
            for saved in _read_in_order(store.read_json, result_keys):
                result = ingest.ChunkResult.from_json(saved)
                for row in result.accepted:
                    planner.add(row)
                rows += result.rows
                blank += result.blank
                below_min += len(result.below_min)
                rejected_in_chunks += len(result.rejected)
                # docs/interfaces.md: rejected.csv lists every input row that was not accepted, with line and reason
                chunk_rows = result.rejected + [_below_min_row(row) for row in result.below_min]
                for rejected in sorted(chunk_rows, key=lambda r: r.line):
                    pending.write(json.dumps(rejected, ensure_ascii=False) + "\n")
        manifest: list[tuple[int, str]] = []
        puts: list[tuple[str, bytes, str]] = []

        def emit(batch: batching.Batch) -> None:
            document = json.dumps(batch.document(run_id), ensure_ascii=False).encode("utf-8")
            puts.append((batch.key(run_id), document, "application/json"))
            manifest.append((batch.seq, batch.manifest_line(run_id, store.bucket)))
            if len(puts) >= PUT_ROUND:
                store.put_many(puts, threads=PUT_THREADS)
                puts.clear()

        planned = planner.plan(settings.batch_size, emit)
        store.put_many(puts, threads=PUT_THREADS)
        if planned.kept_over_duplicates:  # a later duplicate in another chunk may have overwritten these items
            labels.put_items(ingest.label_item(run_id, row) for row in planned.kept_over_duplicates)
        rejected_file = work / "rejected.csv"
        with not_accepted.open(encoding="utf-8") as pending, rejected_file.open("w", encoding="utf-8") as out:
            chunk_rejected = (RejectedRow(*json.loads(text)) for text in pending)
            _write_rejected(out, heapq.merge(chunk_rejected, planned.duplicates, key=lambda r: r.line))
        store.put_file(keys.rejected_key(run_id), rejected_file, "text/csv; charset=utf-8")
    counts: IngestRows = {
        "total": rows,
        "accepted": planned.images,
        "rejected": rejected_in_chunks + len(planned.duplicates),
        "below_min_confidence": below_min,
        "blank_lines": blank,
    }
    summary: IngestSummary = {"run_id": run_id, "rows": counts, "rejected_key": keys.rejected_key(run_id)}
    if not planned.images:
        store.put_json(keys.ingest_summary_key(run_id), summary)
        runs.update(f"run#{run_id}", {"status": "no rows accepted", "rows": counts})
        raise NoRowsAccepted(
            f"no row of the file was accepted ({counts['rejected']} rejected, {below_min} below the minimum "
            f"confidence); see s3://{store.bucket}/{keys.rejected_key(run_id)} for the reasons, "
            "fix the file and upload it again"
        )
    manifest.sort()
    jobs: list[JobPart] = []
    for part, lines in enumerate(batching.split_jobs(manifest, settings.max_objects_per_job)):
        store.put_bytes(
            keys.manifest_key(run_id, part),
            "".join(f"{line}\n" for _, line in lines).encode("utf-8"),
            "application/jsonlines",
        )
        jobs.append(
            {
                "run_id": run_id,
                "part": part,
                "tasks": len(lines),
                "manifest": f"s3://{store.bucket}/{keys.manifest_key(run_id, part)}",
            }
        )
    summary.update({"tasks": planned.tasks, "jobs": len(jobs), "labels": planned.labels})
    store.put_json(keys.ingest_summary_key(run_id), summary)
    runs.update(f"run#{run_id}", {"status": "batched", "rows": counts, "tasks": planned.tasks, "jobs": len(jobs)})
    log.info("batches written", run_id=run_id, tasks=planned.tasks, jobs=len(jobs), **counts)
    return {
        "rows": counts,
        "tasks": planned.tasks,
        "images": planned.images,
        "jobs": jobs,
        "check_seconds": settings.completion_check_seconds,
    }
