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

from .. import batching, ingest, jsonl, keys, log, metrics
from ..errors import InvalidEvent, NoRowsAccepted, RowsDoNotAddUp
from ..escaping import csv_safe, visible
from ..rows import AcceptedRow, BelowMinRow, RejectedRow
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


def _cell(value: str) -> str:
    """A rejected.csv cell: control bytes shown escaped (``\\x00``), spreadsheet formulas neutralised."""
    return csv_safe(visible(value))


def _write_rejected(out: TextIO, rows: Iterable[RejectedRow]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_REJECTED_HEADER)
    for row in rows:
        writer.writerow([row.line, _cell(row.reason), _cell(row.image), _cell(row.label), _cell(row.confidence)])


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


def below_min_reason(confidence_text: str) -> str:
    """rejected.csv's reason for a row below the minimum confidence, with its confidence as written."""
    return f"confidence {confidence_text} is below the minimum confidence (counted, not reviewed)"


def _below_min_row(row: BelowMinRow) -> RejectedRow:
    return RejectedRow(row.line, below_min_reason(row.confidence_text), row.image, row.label, row.confidence_text)


#: The kinds of the rows make_batches sets aside for rejected.csv (the first value of each spilled line).
_REJECTED, _BELOW_MIN = 0, 1


def _line(row: AcceptedRow | BelowMinRow | RejectedRow) -> int:
    return row.line


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

    Duplicates across chunks are settled as inside one: the first copy of an (image, label) in file
    order decides its category, every later copy is a duplicate of that line (docs/interfaces.md,
    ``rejected.csv``). The row counts are those of the rows as settled, so they always add up.

    Streams: chunk results are read in order with bounded read-ahead, accepted and below-minimum rows
    spill to local files (:class:`batching.SpillPlanner`), rows that were not accepted to a local
    file, and batch files are written as they are cut. What grows with the run is small: a manifest
    line per batch (~300 bytes) and the cross-chunk duplicates found (~0.9 KB each). 10M rows: see
    the README.
    """
    request = parse_make_batches(event)
    run_id, expected = request["run_id"], request["ingest"]["chunks"]
    result_keys = store.keys(keys.chunk_results_prefix(run_id))  # zero-padded chunk numbers: file order
    if len(result_keys) != expected:
        raise InvalidEvent(f"expected {expected} chunk results for run {run_id}, found {len(result_keys)}")
    rows = blank = 0
    with tempfile.TemporaryDirectory(prefix="bulkqa-batches-") as tmp:
        work = Path(tmp)
        planner = batching.SpillPlanner(work)
        not_accepted = work / "not-accepted.jsonl"  # rejected and below-minimum rows, in line order
        with not_accepted.open("w", encoding="utf-8", newline="\n") as pending, contextlib.closing(planner):
            for saved in _read_in_order(store.read_json, result_keys):
                result = ingest.ChunkResult.from_json(saved)
                # the first copy of an (image, label) in file order decides: rows go to the planner in line order
                copies: tuple[Iterable[AcceptedRow | BelowMinRow | RejectedRow], ...] = (
                    result.accepted,
                    result.below_min,
                    (r for r in result.rejected if r.item_id),  # rejected for its confidence alone
                )
                for row in heapq.merge(*copies, key=_line):
                    if isinstance(row, AcceptedRow):
                        planner.add(row)
                    elif isinstance(row, BelowMinRow):
                        planner.add_below_min(row)
                    else:
                        planner.add_rejected(row)
                rows += result.rows
                blank += result.blank
                # docs/interfaces.md: rejected.csv lists every input row that was not accepted, with line and reason
                set_aside: tuple[Iterable[RejectedRow | BelowMinRow], ...] = (result.rejected, result.below_min)
                for other in heapq.merge(*set_aside, key=_line):
                    kind = _BELOW_MIN if isinstance(other, BelowMinRow) else _REJECTED
                    pending.write(jsonl.dumps_line([kind, *other]) + "\n")
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
        if planned.kept_over_duplicates:  # a later copy in another chunk overwrote these items
            labels.put_items(ingest.label_item(run_id, row) for row in planned.kept_over_duplicates)
        if planned.stored_below_min:  # first copies below the minimum: counted, never stored
            labels.delete_items(run_id, planned.stored_below_min)
        # the counts are those of the rows as settled, counted as rejected.csv is written: they always add up
        tally = {_REJECTED: 0, _BELOW_MIN: 0}

        def settled(texts: Iterable[str]) -> Iterator[RejectedRow]:
            for text in texts:
                kind, *values = json.loads(text)
                if kind == _REJECTED:
                    tally[_REJECTED] += 1
                    rejected = RejectedRow(*values)
                    # a duplicate inside its chunk names the chunk's first copy, itself maybe a later copy;
                    # a row rejected for its confidence alone is a duplicate when an earlier chunk had the pair
                    kept_at = batching.duplicate_of(rejected.reason)
                    kept = planned.kept_line.get(rejected.line if kept_at is None else kept_at)
                    if kept is not None:
                        rejected = rejected._replace(reason=batching.duplicate_reason(kept))
                    yield rejected
                    continue
                row = BelowMinRow(*values)
                kept = planned.kept_line.get(row.line)
                if kept is None:
                    tally[_BELOW_MIN] += 1
                    yield _below_min_row(row)
                else:  # a later copy of an (image, label) whose first copy decided
                    tally[_REJECTED] += 1
                    yield RejectedRow(
                        row.line, batching.duplicate_reason(kept), row.image, row.label, row.confidence_text
                    )

        rejected_file = work / "rejected.csv"
        with not_accepted.open(encoding="utf-8") as pending, rejected_file.open("w", encoding="utf-8") as out:
            _write_rejected(out, heapq.merge(settled(pending), planned.duplicates, key=_line))
        store.put_file(keys.rejected_key(run_id), rejected_file, "text/csv; charset=utf-8")
    counts: IngestRows = {
        "total": rows,
        "accepted": planned.images,
        "rejected": tally[_REJECTED] + len(planned.duplicates),
        "below_min_confidence": tally[_BELOW_MIN],
        "blank_lines": blank,
    }
    if counts["accepted"] + counts["rejected"] + counts["below_min_confidence"] != rows:
        raise RowsDoNotAddUp(f"run {run_id}: the rows do not add up after settling duplicates: {counts}")
    summary: IngestSummary = {"run_id": run_id, "rows": counts, "rejected_key": keys.rejected_key(run_id)}
    if not planned.images:
        store.put_json(keys.ingest_summary_key(run_id), summary)
        runs.update(f"run#{run_id}", {"status": "no rows accepted", "rows": counts})
        metrics.rows(counts)
        raise NoRowsAccepted(
            f"no row of the file was accepted ({counts['rejected']} rejected, "
            f"{counts['below_min_confidence']} below the minimum confidence); see "
            f"s3://{store.bucket}/{keys.rejected_key(run_id)} for the reasons, fix the file and upload it again"
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
    metrics.rows(counts)
    log.info("batches written", tasks=planned.tasks, jobs=len(jobs), **counts)
    return {
        "rows": counts,
        "tasks": planned.tasks,
        "images": planned.images,
        "jobs": jobs,
        "check_seconds": settings.completion_check_seconds,
    }
