"""LabelsTable.run_items: every item of a run, in a fixed order, streamed (moto's DynamoDB)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bulkqa import keys
from bulkqa.adapters import dynamodb
from bulkqa.adapters.dynamodb import LabelsTable

RUN = "reads-0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[LabelsTable]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield labels_table()


def labels_table() -> LabelsTable:
    """A labels table with the template's key schema, inside a running mock."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="labels",
        KeySchema=[
            {"AttributeName": "run_partition", "KeyType": "HASH"},
            {"AttributeName": "item_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "run_partition", "AttributeType": "S"},
            {"AttributeName": "item_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return LabelsTable(ddb, "labels")


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


def test_readers_fetch_a_bounded_number_of_pages_ahead(table: LabelsTable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamodb, "PAGES_AHEAD", 1)
    monkeypatch.setattr(dynamodb, "PARTITIONS_AHEAD", 1)
    table.put_items(items(RUN, 1800))
    queries: list[str] = []
    table._ddb.meta.events.register("before-call.dynamodb.Query", lambda **kw: queries.append("q"))
    reader = table.run_items(RUN)
    next(reader)
    time.sleep(1.0)  # let the readers run until their queues are full
    # 2 partitions reading, each with 1 page queued and 1 page fetched and waiting to be queued
    assert len(queries) <= (1 + 1) * (1 + 1)
    reader.close()


def test_an_abandoned_reader_does_not_block_the_interpreter_exit(tmp_path: Path) -> None:
    script = tmp_path / "abandon.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path[:0] = [{str(ROOT / "functions")!r}, {str(ROOT / "tests" / "unit")!r}]
            from moto import mock_aws
            from bulkqa.adapters import dynamodb
            from test_labels_table_reads import items, labels_table
            dynamodb.PAGES_AHEAD = 1
            with mock_aws():
                table = labels_table()
                table.put_items(items("{RUN}", 600))
                KEPT = table.run_items("{RUN}")
                next(KEPT)  # read one item, keep the reader, never close it
            print("done")
            """
        )
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    # a hang is the failure: the timeout only bounds how long the test waits for it
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"


def test_confidences_read_back_as_the_floats_written(table: LabelsTable) -> None:
    """Numbers go through boto3's TypeSerializer as Decimal(repr(x)): every float comes back unchanged."""
    confidences = [99.5, 87.123456789012345, 0.1 + 0.2, 1e-07, 100.0, 50.0, 33.333333333333336, 0.0]
    written = []
    for n, confidence in enumerate(confidences):
        item = keys.item_id(f"s3://b/{n}.jpg", "Crab")
        written.append(
            {"run_partition": keys.partition(RUN, item), "item_id": item, "confidence": confidence, "line": n + 2}
        )
    table.put_items(written)  # only the attributes this test reads
    got = {i["item_id"]: i for i in table.run_items(RUN, ("item_id", "confidence", "line"))}
    for item in written:
        back = got[str(item["item_id"])]
        assert back["confidence"] == item["confidence"] and isinstance(back["confidence"], float)
        assert back["line"] == item["line"] and isinstance(back["line"], int)


def test_maps_and_integers_round_trip(table: LabelsTable) -> None:
    item = keys.item_id("s3://b/x.jpg", "Crab")
    table.put_items([{"run_partition": keys.partition(RUN, item), "item_id": item, "line": 7}])
    assert table.set_verdicts(RUN, item, 2, 1, {"w1": "confirm", "w2": "confirm", "w3": "reject"}, "job", "b-1")
    assert not table.set_verdicts(RUN, keys.item_id("s3://b/none.jpg", "Crab"), 1, 0, {"w1": "confirm"}, "job", "b")
    (back,) = table.run_items(RUN)
    assert back["WorkerVerdicts"] == {"w1": "confirm", "w2": "confirm", "w3": "reject"}
    assert (back["WorkerConfirmCount"], back["WorkerDisconfirmCount"], back["line"]) == (2, 1, 7)
    assert all(type(back[k]) is int for k in ("WorkerConfirmCount", "WorkerDisconfirmCount", "line"))
