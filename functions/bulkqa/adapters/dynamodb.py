"""DynamoDB: the labels table (one item per image and label) and the runs table (runs, jobs, tokens).

Items are converted with boto3's ``TypeSerializer``/``TypeDeserializer``. DynamoDB numbers travel as
``Decimal``: floats (confidence) are stored from their ``repr`` (the shortest text that gives the
same float back), and numbers read back become ``int`` when integral as stored, else ``float``, so a
confidence reads back as the float that was written.

Measured against the hand-written conversion this replaced (boto3 1.43, Python 3.11, 2 shared
cores): 100,000 label items serialise in 1.1 s instead of 0.65 s and deserialise in 1.2 s instead
of 0.6 s, to the same wire format; bench_components' ingest_step (200,000 rows, stub clients) takes
~3.6 s of CPU instead of ~2.2 s, consolidation_step (60,000 verdicts) ~1.6 s instead of ~1.1 s.
About 6 us more per row: beside the BatchWriteItem requests that carry the rows (a 60,000-row chunk:
+0.4 s against ~2,400 requests) it does not change a run's duration, so boto3's own conversion is used.
"""

from __future__ import annotations

import functools
import itertools
import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from .. import keys

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputPaginateTypeDef,
        WriteRequestTypeDef,
    )

    from ..model import LabelItem, RunRecord, StoredLabel

_BATCH = 25


@functools.cache
def _codec() -> tuple[TypeSerializer, TypeDeserializer]:
    # imported on first use, not with the handler: boto3 is loaded by then (the client is built first)
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


_AS_IS = frozenset({str, int, bool})


def _numbers_as_decimals(value: object) -> object:
    """DynamoDB numbers are Decimals: a float becomes the Decimal of its shortest repr."""
    if type(value) in _AS_IS:  # most attributes: nothing to convert
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): _numbers_as_decimals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers_as_decimals(v) for v in value]
    return value


def _plain(value: object) -> object:
    """Decimals read back -> int when integral as stored (no fraction digits), else float."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_attr(value: object) -> AttributeValueTypeDef:
    return _codec()[0].serialize(_numbers_as_decimals(value))


def to_item(data: Mapping[str, object]) -> dict[str, AttributeValueTypeDef]:
    """A mapping -> a DynamoDB item (``None`` values left out)."""
    serialize = _codec()[0].serialize
    return {k: serialize(_numbers_as_decimals(v)) for k, v in data.items() if v is not None}


def from_item(item: Mapping[str, AttributeValueTypeDef]) -> dict[str, object]:
    """A DynamoDB item (a boto3 response) -> plain values."""
    deserialize = _codec()[1].deserialize
    return {k: _plain(deserialize(v)) for k, v in item.items()}


def _backoff(attempt: int) -> None:
    # random jitter spreads retries; it is not used for anything secret
    time.sleep(min(2.0, 0.05 * (2**attempt)) * (0.5 + random.random() / 2))  # noqa: S311  # nosec B311


class LabelsTable:
    """Items keyed by (run_partition, item_id); a run spans ``keys.LABEL_PARTITIONS`` partitions.

    The ``ports.LabelsTable`` of the steps.
    """

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self.table = table

    def put_items(self, items: Iterable[LabelItem]) -> int:
        """BatchWriteItem in requests of 25, retrying unprocessed items; returns requests made."""
        return self._batch_write(cast("WriteRequestTypeDef", {"PutRequest": {"Item": to_item(item)}}) for item in items)

    def delete_items(self, run_id: str, item_ids: Iterable[str]) -> int:
        """Delete items of a run (BatchWriteItem DeleteRequests; a missing item is no error); returns requests."""
        return self._batch_write(
            cast(
                "WriteRequestTypeDef",
                {
                    "DeleteRequest": {
                        "Key": {"run_partition": {"S": keys.partition(run_id, item)}, "item_id": {"S": item}}
                    }
                },
            )
            for item in item_ids
        )

    def _batch_write(self, writes: Iterable[WriteRequestTypeDef]) -> int:
        requests = 0
        source = iter(writes)  # 25 at a time: a chunk's items are never all converted at once
        while batch := list(itertools.islice(source, _BATCH)):
            attempt = 0
            while batch:
                response = self._ddb.batch_write_item(RequestItems={self.table: batch})
                requests += 1
                batch = cast("list[WriteRequestTypeDef]", response.get("UnprocessedItems", {}).get(self.table, []))
                if batch:
                    _backoff(attempt)
                    attempt += 1
        return requests

    def set_verdicts(
        self,
        run_id: str,
        item: str,
        confirms: int,
        rejects: int,
        reviewers: Mapping[str, str],
        job: str,
        batch: str,
        version: int | None = None,
    ) -> bool:
        """Write one image's counts (SET, so a retry writes the same values). False if no such item.

        With ``version`` the write also needs the item's ``review_version`` absent or lower, and sets it: of
        two concurrent tallies of a screen the one made from more answers wins whatever the order of arrival.
        A stale write changes nothing and returns True (the item exists; newer counts are there already).
        """
        update = (
            "SET WorkerConfirmCount = :c, WorkerDisconfirmCount = :d, "
            "WorkerVerdicts = :v, labeling_job = :j, batch_id = :b"
        )
        condition = "attribute_exists(item_id)"
        values: dict[str, AttributeValueTypeDef] = {
            ":c": {"N": str(confirms)},
            ":d": {"N": str(rejects)},
            ":v": _codec()[0].serialize(dict(reviewers)),  # strings only: nothing to convert
            ":j": {"S": job},
            ":b": {"S": batch},
        }
        if version is not None:
            update += ", review_version = :rv"
            condition += " AND (attribute_not_exists(review_version) OR review_version < :rv)"
            values[":rv"] = {"N": str(version)}
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={"run_partition": {"S": keys.partition(run_id, item)}, "item_id": {"S": item}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD" if version is not None else "NONE",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as exc:
            # with a version, the old item comes back when it exists: then the write was only stale
            return version is not None and bool(exc.response.get("Item"))
        return True

    def run_items(self, run_id: str, attributes: tuple[str, ...] = ()) -> Iterator[StoredLabel]:
        """Every item of a run: one paginated Query per partition, never a Scan, in a fixed order.

        Partitions are yielded one after another, page by page (partition, then item id: the order
        does not depend on timing). While one is being read, the next ``PARTITIONS_AHEAD`` are
        fetched in background threads, each at most ``PAGES_AHEAD`` pages (1 MB each) ahead: memory
        is bounded by those pages, not by the run. The threads are daemons and stop when the reader
        finishes, fails or is closed early, so an abandoned reader never blocks an interpreter's exit.
        """
        names = {f"#a{n}": a for n, a in enumerate(attributes)}
        partitions = keys.partitions(run_id)
        pages: list[queue.Queue[_Page]] = [queue.Queue(maxsize=PAGES_AHEAD) for _ in partitions]
        stop = threading.Event()

        def hand_over(box: queue.Queue[_Page], value: _Page) -> bool:
            while not stop.is_set():
                try:
                    box.put(value, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def read(n: int) -> None:
            request: QueryInputPaginateTypeDef = {
                "TableName": self.table,
                "KeyConditionExpression": "run_partition = :p",
                "ExpressionAttributeValues": {":p": {"S": partitions[n]}},
            }
            if names:
                request["ProjectionExpression"] = ", ".join(names)
                request["ExpressionAttributeNames"] = names
            try:
                for page in self._ddb.get_paginator("query").paginate(**request):
                    if not hand_over(pages[n], page.get("Items", [])):
                        return
                hand_over(pages[n], None)
            except BaseException as exc:  # the reader raises it
                hand_over(pages[n], exc)

        def start(n: int) -> None:
            if n < len(partitions):
                threading.Thread(target=read, args=(n,), name=f"bulkqa-run-items-{n:02d}", daemon=True).start()

        try:
            for n in range(PARTITIONS_AHEAD + 1):
                start(n)
            for n, box in enumerate(pages):
                while (got := box.get()) is not None:
                    if isinstance(got, BaseException):
                        raise got
                    for raw in got:
                        yield cast("StoredLabel", from_item(raw))
                start(n + PARTITIONS_AHEAD + 1)
        finally:
            stop.set()


#: Partitions fetched ahead of the one being read, and Query pages (1 MB each at most, ~12 MB once
#: parsed) each keeps ready: at most (3 + 1) x (2 + 1) pages in memory, ~150 MB, whatever the run's size.
PARTITIONS_AHEAD = 3
PAGES_AHEAD = 2
#: What a partition reader hands over: a page of items, the error it met, or None at its end.
_Page = list[dict[str, "AttributeValueTypeDef"]] | BaseException | None


class RunsTable:
    """One item per run (``run#<id>``) and per labeling job (``job#<name>``, holding the task token).

    The ``ports.RunsTable`` of the steps.
    """

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self.table = table

    def register_run(self, run_id: str, record: RunRecord) -> bool:
        """Create the run record; False if this run (this uploaded object version) is already known."""
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item=to_item({"pk": f"run#{run_id}", **record}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, pk: str) -> RunRecord | None:
        item = self._ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
        return cast("RunRecord", from_item(item)) if item else None

    def update(self, pk: str, values: RunRecord) -> None:
        names = {f"#f{n}": k for n, k in enumerate(values)}
        self._ddb.update_item(
            TableName=self.table,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET " + ", ".join(f"#f{n} = :v{n}" for n in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{n}": to_attr(v) for n, v in enumerate(values.values())},
        )
