"""LabelsTable.run_items: every item of a run, in a fixed order, streamed (moto's DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bulkqa import keys
from bulkqa.adapters import dynamodb
from bulkqa.adapters.dynamodb import LabelsTable

RUN = "reads-0123456789"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[LabelsTable]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="labels",
            KeySchema=[{"AttributeName": "run_partition", "KeyType": "HASH"},
                       {"AttributeName": "item_id", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "run_partition", "AttributeType": "S"},
                                  {"AttributeName": "item_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield LabelsTable(ddb, "labels")


def items(run_id: str, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        item = keys.item_id(f"s3://b/{i}.jpg", "Crab")
        # ~12 KB each, so a partition takes two or more 1 MB Query pages
        out.append({"run_partition": keys.partition(run_id, item), "item_id": item, "pad": "x" * 12000, "n": i})
    return out


def test_every_item_once_in_partition_then_item_order(table: LabelsTable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamodb, "PAGES_AHEAD", 1)
    written = items(RUN, 1800)
    table.put_items(written)
    table.put_items(items("another-run-00", 50))  # not this run's

    queries: list[str] = []
    table._ddb.meta.events.register("before-call.dynamodb.Query", lambda **kw: queries.append("q"))
    got = [(i["run_partition"], i["item_id"]) for i in table.run_items(RUN, ("item_id", "run_partition"))]

    assert got == sorted((i["run_partition"], i["item_id"]) for i in written)
    assert len({p for p, _ in got}) == keys.LABEL_PARTITIONS
    assert len(queries) > keys.LABEL_PARTITIONS  # several pages per partition


def test_a_reader_that_stops_early_does_not_hang(table: LabelsTable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamodb, "PAGES_AHEAD", 1)
    table.put_items(items(RUN, 1800))
    reader = table.run_items(RUN)
    first = [next(reader) for _ in range(10)]
    reader.close()  # the partition readers see the stop and end
    assert len(first) == 10


def test_a_failed_query_reaches_the_reader(table: LabelsTable) -> None:
    broken = LabelsTable(table._ddb, "no-such-table")
    with pytest.raises(broken._ddb.exceptions.ResourceNotFoundException):
        list(broken.run_items(RUN))
