"""DynamoDB: the labels table (one item per image and label) and the runs table (runs, jobs, tokens)."""

from __future__ import annotations

import itertools
import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

_BATCH = 25


def _to_attr(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": format(Decimal(str(value)), "f") if isinstance(value, float) else str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): _to_attr(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [_to_attr(v) for v in value]}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _to_attr(v) for k, v in data.items() if v is not None}


def _from_attr(attr: Mapping[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() and "." not in value else float(number)
    if kind == "BOOL":
        return bool(value)
    if kind == "M":
        return {k: _from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [_from_attr(v) for v in value]
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(value)
    raise TypeError(f"unsupported DynamoDB type {kind}")


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _from_attr(v) for k, v in item.items()}


def _backoff(attempt: int) -> None:
    # random jitter spreads retries; it is not used for anything secret
    time.sleep(min(2.0, 0.05 * (2**attempt)) * (0.5 + random.random() / 2))  # noqa: S311  # nosec B311


class LabelsTable:
    """Items keyed by (run_partition, item_id); a run spans ``keys.LABEL_PARTITIONS`` partitions."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self.table = table

    def put_items(self, items: Iterable[Mapping[str, Any]]) -> int:
        """BatchWriteItem in requests of 25, retrying unprocessed items; returns requests made."""
        requests = 0
        source = iter(items)  # 25 at a time: a chunk's items are never all converted at once
        while batch := [{"PutRequest": {"Item": to_item(item)}} for item in itertools.islice(source, _BATCH)]:
            attempt = 0
            while batch:
                response = self._ddb.batch_write_item(RequestItems={self.table: batch})  # type: ignore[dict-item]
                requests += 1
                batch = list(response.get("UnprocessedItems", {}).get(self.table, []))  # type: ignore[arg-type]
                if batch:
                    _backoff(attempt)
                    attempt += 1
        return requests

    def set_verdicts(
        self, run_id: str, item: str, confirms: int, rejects: int, reviewers: Mapping[str, str], job: str, batch: str
    ) -> bool:
        """Write one image's counts (SET, so a retry writes the same values). False if no such item."""
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={"run_partition": {"S": keys.partition(run_id, item)}, "item_id": {"S": item}},
                UpdateExpression="SET WorkerConfirmCount = :c, WorkerDisconfirmCount = :d, "
                "WorkerVerdicts = :v, labeling_job = :j, batch_id = :b",
                ConditionExpression="attribute_exists(item_id)",
                ExpressionAttributeValues={
                    ":c": {"N": str(confirms)},
                    ":d": {"N": str(rejects)},
                    ":v": _to_attr(dict(reviewers)),
                    ":j": {"S": job},
                    ":b": {"S": batch},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def run_items(self, run_id: str, attributes: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
        """Every item of a run: one paginated Query per partition, never a Scan, in a fixed order.

        Partitions are yielded one after another, page by page (partition, then item id: the order
        does not depend on timing). While one is being read, the next ``PARTITIONS_AHEAD`` are
        fetched in background threads, each at most ``PAGES_AHEAD`` pages (1 MB each) ahead: memory
        is bounded by those pages, not by the run. The threads are daemons and stop when the reader
        finishes, fails or is closed early, so an abandoned reader never blocks an interpreter's exit.
        """
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "run_partition = :p"}
        if attributes:
            names = {f"#a{n}": a for n, a in enumerate(attributes)}
            kwargs["ProjectionExpression"] = ", ".join(names)
            kwargs["ExpressionAttributeNames"] = names
        partitions = keys.partitions(run_id)
        pages: list[queue.Queue[Any]] = [queue.Queue(maxsize=PAGES_AHEAD) for _ in partitions]
        stop = threading.Event()

        def hand_over(box: queue.Queue[Any], value: Any) -> bool:
            while not stop.is_set():
                try:
                    box.put(value, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def read(n: int) -> None:
            try:
                paginator = self._ddb.get_paginator("query")
                for page in paginator.paginate(**kwargs, ExpressionAttributeValues={":p": {"S": partitions[n]}}):
                    if not hand_over(pages[n], page.get("Items", [])):
                        return
                hand_over(pages[n], _END)
            except BaseException as exc:  # the reader raises it
                hand_over(pages[n], exc)

        def start(n: int) -> None:
            if n < len(partitions):
                threading.Thread(target=read, args=(n,), name=f"bulkqa-run-items-{n:02d}", daemon=True).start()

        try:
            for n in range(PARTITIONS_AHEAD + 1):
                start(n)
            for n, box in enumerate(pages):
                while (got := box.get()) is not _END:
                    if isinstance(got, BaseException):
                        raise got
                    for raw in got:
                        yield from_item(raw)
                start(n + PARTITIONS_AHEAD + 1)
        finally:
            stop.set()


#: Partitions fetched ahead of the one being read, and Query pages (1 MB each at most, ~12 MB once
#: parsed) each keeps ready: at most (3 + 1) x (2 + 1) pages in memory, ~150 MB, whatever the run's size.
PARTITIONS_AHEAD = 3
PAGES_AHEAD = 2
_END = object()


class RunsTable:
    """One item per run (``run#<id>``) and per labeling job (``job#<name>``, holding the task token)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self.table = table

    def register_run(self, run_id: str, data: Mapping[str, Any]) -> bool:
        """Create the run record; False if this run (this uploaded object version) is already known."""
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item=to_item({"pk": f"run#{run_id}", **data}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, pk: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def update(self, pk: str, values: Mapping[str, Any]) -> None:
        names = {f"#f{n}": k for n, k in enumerate(values)}
        self._ddb.update_item(
            TableName=self.table,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET " + ", ".join(f"#f{n} = :v{n}" for n in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{n}": _to_attr(v) for n, v in enumerate(values.values())},
        )
