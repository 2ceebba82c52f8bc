"""moto_speedups keeps moto's behaviour: the same requests get the same answers with and without the patches.

Differential tests: each scenario runs twice, each time in a fresh ``mock_aws()``: once with moto as is, once
with ``moto_speedups.install()`` applied. Every request's outcome is recorded (the response without
``ResponseMetadata``, or the error's code and message; a Python exception escaping moto is recorded by type and
text), then a consistent Scan of every table sorted by key; the two recordings must be identical. Other tests
check that the fast paths are really taken (so the comparisons are not vacuous) and what ``skip_signing`` does.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import dynamo_type
from moto.dynamodb.models import table as table_module
from moto.dynamodb.responses import DynamoHandler

from bulkqa_local import moto_speedups

REGION = "us-east-1"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})  # a 500 from moto is an answer, not a retry


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


# --- recording and comparing --------------------------------------------------------------------


def _normalise(value: Any) -> Any:
    """Timestamps (table creation times) differ between two runs: every other value must not."""
    if isinstance(value, datetime.datetime):
        return "<datetime>"
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _outcome(request: Callable[[], Any]) -> Any:
    try:
        response = request()
    except ClientError as error:
        found = ("ClientError", error.response["Error"]["Code"], error.response["Error"]["Message"])
        reasons = error.response.get("CancellationReasons")  # a cancelled transaction's, item by item
        return found if reasons is None else (*found, reasons)
    except Exception as error:  # moto itself failing: the patched moto must fail the same way
        return ("exception", type(error).__name__, str(error))
    response = dict(response)
    response.pop("ResponseMetadata", None)
    return _normalise(response)


class Recorder:
    """Low-level clients made inside the mock, and the outcome of every request made through :meth:`call`."""

    def __init__(self) -> None:
        self.ddb = boto3.client("dynamodb", region_name=REGION, config=NO_RETRIES)
        self.streams = boto3.client("dynamodbstreams", region_name=REGION, config=NO_RETRIES)
        self.outcomes: dict[str, Any] = {}

    def record(self, label: str, outcome: Any) -> Any:
        assert label not in self.outcomes, f"two requests labelled {label!r}"
        self.outcomes[label] = outcome
        return outcome

    def call(self, label: str, operation: str, **params: Any) -> Any:
        """Makes the request; its outcome is recorded as ``"<operation> <label>"``."""
        method = getattr(self.ddb, operation)
        return self.record(f"{operation} {label}", _outcome(lambda: method(**params)))

    def create_table(
        self,
        name: str,
        hash_key: tuple[str, str],
        range_key: tuple[str, str] | None = None,
        *,
        gsi: tuple[str, tuple[str, str], tuple[str, str] | None] | None = None,
        stream: bool = False,
    ) -> None:
        """A table (not recorded: its description holds times); ``gsi`` is (name, hash key, range key)."""
        keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
        attributes = dict(key for key, _ in keys)
        params: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [{"AttributeName": attribute, "KeyType": role} for (attribute, _), role in keys],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if gsi:
            index_name, index_hash, index_range = gsi
            index_keys = [(index_hash, "HASH")] + ([(index_range, "RANGE")] if index_range else [])
            attributes.update(key for key, _ in index_keys)
            schema = [{"AttributeName": attribute, "KeyType": role} for (attribute, _), role in index_keys]
            params["GlobalSecondaryIndexes"] = [
                {"IndexName": index_name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}
            ]
        if stream:
            params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        params["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": t} for a, t in attributes.items()]
        self.ddb.create_table(**params)

    def record_stream(self, table: str) -> None:
        """The table's stream records: what changed, not when (ids and times differ between runs)."""

        def records() -> Any:
            arn = self.ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
            found = []
            for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                for record in self.streams.get_records(ShardIterator=iterator)["Records"]:
                    change = record["dynamodb"]
                    found.append([record["eventName"], change["Keys"], change.get("OldImage"), change.get("NewImage")])
            return {"Records": found}

        self.record(f"stream of {table}", _outcome(records))

    def record_tables(self, when: str = "final") -> None:
        """A consistent Scan of every table, sorted by key."""
        for name in sorted(self.ddb.list_tables()["TableNames"]):
            key_names = [k["AttributeName"] for k in self.ddb.describe_table(TableName=name)["Table"]["KeySchema"]]

            def scan(name: str = name, key_names: list[str] = key_names) -> Any:
                items = []
                for page in self.ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
                    items.extend(page["Items"])
                return {"Items": sorted(items, key=lambda item: [repr(item.get(k)) for k in key_names])}

            self.record(f"{when} Scan of {name}", _outcome(scan))


Scenario = Callable[[Recorder], None]


def _patched() -> bool:
    return DynamoHandler.update_item.__module__ != "moto.dynamodb.responses"


def run(scenario: Scenario, *, speedups: bool) -> dict[str, Any]:
    """The scenario's recorded outcomes in a fresh moto, with or without the speed-ups."""
    with mock_aws():
        undo = moto_speedups.install() if speedups else []
        try:
            assert _patched() is speedups, "moto is not in the expected state (patches left installed?)"
            recorder = Recorder()
            scenario(recorder)
            recorder.record_tables()
        finally:
            moto_speedups.uninstall(undo)
    assert not _patched()
    return recorder.outcomes


def _short(outcome: Any, limit: int = 700) -> str:
    text = repr(outcome)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def assert_same(scenario: Scenario) -> dict[str, Any]:
    """Runs the scenario without and with the speed-ups; every outcome must be identical. Returns moto's."""
    plain = run(scenario, speedups=False)
    fast = run(scenario, speedups=True)
    assert list(fast) == list(plain)
    differences = [
        f"{label}\n    moto:          {_short(plain[label])}\n    moto_speedups: {_short(fast[label])}"
        for label in plain
        if plain[label] != fast[label]
    ]
    assert not differences, "requests answered differently:\n" + "\n".join(differences)
    return plain


def is_error(outcome: Any, code: str) -> bool:
    return isinstance(outcome, tuple) and outcome[:2] == ("ClientError", code)


def S(text: str) -> dict[str, Any]:
    return {"S": text}


def N(number: str) -> dict[str, Any]:
    return {"N": number}


# --- UpdateItem --------------------------------------------------------------------------------------

RUN = S("run-1")
EXISTS = "attribute_exists(item_id)"
NOT_EXISTS = "attribute_not_exists(item_id)"
X = {":x": S("x")}
XY = {":x": S("new"), ":y": N("2")}


def item_key(item_id: str) -> dict[str, Any]:
    return {"run_id": RUN, "item_id": S(item_id)}


def update(
    rec: Recorder,
    label: str,
    item_id: str,
    expression: str,
    values: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
    *,
    when: str | None = None,
    table: str = "labels",
    key: dict[str, Any] | None = None,
    **extra: Any,
) -> Any:
    """UpdateItem of ``item_id`` (or ``key``); ``when`` is the ConditionExpression."""
    params: dict[str, Any] = {"TableName": table, "Key": key or item_key(item_id), "UpdateExpression": expression}
    if values is not None:
        params["ExpressionAttributeValues"] = values
    if names is not None:
        params["ExpressionAttributeNames"] = names
    if when is not None:
        params["ConditionExpression"] = when
    return rec.call(label, "update_item", **params, **extra)


# one attribute per value, so the final Scan shows every stored value
VALUES: dict[str, Any] = {
    "s": S("text"),
    "s_empty": S(""),
    "s_unicode": S("ünïcödé ✓"),
    "n_decimal": N("1.50"),
    "n_negative_zero": N("-0"),
    "n_exponent": N("1e3"),
    "n_leading_zeros": N("007"),
    "n_negative": N("-12.5e-3"),
    "n_trailing_dot": N("1."),
    "n_too_large": N("1e999"),
    "n_not_a_number": N("abc"),
    "n_padded": N(" 1"),
    "n_infinity": N("Infinity"),
    "bool_true": {"BOOL": True},
    "bool_false": {"BOOL": False},
    "null": {"NULL": True},
    "null_false": {"NULL": False},
    "m": {"M": {"x": N("1"), "inner": {"M": {"deep": {"L": [S("a"), {"BOOL": False}]}}}, "e": S("")}},
    "m_empty": {"M": {}},
    "l": {"L": [S("a"), N("2"), {"M": {"k": {"NULL": True}}}, {"L": []}]},
    "l_empty": {"L": []},
    "ss": {"SS": ["b", "a"]},
    "ns": {"NS": ["3", "1.0"]},
    "b": {"B": b"\x00binary\xff"},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "m_with_b": {"M": {"blob": {"B": b"x"}}},
    "l_with_ss": {"L": [{"SS": ["x"]}]},
}


def update_scenario(rec: Recorder) -> None:
    rec.create_table("labels", ("run_id", "S"), ("item_id", "S"), gsi=("by_batch", ("batch_id", "S"), None))
    rec.create_table("runs", ("run_id", "S"))
    rec.create_table("events", ("run_id", "S"), ("item_id", "S"), stream=True)
    seed = {"a": S("old"), "b": N("1"), "b2": S("gone soon"), "counter": N("10"), "m": {"M": {"x": N("1")}}}
    for item_id in ("i1", "i2", "i3", "i4"):
        rec.call(f"seed {item_id}", "put_item", TableName="labels", Item={**item_key(item_id), **seed})
    rec.call("seed run", "put_item", TableName="runs", Item={"run_id": RUN, "state": S("open")})
    rec.call("seed event", "put_item", TableName="events", Item={**item_key("e1"), "a": S("old")})

    # the shape the fast path takes, and its conditions
    update(rec, "simple SET, condition passes", "i1", "SET a = :x, b = :y", XY, when=EXISTS)
    update(rec, "simple SET, condition fails", "i1", "SET a = :x, b = :y", XY, when=NOT_EXISTS)
    update(rec, "simple SET, value condition passes", "i1", "SET a = :x", {**X, ":b": N("2")}, when="b = :b")
    update(rec, "simple SET, value condition fails", "i1", "SET a = :x", {**X, ":b": N("99")}, when="b = :b")
    status = {"#s": "status"}
    update(rec, "simple SET, condition with #name", "i1", "SET #s = :x", X, status, when="attribute_not_exists(#s)")
    update(rec, "simple SET, #name condition fails", "i1", "SET #s = :x", X, status, when="attribute_not_exists(#s)")
    update(
        rec,
        "condition fails, ALL_OLD on failure",
        "i1",
        "SET a = :x",
        X,
        when=NOT_EXISTS,
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    update(rec, "simple SET, no condition", "i1", "SET a = :x", {":x": S("plain")})
    update(rec, "simple SET, ReturnValues NONE", "i1", "SET a = :x", {":x": S("none")}, ReturnValues="NONE")
    update(rec, "simple SET, ReturnConsumedCapacity NONE", "i1", "SET b = :x", X, ReturnConsumedCapacity="NONE")
    update(rec, "missing item, with condition", "nope", "SET a = :x, b = :y", XY, when=EXISTS)
    update(rec, "missing item, no condition", "new", "SET a = :x, b = :y", XY)
    names = {"#n": "name", "#st": "status"}
    update(rec, "#name placeholders", "i1", "SET #n = :x, #st = :y", XY, names, when=EXISTS)
    update(rec, "#name to a name with a dot", "i1", "SET #d = :x", X, {"#d": "a.b"})
    update(rec, "reserved word name as a plain name", "i1", "SET name = :x", X)
    update(rec, "reserved word status as a plain name", "i1", "SET status = :x", X, when=EXISTS)
    update(rec, "reserved word in lower case", "i1", "SET a = :x, size = :y", XY)
    update(rec, "reserved word in the condition", "i1", "SET a = :x", X, when="attribute_exists(status)")
    update(rec, "function names as attribute names", "i1", "SET if_not_exists = :x, list_append = :y", XY)
    update(rec, "unused ExpressionAttributeValue", "i1", "SET a = :x", {**X, ":unused": S("u")})
    update(rec, "undefined value placeholder", "i1", "SET a = :x, b = :nope", X)
    update(rec, "unused ExpressionAttributeName", "i1", "SET a = :x", X, {"#unused": "z"})
    update(rec, "undefined name placeholder", "i1", "SET #nope = :x", X)
    update(rec, "#name used only in the condition", "i1", "SET a = :x", X, {"#a": "a"}, when="attribute_exists(#a)")
    update(rec, "empty ExpressionAttributeNames", "i1", "SET a = :x", X, {})
    update(rec, "empty ExpressionAttributeValues", "i1", "SET a = :x", {})
    update(rec, "ExpressionAttributeValues key without a colon", "i1", "SET a = :x", {**X, "y": S("y")})
    update(rec, "SET of the hash key", "i1", "SET run_id = :x", X)
    update(rec, "SET of the range key", "i1", "SET item_id = :x", X, when=EXISTS)
    update(rec, "SET of the range key through #name", "i1", "SET #k = :x", X, {"#k": "item_id"})
    update(rec, "SET of the GSI key", "i1", "SET batch_id = :x", {":x": S("b1")})
    update(rec, "SET of the GSI key with a number", "i1", "SET batch_id = :x", {":x": N("1")})
    update(rec, "SET of the GSI key with an empty string", "i1", "SET batch_id = :x", {":x": S("")})
    update(rec, "SET of the GSI key through #name", "i1", "SET #b = :x", {":x": N("1")}, {"#b": "batch_id"})
    update(rec, "same attribute twice", "i1", "SET a = :x, a = :y", XY)
    update(rec, "same attribute twice, plain and #name", "i1", "SET a = :x, #a = :y", XY, {"#a": "a"})
    update(rec, "same attribute twice through two #names", "i1", "SET #p = :x, #q = :y", XY, {"#p": "a", "#q": "a"})
    update(rec, "same value for two attributes", "i1", "SET c1 = :x, c2 = :x", {":x": {"M": {"k": S("v")}}})
    for name, value in VALUES.items():
        update(rec, f"value of type {name}", "i2", f"SET v_{name} = :x", {":x": value}, when=EXISTS)

    # spelling of the expression
    update(rec, "lower-case set", "i3", "set a = :x", X)
    update(rec, "no spaces", "i3", "SET a=:x,b=:y", XY)
    update(rec, "extra spaces", "i3", "   SET    a   =   :x ,   b =:y   ", XY)
    update(rec, "newline between actions", "i3", "SET a = :x,\nb = :y", XY)
    update(rec, "trailing comma", "i3", "SET a = :x,", X)
    update(rec, "empty expression", "i3", "   ", X)
    update(rec, "two SET clauses", "i3", "SET a = :x SET b = :y", XY)
    update(rec, "underscore-first name", "i3", "SET _a = :x", X)
    update(rec, "digit-first name", "i3", "SET 1a = :x", X)
    update(
        rec,
        "underscores in placeholders",
        "i3",
        "SET #my_name = :my_value",
        {":my_value": S("u")},
        {"#my_name": "under_score"},
    )
    update(rec, "condition syntax error", "i3", "SET a = :x", X, when="attribute_exists(")
    update(rec, "empty condition", "i3", "SET a = :x", X, when="")

    # ReturnValues and ReturnConsumedCapacity
    for return_values in ("ALL_NEW", "UPDATED_OLD", "ALL_OLD", "UPDATED_NEW"):
        values = {":x": S(return_values), ":y": N("3")}
        update(rec, f"ReturnValues {return_values}", "i3", "SET a = :x, b = :y", values, ReturnValues=return_values)
    update(rec, "ReturnValues ALL_OLD on a missing item", "missing", "SET a = :x", X, ReturnValues="ALL_OLD")
    update(rec, "invalid ReturnValues", "i3", "SET a = :x", X, ReturnValues="SOME")
    update(rec, "ReturnConsumedCapacity TOTAL", "i3", "SET a = :x", X, ReturnConsumedCapacity="TOTAL")

    # other clauses and operands
    update(rec, "ADD a number", "i4", "ADD counter :x", {":x": N("1")})
    update(rec, "ADD to a string set", "i4", "ADD tags :x", {":x": {"SS": ["t2", "t3"]}})
    update(rec, "DELETE from a set", "i4", "DELETE tags :x", {":x": {"SS": ["t2"]}})
    update(rec, "ADD to a new attribute", "i4", "ADD fresh :x", {":x": N("5")})
    update(rec, "REMOVE", "i4", "REMOVE b")
    update(rec, "SET and REMOVE", "i4", "SET a = :x REMOVE b2", X)
    update(rec, "nested path", "i4", "SET m.x = :x", {":x": N("42")}, when=EXISTS)
    update(rec, "nested path to a new member", "i4", "SET m.y = :x", X)
    update(rec, "nested path under a missing map", "i4", "SET nomap.y = :x", X)
    update(rec, "a list", "i4", "SET lst = :x", {":x": {"L": [S("a")]}})
    update(rec, "list element", "i4", "SET lst[0] = :x", X)
    update(rec, "if_not_exists, missing", "i4", "SET c = if_not_exists(c, :x)", {":x": N("0")})
    update(rec, "if_not_exists, existing", "i4", "SET c = if_not_exists(c, :x)", {":x": N("1")})
    update(rec, "SET a = a + :n", "i4", "SET counter = counter + :x", {":x": N("5")}, when=EXISTS)
    update(rec, "SET a = a - :n", "i4", "SET counter = counter - :x", {":x": N("0.5")})
    update(rec, "SET from another attribute", "i4", "SET copy = a")
    update(rec, "list_append", "i4", "SET lst = list_append(lst, :x)", {":x": {"L": [S("c")]}})
    legacy = {"legacy": {"Value": S("yes"), "Action": "PUT"}}
    rec.call("legacy AttributeUpdates", "update_item", TableName="labels", Key=item_key("i4"), AttributeUpdates=legacy)
    update(rec, "legacy Expected", "i4", "SET a = :x", X, Expected={"a": {"Exists": True}})

    # keys and tables
    state = {"#s": "state"}
    run_key = {"run_id": RUN}
    update(rec, "hash-only table", "", "SET #s = :x", X, state, table="runs", key=run_key, when="attribute_exists(#s)")
    update(
        rec,
        "hash-only table, condition fails",
        "",
        "SET #s = :x",
        X,
        state,
        table="runs",
        key=run_key,
        when="attribute_not_exists(run_id)",
    )
    update(rec, "key without its range part", "", "SET a = :x", X, key=run_key)
    update(rec, "key with an extra attribute", "", "SET a = :x", X, key={**item_key("i1"), "a": S("old")})
    update(rec, "key of the wrong type", "", "SET a = :x", X, key={"run_id": N("1"), "item_id": S("i1")})
    update(rec, "missing table", "i1", "SET a = :x", X, table="no-such-table")

    # the 400 KB limit
    rec.call("large item", "put_item", TableName="labels", Item={**item_key("big"), "pad": S("p" * 300_000)})
    update(rec, "an item over 400 KB", "i1", "SET huge = :x", {":x": S("h" * 410_000)}, when=EXISTS)
    update(rec, "first SET fits, second goes over 400 KB", "big", "SET x1 = :x, x2 = :x", {":x": S("h" * 60_000)})
    update(rec, "a small SET on a large item", "big", "SET x3 = :x", X, when=EXISTS)

    # a table with a stream: the changes must reach the stream the same way
    update(rec, "stream table, simple SET", "e1", "SET a = :x, b = :y", XY, table="events", when=EXISTS)
    update(rec, "stream table, condition fails", "e1", "SET a = :x", X, table="events", when=NOT_EXISTS)
    update(rec, "stream table, new item", "e2", "SET a = :x", X, table="events")
    rec.record_stream("events")

    # the same expression again (its parse is memoised with the speed-ups)
    for n in range(3):
        update(rec, f"repeat {n}", "i1", "SET a = :x, b = :y", {":x": S(f"r{n}"), ":y": N(str(n))}, when=EXISTS)


def test_update_item_answers_the_same() -> None:
    outcomes = assert_same(update_scenario)
    # the scenario reaches the outcomes it is meant to compare
    assert outcomes["update_item simple SET, condition passes"] == {
        "ConsumedCapacity": {"TableName": "labels", "CapacityUnits": 0.5}
    }
    for label in (
        "simple SET, condition fails",
        "simple SET, value condition fails",
        "simple SET, #name condition fails",
        "missing item, with condition",
        "stream table, condition fails",
    ):
        assert is_error(outcomes[f"update_item {label}"], "ConditionalCheckFailedException"), label
    for label in (
        "reserved word status as a plain name",
        "unused ExpressionAttributeValue",
        "undefined value placeholder",
        "unused ExpressionAttributeName",
        "SET of the hash key",
        "SET of the range key",
        "SET of the GSI key with a number",
        "same attribute twice",
        "an item over 400 KB",
        "first SET fits, second goes over 400 KB",
    ):
        assert is_error(outcomes[f"update_item {label}"], "ValidationException"), label
    assert outcomes["update_item ReturnValues ALL_NEW"]["Attributes"]["a"] == S("ALL_NEW")
    modified = [image for kind, _, _, image in outcomes["stream of events"]["Records"] if kind == "MODIFY"]
    assert modified == [{**item_key("e1"), "a": S("new"), "b": N("2")}]


# --- Query ------------------------------------------------------------------------------------------

RUN_IDS = [f"run-{n}" for n in range(4)]


def query_item(run: int, n: int) -> dict[str, Any]:
    index = run * 15 + n
    return {
        "run_id": S(RUN_IDS[run]),
        "item_id": S(f"item-{n:03d}"),
        "status": S(["accepted", "rejected", "review"][index % 3]),
        "score": N(str(index * 1.5)),
        "note": S(f"note {index} " + "x" * (200 + index)),
        "m": {"M": {"x": N(str(index)), "y": S(f"y{index}")}},
        "l": {"L": [S(f"first-{index}"), N(str(index))]},
        "tags": {"SS": [f"t{index % 4}", "all"]},
    }


def create_query_tables(rec: Recorder) -> None:
    """60 items of a few hundred bytes over 4 hash keys, with a GSI; and a hash-only table."""
    rec.create_table("items", ("run_id", "S"), ("item_id", "S"), gsi=("by_status", ("status", "S"), ("score", "N")))
    rec.create_table("runs", ("run_id", "S"))
    items = [query_item(run, n) for run in range(4) for n in range(15)]
    for start in range(0, len(items), 25):
        puts = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        rec.call(f"items {start}+", "batch_write_item", RequestItems={"items": puts})
    puts = [{"PutRequest": {"Item": {"run_id": S(run_id), "n": N("1")}}} for run_id in RUN_IDS]
    rec.call("runs", "batch_write_item", RequestItems={"runs": puts})


def query_all_pages(rec: Recorder, label: str, **params: Any) -> None:
    """Every page of a paginated Query, each page recorded."""
    for page in range(30):
        outcome = rec.call(f"{label}, page {page}", "query", **params)
        start = outcome.get("LastEvaluatedKey") if isinstance(outcome, dict) else None
        if start is None:
            return
        params["ExclusiveStartKey"] = start
    raise AssertionError(f"{label}: more than 30 pages")


def query_scenario(rec: Recorder) -> None:
    create_query_tables(rec)
    items = {"TableName": "items", "KeyConditionExpression": "run_id = :r"}
    for run_id in [*RUN_IDS, "run-without-items"]:
        rec.call(f"plain {run_id}", "query", **items, ExpressionAttributeValues={":r": S(run_id)})
    run1 = {**items, "ExpressionAttributeValues": {":r": S("run-1")}}
    rec.call("consistent", "query", **run1, ConsistentRead=True)
    rec.call("backwards", "query", **run1, ScanIndexForward=False)
    rec.call("Select COUNT", "query", **run1, Select="COUNT")
    rec.call("Select ALL_ATTRIBUTES", "query", **run1, Select="ALL_ATTRIBUTES")

    # projections
    status = {"ExpressionAttributeNames": {"#s": "status"}}
    rec.call("top-level projection", "query", **run1, ProjectionExpression="#s, score, note, item_id", **status)
    rec.call("projection of a missing attribute", "query", **run1, ProjectionExpression="nothing, score")
    rec.call("projection with a repeated name", "query", **run1, ProjectionExpression="score, score")
    rec.call("nested projection", "query", **run1, ProjectionExpression="m.x")
    rec.call("list element projection", "query", **run1, ProjectionExpression="l[0], item_id")
    rec.call(
        "nested and top-level projection",
        "query",
        **run1,
        ProjectionExpression="#m.#x, tags",
        ExpressionAttributeNames={"#m": "m", "#x": "x"},
    )
    rec.call("reserved word in a projection", "query", **run1, ProjectionExpression="status")
    rec.call("unused #name in a projection", "query", **run1, ProjectionExpression="score", **status)

    # pagination
    query_all_pages(rec, "Limit 4", **run1, Limit=4)
    query_all_pages(rec, "Limit 4 backwards", **run1, Limit=4, ScanIndexForward=False)
    query_all_pages(rec, "Limit 5 with a projection", **run1, Limit=5, ProjectionExpression="item_id, score")
    review = {":r": S("run-1"), ":s": S("review")}
    query_all_pages(
        rec,
        "Limit 3 with a filter",
        **items,
        Limit=3,
        FilterExpression="#s = :s",
        **status,
        ExpressionAttributeValues=review,
    )

    # range-key conditions and filters
    between = {":r": S("run-1"), ":a": S("item-003"), ":b": S("item-011")}
    in_range = "run_id = :r AND item_id BETWEEN :a AND :b"
    rec.call("between", "query", TableName="items", KeyConditionExpression=in_range, ExpressionAttributeValues=between)
    rec.call(
        "between backwards",
        "query",
        TableName="items",
        KeyConditionExpression=in_range,
        ExpressionAttributeValues=between,
        ScanIndexForward=False,
    )
    prefix = {":r": S("run-1"), ":a": S("item-00")}
    rec.call(
        "begins_with",
        "query",
        TableName="items",
        ExpressionAttributeValues=prefix,
        KeyConditionExpression="run_id = :r AND begins_with(item_id, :a)",
    )
    rec.call(
        "greater than",
        "query",
        TableName="items",
        KeyConditionExpression="run_id = :r AND item_id > :a",
        ExpressionAttributeValues={":r": S("run-1"), ":a": S("item-010")},
    )
    rec.call(
        "filter",
        "query",
        **items,
        FilterExpression="score > :min AND contains(tags, :t)",
        ExpressionAttributeValues={":r": S("run-1"), ":min": N("30"), ":t": S("t1")},
    )
    rec.call(
        "Select COUNT with a filter",
        "query",
        **items,
        Select="COUNT",
        FilterExpression="score > :min",
        ExpressionAttributeValues={":r": S("run-1"), ":min": N("30")},
    )

    # a GSI, a hash-only table and other keys
    by_status = {"TableName": "items", "IndexName": "by_status", "ExpressionAttributeNames": {"#s": "status"}}
    review = {"ExpressionAttributeValues": {":s": S("review")}}
    rec.call("GSI", "query", **by_status, KeyConditionExpression="#s = :s", **review)
    query_all_pages(
        rec,
        "GSI Limit 6",
        **by_status,
        Limit=6,
        KeyConditionExpression="#s = :s AND score > :min",
        ExpressionAttributeValues={":s": S("accepted"), ":min": N("10")},
    )
    rec.call("GSI, consistent", "query", **by_status, ConsistentRead=True, KeyConditionExpression="#s = :s", **review)
    rec.call("missing index", "query", **run1, IndexName="nope")
    for run_id in ("run-2", "run-none"):
        rec.call(
            f"hash-only table {run_id}",
            "query",
            TableName="runs",
            KeyConditionExpression="run_id = :r",
            ExpressionAttributeValues={":r": S(run_id)},
        )
    rec.call("key value of another type", "query", **items, ExpressionAttributeValues={":r": N("1")})
    rec.call(
        "condition on a non-key attribute",
        "query",
        TableName="items",
        KeyConditionExpression="note = :r",
        ExpressionAttributeValues={":r": S("run-1")},
    )
    rec.call("missing table", "query", **{**run1, "TableName": "nope"})
    rec.call(
        "legacy KeyConditions",
        "query",
        TableName="items",
        KeyConditions={"run_id": {"AttributeValueList": [S("run-3")], "ComparisonOperator": "EQ"}},
    )


def test_query_answers_the_same() -> None:
    outcomes = assert_same(query_scenario)
    assert outcomes["query plain run-1"]["Count"] == 15
    assert outcomes["query plain run-without-items"]["Count"] == 0
    pages = [outcome for label, outcome in outcomes.items() if label.startswith("query Limit 4, page")]
    assert len(pages) == 4 and sum(page["Count"] for page in pages) == 15
    assert outcomes["query GSI"]["Count"] == 20
    assert outcomes["query Select COUNT"]["Count"] == 15 and "Items" not in outcomes["query Select COUNT"]
    assert list(outcomes["query nested projection"]["Items"][0]) == ["m"]


# --- reading items with every attribute type ------------------------------------------------------

EVERY_TYPE: dict[str, Any] = {
    "s": S("text"),
    "s_empty": S(""),
    "num": N("1.50"),
    "num_zero": N("-0"),
    "b": {"B": b"\x00\x01binary\xff"},
    "bool": {"BOOL": False},
    "null": {"NULL": True},
    "m": {"M": {"x": N("7"), "s": S("in a map"), "nested": {"M": {"deep": {"L": [{"BOOL": True}]}}}}},
    "m_empty": {"M": {}},
    "l": {"L": [S("a"), N("1"), {"NULL": True}, {"L": [{"M": {}}]}]},
    "l_empty": {"L": []},
    "ss": {"SS": ["zeta", "alpha", "mid"]},
    "ns": {"NS": ["10", "2.5", "-1"]},
    "bs": {"BS": [b"\x02", b"\x01"]},
    "m_with_b": {"M": {"blob": {"B": b"in a map"}, "s": S("x")}},
    "l_with_bs": {"L": [{"BS": [b"x"]}, S("y")]},
    "m_with_sets": {"M": {"ss": {"SS": ["b", "a"]}, "ns": {"NS": ["1"]}}},
}


def read_scenario(rec: Recorder) -> None:
    rec.create_table("things", ("id", "S"), ("n", "N"))
    rec.create_table("blobs", ("id", "B"))
    for n in range(3):
        rec.call(f"thing {n}", "put_item", TableName="things", Item={"id": S("t"), "n": N(str(n)), **EVERY_TYPE})
    rec.call("plain thing", "put_item", TableName="things", Item={"id": S("u"), "n": N("1"), "s": S("x")})
    rec.call("blob", "put_item", TableName="blobs", Item={"id": {"B": b"\xffkey"}, **EVERY_TYPE})

    key = {"id": S("t"), "n": N("1")}
    things = {"TableName": "things"}
    rec.call("every type", "get_item", **things, Key=key)
    rec.call("every type, consistent", "get_item", **things, Key=key, ConsistentRead=True)
    rec.call(
        "top-level projection",
        "get_item",
        **things,
        Key=key,
        ProjectionExpression="s, b, m, l, ss, bs, #n",
        ExpressionAttributeNames={"#n": "null"},
    )
    rec.call("nested projection", "get_item", **things, Key=key, ProjectionExpression="m.nested, l[3]")
    rec.call("missing item", "get_item", **things, Key={"id": S("none"), "n": N("1")})
    rec.call("number key spelled differently", "get_item", **things, Key={"id": S("t"), "n": N("1.0")})
    rec.call("binary key", "get_item", TableName="blobs", Key={"id": {"B": b"\xffkey"}})
    rec.call("every item", "scan", **things)
    rec.call(
        "with a filter and a projection",
        "scan",
        **things,
        FilterExpression="n > :z",
        ExpressionAttributeValues={":z": N("0")},
        ProjectionExpression="n, ns, bs",
    )
    rec.call("binary keys", "scan", TableName="blobs")
    rec.call(
        "every type", "query", **things, KeyConditionExpression="id = :t", ExpressionAttributeValues={":t": S("t")}
    )
    rec.call(
        "every type",
        "batch_get_item",
        RequestItems={
            "things": {"Keys": [key, {"id": S("t"), "n": N("2")}, {"id": S("none"), "n": N("0")}]},
            "blobs": {"Keys": [{"id": {"B": b"\xffkey"}}], "ProjectionExpression": "m, l, bs"},
        },
    )
    rec.call("ALL_OLD of every type", "put_item", **things, Item={"id": S("t"), "n": N("2")}, ReturnValues="ALL_OLD")
    rec.call("ALL_OLD of every type", "delete_item", **things, Key=key, ReturnValues="ALL_OLD")


def test_items_of_every_type_read_the_same() -> None:
    outcomes = assert_same(read_scenario)
    assert outcomes["get_item every type"]["Item"] == {"id": S("t"), "n": N("1"), **EVERY_TYPE}
    assert len(outcomes["batch_get_item every type"]["Responses"]["things"]) == 2


# --- PutItem and BatchWriteItem ------------------------------------------------------------------


def write_scenario(rec: Recorder) -> None:
    rec.create_table("labels", ("run_id", "S"), ("item_id", "S"))
    labels = {"TableName": "labels"}
    rec.call("new", "put_item", **labels, Item={**item_key("p1"), "a": S("x")})
    rec.call("overwrite, ALL_OLD", "put_item", **labels, Item={**item_key("p1"), "a": S("y")}, ReturnValues="ALL_OLD")
    rec.call("condition fails", "put_item", **labels, Item=item_key("p1"), ConditionExpression=NOT_EXISTS)
    rec.call("condition passes", "put_item", **labels, Item=item_key("p2"), ConditionExpression=NOT_EXISTS)
    rec.call("invalid number", "put_item", **labels, Item={**item_key("p3"), "n": N("one")})
    rec.call("missing range key", "put_item", **labels, Item={"run_id": RUN})
    rec.call("empty string key", "put_item", **labels, Item={**item_key(""), "a": S("x")})
    rec.call("ReturnConsumedCapacity TOTAL", "put_item", **labels, Item=item_key("p4"), ReturnConsumedCapacity="TOTAL")
    writes = [{"PutRequest": {"Item": {**item_key(f"b{n}"), "n": N(str(n)), "l": {"L": [S("x")]}}}} for n in range(5)]
    writes.append({"DeleteRequest": {"Key": item_key("p2")}})
    rec.call("puts and a delete", "batch_write_item", RequestItems={"labels": writes})
    twice = [{"PutRequest": {"Item": item_key("d")}}] * 2
    rec.call("duplicate keys", "batch_write_item", RequestItems={"labels": twice})
    rec.call("missing table", "batch_write_item", RequestItems={"nope": [{"PutRequest": {"Item": item_key("d")}}]})
    rec.call("after the batch", "get_item", **labels, Key=item_key("b3"))


def test_put_and_batch_write_answer_the_same() -> None:
    outcomes = assert_same(write_scenario)
    assert is_error(outcomes["put_item condition fails"], "ConditionalCheckFailedException")
    assert outcomes["get_item after the batch"]["Item"]["n"] == N("3")


# --- TransactWriteItems -----------------------------------------------------------------------------


def _backend() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT][REGION]


ACCOUNT = "123456789012"  # moto's default account


def internal_state() -> Any:
    """Every table's items as moto holds them: partitions (empty ones too) and items in dict order, each
    item's attributes in order, and each stream's records: what a rollback must put back exactly."""
    state = {}
    items: Any
    for name, table in sorted(_backend().tables.items()):
        if table.range_key_attr:
            items = [
                (repr(h), [(repr(r), repr(list(item.attrs.items()))) for r, item in part.items()])
                for h, part in table.items.items()
            ]
        else:
            items = [(repr(h), repr(list(item.attrs.items()))) for h, item in table.items.items()]
        shard = table.stream_shard
        stream = None if shard is None else [repr(record.to_json()["dynamodb"].get("Keys")) for record in shard.items]
        state[name] = {"items": items, "stream": stream}
    return state


def put(table: str, item: dict[str, Any], when: str | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": table, "Item": item, **extra}
    if when:
        op["ConditionExpression"] = when
    return {"Put": op}


def tx_update(table: str, key: dict[str, Any], expression: str, when: str | None = None, **extra: Any) -> Any:
    op: dict[str, Any] = {"TableName": table, "Key": key, "UpdateExpression": expression, **extra}
    if when:
        op["ConditionExpression"] = when
    return {"Update": op}


def delete(table: str, key: dict[str, Any], when: str | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": table, "Key": key, **extra}
    if when:
        op["ConditionExpression"] = when
    return {"Delete": op}


def check(table: str, key: dict[str, Any], when: str, **extra: Any) -> dict[str, Any]:
    return {"ConditionCheck": {"TableName": table, "Key": key, "ConditionExpression": when, **extra}}


def slot(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": S(pk), "sk": S(sk)}


def create_review_tables(rec: Recorder) -> None:
    """The review table's shape (pk/sk, a sparse GSI ``queue`` on q_pk/q_sk), a hash-only table, a
    table with a number hash key and a stream."""
    rec.create_table("review", ("pk", "S"), ("sk", "S"), gsi=("queue", ("q_pk", "S"), ("q_sk", "S")))
    rec.create_table("jobs", ("pk", "S"))
    rec.create_table("counts", ("n", "N"), stream=True)
    for seq in range(6):
        for k in range(2):
            item = {**slot(f"SCR#{seq}", f"SLOT#{k}"), "state": S("OPEN"), "k": N(str(k))}
            if seq != 5:  # screen 5's slots are out of the queue (sparse)
                item |= {"q_pk": S(f"Q#{seq % 2}"), "q_sk": S(f"{k}#{seq:04d}")}
            rec.ddb.put_item(TableName="review", Item=item)
    for job in ("a", "b", "c"):
        rec.ddb.put_item(TableName="jobs", Item={"pk": S(job), "done": N("0"), "claims": N("0")})
    for n in ("1", "2", "3"):
        rec.ddb.put_item(TableName="counts", Item={"n": N(n), "v": S("seed")})


OPEN = {":open": S("OPEN")}


def transaction_scenario(rec: Recorder) -> None:
    create_review_tables(rec)
    tx = "transact_write_items"

    def transact(label: str, *items: dict[str, Any]) -> Any:
        before = internal_state()
        outcome = rec.call(label, tx, TransactItems=list(items))
        rec.record(f"state after {label}", internal_state())
        if isinstance(outcome, tuple):  # cancelled or refused: nothing may have changed, to the byte
            rec.record(f"unchanged after {label}", internal_state() == before)
        return outcome

    claim = "SET #st = :leased, lease_id = :l REMOVE q_pk, q_sk"
    names = {"#st": "state"}
    transact(
        "claim: update, put, update a counter, check",
        tx_update(
            "review",
            slot("SCR#0", "SLOT#0"),
            claim,
            "#st = :open",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**OPEN, ":leased": S("LEASED"), ":l": S("L1")},
        ),
        put("review", {**slot("REV#r1", "LEASE#a"), "seq": N("0")}, "attribute_not_exists(pk)"),
        tx_update("jobs", {"pk": S("a")}, "ADD claims :one", ExpressionAttributeValues={":one": N("1")}),
        check("jobs", {"pk": S("b")}, "attribute_exists(pk)"),
    )
    transact(
        "the same claim again: cancelled by its first item",
        tx_update(
            "review",
            slot("SCR#0", "SLOT#0"),
            claim,
            "#st = :open",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**OPEN, ":leased": S("LEASED"), ":l": S("L2")},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        put("review", {**slot("REV#r2", "LEASE#a"), "seq": N("0")}, "attribute_not_exists(pk)"),
        tx_update("jobs", {"pk": S("a")}, "ADD claims :one", ExpressionAttributeValues={":one": N("1")}),
    )
    every_kind_then_a_failing_check = [
        tx_update(
            "review",
            slot("SCR#1", "SLOT#0"),
            claim,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":leased": S("LEASED"), ":l": S("L3")},
        ),
        put("review", {**slot("SCR#9", "SLOT#0"), "state": S("NEW")}),  # a partition that did not exist
        tx_update("review", slot("SCR#8", "SLOT#1"), "SET a = :x", ExpressionAttributeValues=X),  # a new item
        delete("review", slot("SCR#2", "SLOT#1")),
        delete("jobs", {"pk": S("c")}),  # hash-only: the item must come back where it was
        put("jobs", {"pk": S("b"), "done": N("7")}),  # replaced
        put("counts", {"n": N("4"), "v": S("new")}),  # a stream record
        delete("counts", {"n": N("1")}),
        tx_update("counts", {"n": N("2")}, "SET v = :x", ExpressionAttributeValues=X),
        check("review", slot("NOPE", "SLOT#0"), "attribute_not_exists(pk)"),  # its look-up creates a partition
        check("jobs", {"pk": S("a")}, "claims = :zero", ExpressionAttributeValues={":zero": N("0")}),
    ]
    transact("every kind of change, then a failing check", *every_kind_then_a_failing_check)
    transact(
        "two failing items, ALL_OLD of a missing and an existing item",
        check(
            "review", slot("SCR#3", "SLOT#0"), "attribute_not_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD"
        ),
        put(
            "review", slot("SCR#3", "SLOT#1"), "attribute_not_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD"
        ),
        delete(
            "review", slot("SCR#3", "SLOT#9"), "attribute_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD"
        ),
        tx_update("jobs", {"pk": S("c")}, "SET done = :x", ExpressionAttributeValues=X),
    )
    transact(
        "the same item twice (ValidationException after a change)",
        tx_update("jobs", {"pk": S("c")}, "SET done = :x", ExpressionAttributeValues=X),
        delete("review", slot("SCR#4", "SLOT#0")),
        check("review", slot("SCR#4", "SLOT#0"), "attribute_exists(pk)"),
    )
    transact(
        "the same number key spelled twice",
        tx_update("counts", {"n": N("3")}, "SET v = :x", ExpressionAttributeValues=X),
        delete("counts", {"n": N("3.0")}),
        check("jobs", {"pk": S("a")}, "attribute_not_exists(pk)"),
    )
    transact(
        "an invalid update expression after a change",
        delete("review", slot("SCR#4", "SLOT#1")),
        tx_update("review", slot("SCR#3", "SLOT#0"), "SET a = :x", ExpressionAttributeValues={":y": S("y")}),
    )
    transact(
        "a key attribute of the wrong type after a change",
        put("review", slot("SCR#4", "SLOT#7")),
        put("jobs", {"pk": N("1")}),
    )
    transact(
        "a missing range key after a change",
        put("review", slot("SCR#4", "SLOT#7")),
        delete("review", {"pk": S("SCR#4")}),
    )
    transact(
        "a missing table after a change",
        put("review", slot("SCR#4", "SLOT#7")),
        put("nope", {"pk": S("x")}),
    )
    arn = rec.ddb.describe_table(TableName="jobs")["Table"]["TableArn"]
    transact(
        "a table named by its ARN (moto puts back only tables named by name)",
        put(arn, {"pk": S("by-arn")}),
        put("review", slot("SCR#4", "SLOT#8")),
        check("review", slot("SCR#0", "SLOT#0"), "attribute_not_exists(pk)"),
    )
    transact(
        "an ARN and the name of one table",
        put(arn, {"pk": S("by-arn-2")}),
        put("jobs", {"pk": S("by-name")}),
        check("jobs", {"pk": S("a")}, "attribute_not_exists(pk)"),
    )
    transact(
        "an item over 400 KB after a change",
        put("counts", {"n": N("5")}),
        tx_update("jobs", {"pk": S("a")}, "SET pad = :x", ExpressionAttributeValues={":x": S("p" * 410_000)}),
    )
    transact("101 items", *[check("jobs", {"pk": S(f"j{n}")}, "attribute_not_exists(pk)") for n in range(101)])
    transact("every kind of change, committed", *every_kind_then_a_failing_check[:-1])
    rec.record_stream("counts")
    queue = {"TableName": "review", "IndexName": "queue", "KeyConditionExpression": "q_pk = :q"}
    for shard in ("Q#0", "Q#1"):
        rec.call(f"queue {shard} after the claims", "query", **queue, ExpressionAttributeValues={":q": S(shard)})


def test_transactions_answer_and_roll_back_the_same() -> None:
    outcomes = assert_same(transaction_scenario)
    tx = "transact_write_items"
    assert outcomes[f"{tx} claim: update, put, update a counter, check"] == {
        "ConsumedCapacity": [],
        "ItemCollectionMetrics": {},
    }
    for label in (
        "the same claim again: cancelled by its first item",
        "every kind of change, then a failing check",
        "two failing items, ALL_OLD of a missing and an existing item",
        "the same number key spelled twice",
        "a table named by its ARN (moto puts back only tables named by name)",
        "an ARN and the name of one table",
    ):
        assert is_error(outcomes[f"{tx} {label}"], "TransactionCanceledException"), label
    for label in (
        "the same item twice (ValidationException after a change)",
        "an invalid update expression after a change",
        "a key attribute of the wrong type after a change",
        "a missing range key after a change",
        "an item over 400 KB after a change",
        "101 items",
    ):
        assert is_error(outcomes[f"{tx} {label}"], "ValidationException"), label
    assert is_error(outcomes[f"{tx} a missing table after a change"], "ResourceNotFoundException")
    assert (
        outcomes[f"{tx} every kind of change, committed"]
        == outcomes[f"{tx} claim: update, put, update a counter, check"]
    )
    reasons = outcomes[f"{tx} the same claim again: cancelled by its first item"][3]
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None", "None"]
    assert reasons[0]["Item"]["state"] == S("LEASED")
    unchanged = {label: value for label, value in outcomes.items() if label.startswith("unchanged after")}
    assert len(unchanged) >= 10
    # every refusal leaves the tables as they were, but for moto's ARN quirk (nothing put back by ARN)
    assert [label for label, value in unchanged.items() if not value] == [
        "unchanged after a table named by its ARN (moto puts back only tables named by name)"
    ]
    assert outcomes["query queue Q#0 after the claims"]["Count"] < 5  # claimed slots left the sparse index


def test_cancelled_transactions_copy_only_the_items_they_touch(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    copied: list[str] = []
    original = copy.deepcopy

    def deepcopy(value: Any, memo: Any = None) -> Any:
        copied.append(type(value).__name__)
        return original(value, memo)

    def scenario(rec: Recorder) -> None:
        create_review_tables(rec)
        copied.clear()
        rec.call(
            "cancelled",
            "transact_write_items",
            TransactItems=[
                put("review", slot("SCR#0", "SLOT#0")),
                check("jobs", {"pk": S("a")}, "attribute_not_exists(pk)"),
            ],
        )
        rec.record("tables copied", copied.count("Table"))
        rec.record("items copied", copied.count("Item"))

    monkeypatch.setattr(copy, "deepcopy", deepcopy)
    plain = run(scenario, speedups=False)
    fast = run(scenario, speedups=True)
    assert plain["tables copied"] == 2 and fast["tables copied"] == 0
    assert fast["items copied"] == 1  # the slot the Put replaced; the ConditionCheck changes nothing


# --- Query and Scan on an index ------------------------------------------------------------------------


def index_item(n: int) -> dict[str, Any]:
    """Items over 4 index partitions, some without the index's hash key or range key (sparse)."""
    item = {"pk": S(f"SCR#{n // 3:03d}"), "sk": S(f"SLOT#{n % 3}"), "pad": S("x" * (n % 7) * 40)}
    if n % 11 != 0:
        item["q_pk"] = S(f"Q#{n % 4}")
    if n % 13 != 0:
        item["q_sk"] = S(f"{n % 3}#{(n * 37) % 100:04d}")
    if n % 5 != 0:
        item["g"] = S(f"G{n % 3}")
        item["score"] = N(["10", "9", "1e1", "-0.5", "2.50", "100", "3"][n % 7])  # equal numbers spelled apart
    return item


def create_index_tables(rec: Recorder) -> None:
    schema: Any = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    }
    definitions: Any = [(name, "S") for name in ("pk", "sk", "q_pk", "q_sk", "g")] + [("score", "N")]
    rec.ddb.create_table(
        TableName="review",
        **schema,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in definitions],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "queue",
                "KeySchema": [
                    {"AttributeName": "q_pk", "KeyType": "HASH"},
                    {"AttributeName": "q_sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_score",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "score", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["q_sk"]},
            },
            {
                "IndexName": "by_queue",
                "KeySchema": [{"AttributeName": "q_pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "local",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "q_sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    rec.create_table("jobs", ("pk", "S"), gsi=("by_state", ("state", "S"), None))
    items = [index_item(n) for n in range(150)]
    for start in range(0, len(items), 25):
        puts: Any = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        rec.ddb.batch_write_item(RequestItems={"review": puts})
    for n in range(30):
        job = (
            {"pk": S(f"job-{n:02d}"), "state": S(["open", "done", "open"][n % 3])}
            if n % 4
            else {"pk": S(f"job-{n:02d}")}
        )
        rec.ddb.put_item(TableName="jobs", Item=job)


def index_scenario(rec: Recorder) -> None:
    create_index_tables(rec)
    queue = {"TableName": "review", "IndexName": "queue"}
    q1 = {**queue, "KeyConditionExpression": "q_pk = :q", "ExpressionAttributeValues": {":q": S("Q#1")}}
    rec.call("hash key", "query", **q1)
    rec.call("hash key, backwards", "query", **q1, ScanIndexForward=False)
    rec.call("hash key, COUNT", "query", **q1, Select="COUNT")
    rec.call("no such hash key", "query", **{**q1, "ExpressionAttributeValues": {":q": S("Q#9")}})
    rec.call("hash key of another type", "query", **{**q1, "ExpressionAttributeValues": {":q": N("1")}})
    rec.call(
        "hash key through #name",
        "query",
        **queue,
        KeyConditionExpression="#q = :q",
        ExpressionAttributeNames={"#q": "q_pk"},
        ExpressionAttributeValues={":q": S("Q#2")},
    )
    between = {":q": S("Q#2"), ":low": S("1#"), ":high": S("1#0060")}
    in_range = "q_pk = :q AND q_sk BETWEEN :low AND :high"
    rec.call("BETWEEN", "query", **queue, KeyConditionExpression=in_range, ExpressionAttributeValues=between)
    rec.call(
        "BETWEEN, backwards",
        "query",
        **queue,
        KeyConditionExpression=in_range,
        ExpressionAttributeValues=between,
        ScanIndexForward=False,
    )
    prefix = {":q": S("Q#3"), ":p": S("2#")}
    rec.call(
        "begins_with",
        "query",
        **queue,
        KeyConditionExpression="q_pk = :q AND begins_with(q_sk, :p)",
        ExpressionAttributeValues=prefix,
    )
    for op in ("<", "<=", ">", ">=", "="):
        values = {":q": S("Q#0"), ":v": S("1#0048")}
        rec.call(
            f"range {op}",
            "query",
            **queue,
            KeyConditionExpression=f"q_pk = :q AND q_sk {op} :v",
            ExpressionAttributeValues=values,
        )
    for limit in (4, 7):
        for forward in (True, False):
            query_all_pages(rec, f"Limit {limit} forward={forward}", **q1, Limit=limit, ScanIndexForward=forward)
            query_all_pages(
                rec,
                f"BETWEEN Limit {limit} forward={forward}",
                **queue,
                KeyConditionExpression=in_range,
                ExpressionAttributeValues=between,
                Limit=limit,
                ScanIndexForward=forward,
            )
    query_all_pages(
        rec,
        "Limit 5 with a filter",
        **{**q1, "ExpressionAttributeValues": {":q": S("Q#1"), ":s": S("SLOT#1")}},
        Limit=5,
        FilterExpression="sk = :s",
    )
    rec.call("projection", "query", **q1, ProjectionExpression="pk, q_sk, sk")
    by_score = {"TableName": "review", "IndexName": "by_score"}
    g1 = {**by_score, "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": S("G1")}}
    rec.call("number range key, INCLUDE projection", "query", **g1)
    rec.call("number range key, backwards", "query", **g1, ScanIndexForward=False)
    query_all_pages(rec, "number range key, Limit 3", **g1, Limit=3)
    rec.call(
        "number range key > 5",
        "query",
        **by_score,
        KeyConditionExpression="g = :g AND score > :s",
        ExpressionAttributeValues={":g": S("G2"), ":s": N("5")},
    )
    by_queue = {"TableName": "review", "IndexName": "by_queue"}
    query_all_pages(
        rec,
        "index without a range key, KEYS_ONLY, Limit 6",
        **by_queue,
        KeyConditionExpression="q_pk = :q",
        ExpressionAttributeValues={":q": S("Q#2")},
        Limit=6,
    )
    local = {"TableName": "review", "IndexName": "local"}
    rec.call(
        "local index",
        "query",
        **local,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("SCR#013")},
    )
    rec.call(
        "local index, range",
        "query",
        **local,
        ExpressionAttributeValues={":p": S("SCR#013"), ":v": S("1#")},
        KeyConditionExpression="pk = :p AND q_sk > :v",
    )
    jobs = {
        "TableName": "jobs",
        "IndexName": "by_state",
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "state"},
    }
    query_all_pages(
        rec, "hash-only table's index, Limit 4", **jobs, ExpressionAttributeValues={":s": S("open")}, Limit=4
    )
    rec.call(
        "hash-only table's index, backwards",
        "query",
        **jobs,
        ExpressionAttributeValues={":s": S("done")},
        ScanIndexForward=False,
    )
    rec.call("missing index", "query", **{**q1, "IndexName": "nope"})
    rec.call("consistent read on a GSI", "query", **q1, ConsistentRead=True)
    rec.call(
        "legacy KeyConditions",
        "query",
        **queue,
        KeyConditions={"q_pk": {"AttributeValueList": [S("Q#1")], "ComparisonOperator": "EQ"}},
    )
    for name in ("queue", "by_score", "by_queue"):
        pages: list[Any] = []
        params: dict[str, Any] = {"TableName": "review", "IndexName": name, "Limit": 17}
        for _ in range(30):
            page = rec.call(f"Scan of {name}, page {len(pages)}", "scan", **params)
            pages.append(page)
            if not isinstance(page, dict) or "LastEvaluatedKey" not in page:
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    # the index follows changes: an item leaves it, one joins, one moves
    rec.ddb.update_item(TableName="review", Key={"pk": S("SCR#000"), "sk": S("SLOT#1")}, UpdateExpression="REMOVE q_pk")
    rec.ddb.put_item(TableName="review", Item={**slot("SCR#999", "SLOT#0"), "q_pk": S("Q#1"), "q_sk": S("0#0000")})
    rec.ddb.update_item(
        TableName="review",
        Key={"pk": S("SCR#002"), "sk": S("SLOT#1")},
        UpdateExpression="SET q_pk = :q",
        ExpressionAttributeValues={":q": S("Q#1")},
    )
    rec.call("hash key after changes", "query", **q1)


def test_index_queries_answer_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    sort_keys = _spy(monkeypatch, moto_speedups, "_sort_keys")
    outcomes = assert_same(index_scenario)
    fast_sorts = [result is not None for _, result in sort_keys]
    assert fast_sorts.count(True) > 50 and fast_sorts.count(False) == 0  # strings and numbers: all fast
    assert outcomes["query range ="]["Count"] == 1
    assert outcomes["query hash key"]["Count"] > 20
    assert outcomes["query no such hash key"]["Count"] == 0
    pages = [v for label, v in outcomes.items() if label.startswith("query Limit 4 forward=True, page")]
    assert len(pages) > 3 and sum(page["Count"] for page in pages) == outcomes["query hash key"]["Count"]
    backwards = [i["pk"]["S"] for i in outcomes["query hash key, backwards"]["Items"]]
    assert backwards == [i["pk"]["S"] for i in reversed(outcomes["query hash key"]["Items"])]
    assert outcomes["query BETWEEN"]["Count"] > 0
    assert outcomes["query hash key after changes"] != outcomes["query hash key"]
    scores = [i["score"]["N"] for i in outcomes["query number range key, INCLUDE projection"]["Items"]]
    assert "1E+1" in scores and "10" in scores  # equal numbers: the table's key orders them


# --- the fast paths are taken ------------------------------------------------------------------


def _spy(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Replaces owner.name by a wrapper that records (args, result) of every call."""
    calls: list[Any] = []
    original = getattr(owner, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        calls.append((args, result))
        return result

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_simple_updates_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy(monkeypatch, moto_speedups, "_simple_update")

    def scenario(rec: Recorder) -> None:
        rec.create_table("labels", ("run_id", "S"), ("item_id", "S"))
        rec.call("seed", "put_item", TableName="labels", Item={**item_key("i1"), "a": S("old")})
        update(rec, "simple", "i1", "SET a = :x, #b = :y", XY, {"#b": "b"}, when=EXISTS)
        update(rec, "ALL_NEW", "i1", "SET a = :x", X, ReturnValues="ALL_NEW")
        update(rec, "missing item", "i9", "SET a = :x", X)
        update(rec, "reserved word", "i1", "SET status = :x", X)

    run(scenario, speedups=False)
    assert calls == []  # moto as is: nothing calls it
    run(scenario, speedups=True)
    assert [result is not None for _, result in calls] == [True, False, False, False]


def test_key_and_index_queries_read_only_matching_items(monkeypatch: pytest.MonkeyPatch) -> None:
    # spied before install(), so what the speed-ups call "the original" is the spy
    all_items = _spy(monkeypatch, table_module.Table, "all_items")

    def scenario(rec: Recorder) -> None:
        create_query_tables(rec)
        all_items.clear()
        rec.call(
            "plain",
            "query",
            TableName="items",
            KeyConditionExpression="run_id = :r",
            ExpressionAttributeValues={":r": S("run-1")},
        )
        rec.record("whole-table reads for a key query", len(all_items))
        rec.call(
            "GSI",
            "query",
            TableName="items",
            IndexName="by_status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": S("review")},
        )
        rec.record("whole-table reads after a GSI query", len(all_items))

    plain = run(scenario, speedups=False)
    fast = run(scenario, speedups=True)
    assert plain["query plain"] == fast["query plain"] and fast["query plain"]["Count"] == 15
    assert plain["whole-table reads for a key query"] == 1  # moto sorts the whole table for every Query
    assert fast["whole-table reads for a key query"] == 0
    assert plain["whole-table reads after a GSI query"] == 2
    assert fast["whole-table reads after a GSI query"] == 0  # an index query reads the matching items only


def test_top_level_projections_and_wire_format_values_take_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    project = _spy(monkeypatch, dynamo_type.Item, "project")  # moto's own projection of an item
    wire = _spy(monkeypatch, moto_speedups, "_wire")

    def scenario(rec: Recorder) -> None:
        create_query_tables(rec)
        project.clear()
        run1: dict[str, Any] = {"TableName": "items", "KeyConditionExpression": "run_id = :r"}
        run1["ExpressionAttributeValues"] = {":r": S("run-1")}
        rec.call("top-level", "query", **run1, ProjectionExpression="item_id, score")
        rec.record("moto projections, top-level", len(project))
        rec.call("nested", "query", **run1, ProjectionExpression="m.x")
        rec.record("moto projections, nested", len(project))
        rec.ddb.put_item(TableName="runs", Item={"run_id": S("b"), "b": {"B": b"x"}, "m": {"M": {"b": {"B": b"y"}}}})
        rec.call("binary", "get_item", TableName="runs", Key={"run_id": S("b")})

    plain = run(scenario, speedups=False)
    assert wire == []
    assert plain["moto projections, top-level"] == 15
    fast = run(scenario, speedups=True)
    assert fast["moto projections, top-level"] == 0
    assert fast["moto projections, nested"] == 15
    copied = [args[0] for args, result in wire if result is not None]
    assert S("item-000") in copied and {"M": {"x": N("15"), "y": S("y15")}} in copied
    not_copied = [args[0] for args, result in wire if result is None]
    assert {"B": b"x"} in not_copied and {"M": {"b": {"B": b"y"}}} in not_copied  # these take moto's path


# --- differences found ---------------------------------------------------------------------------
# The same comparison as above, for requests the speed-ups answer differently from moto; kept apart from the
# scenarios above so that each difference shows on its own.


def test_update_expression_with_a_tab_or_carriage_return() -> None:
    """moto's tokenizer takes only spaces and newlines as whitespace: a tab or CR stays a syntax error."""

    def scenario(rec: Recorder) -> None:
        rec.create_table("labels", ("run_id", "S"), ("item_id", "S"))
        rec.call("seed", "put_item", TableName="labels", Item={**item_key("i1"), "a": S("old")})
        update(rec, "tab", "i1", "SET\ta = :x", {":x": S("tab")})
        update(rec, "carriage return", "i1", "SET a = :x,\r\nb = :y", XY, when=EXISTS)

    assert_same(scenario)


def test_update_of_an_attribute_still_in_attribute_definitions() -> None:
    """moto checks a SET value's type against every AttributeDefinition, also ones no index uses any more."""

    def scenario(rec: Recorder) -> None:
        rec.create_table("labels", ("run_id", "S"), ("item_id", "S"), gsi=("by_batch", ("batch_id", "S"), None))
        rec.call("seed", "put_item", TableName="labels", Item={**item_key("i1"), "a": S("old")})
        rec.call(
            "delete the GSI",
            "update_table",
            TableName="labels",
            GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_batch"}}],
        )
        update(rec, "former GSI key set to a number", "i1", "SET batch_id = :x", {":x": N("1")})
        definitions = [{"AttributeName": a, "AttributeType": "S"} for a in ("run_id", "item_id", "extra")]
        rec.call("an attribute no key uses", "update_table", TableName="labels", AttributeDefinitions=definitions)
        update(rec, "that attribute set to a number", "i1", "SET extra = :x", {":x": N("1")})

    assert_same(scenario)


def test_query_with_a_key_value_moto_cannot_hash() -> None:
    """moto compares each item's key with ==; a key the partition lookup cannot hash takes moto's path."""

    def scenario(rec: Recorder) -> None:
        rec.create_table("labels", ("run_id", "S"), ("item_id", "S"))
        rec.call("seed", "put_item", TableName="labels", Item={**item_key("i1"), "a": S("old")})
        for kind, value in {"L": {"L": []}, "SS": {"SS": ["a"]}, "M": {"M": {}}, "N abc": N("abc")}.items():
            rec.call(
                f"key of type {kind}",
                "query",
                TableName="labels",
                KeyConditionExpression="run_id = :r",
                ExpressionAttributeValues={":r": value},
            )

    assert_same(scenario)


def test_map_with_an_empty_member_name() -> None:
    """moto's serializer writes a member named "" into its parent map (and the client fails to read the
    response); the wire-format copy leaves such maps to moto, failure included."""

    def scenario(rec: Recorder) -> None:
        rec.create_table("things", ("id", "S"))
        item = {"id": S("k"), "m": {"M": {"": S("x"), "k": S("y")}}}
        rec.call("map with an empty member name", "put_item", TableName="things", Item=item)
        rec.call("map with an empty member name", "get_item", TableName="things", Key={"id": S("k")})

    assert_same(scenario)


# --- skip_signing --------------------------------------------------------------------------------


@pytest.fixture
def moto() -> Iterator[None]:
    with mock_aws():
        yield


def _unsigned_session() -> tuple[boto3.Session, list[tuple[str, bool]]]:
    """A session with skip_signing, and for each request it sends (url, whether it has an Authorization header)."""
    session = boto3.Session(region_name=REGION)
    moto_speedups.skip_signing(session)
    sent: list[tuple[str, bool]] = []

    def before_send(request: Any, **_: Any) -> None:
        sent.append((request.url, "Authorization" in request.headers))

    session.events.register_first("before-send", before_send)  # ahead of moto's handler, which answers
    return session, sent


def test_skip_signing_dynamodb_requests_go_unsigned(moto: None) -> None:
    session, sent = _unsigned_session()
    ddb = session.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="t", Item={"k": S("a"), "v": N("1")})
    assert ddb.get_item(TableName="t", Key={"k": S("a")})["Item"] == {"k": S("a"), "v": N("1")}
    assert len(sent) == 3 and not any(signed for _, signed in sent)

    # without skip_signing the same requests are signed: the check above can fail
    signed: list[bool] = []
    other = boto3.Session(region_name=REGION)
    other.events.register_first("before-send", lambda request, **_: signed.append("Authorization" in request.headers))
    other.client("dynamodb").list_tables()
    assert signed == [True]


def test_skip_signing_leaves_s3_signed_and_working(moto: None) -> None:
    """botocore's built-in S3 signer choice answers before the session's handler: S3 stays signed."""
    session, sent = _unsigned_session()
    s3 = session.client("s3")
    s3.create_bucket(Bucket="bulkqa-unsigned")
    s3.put_object(Bucket="bulkqa-unsigned", Key="a.txt", Body=b"hello")
    assert s3.get_object(Bucket="bulkqa-unsigned", Key="a.txt")["Body"].read() == b"hello"
    assert len(sent) == 3
    assert all(signed for _, signed in sent)


def test_skip_signing_still_signs_presigned_urls(moto: None) -> None:
    session, sent = _unsigned_session()
    params = {"Bucket": "bulkqa-unsigned", "Key": "a.txt"}
    s3v4 = session.client("s3", config=Config(signature_version="s3v4"))
    url = s3v4.generate_presigned_url("get_object", Params=params)
    assert "X-Amz-Signature=" in url and "X-Amz-Credential=" in url

    # botocore's default for S3 presigned URLs in us-east-1 is Signature Version 2: as signed as without skip_signing
    def query_names(url: str) -> list[str]:
        return sorted(part.split("=")[0] for part in url.split("?", 1)[1].split("&"))

    default = session.client("s3").generate_presigned_url("get_object", Params=params)
    unpatched = boto3.Session(region_name=REGION).client("s3").generate_presigned_url("get_object", Params=params)
    assert "Signature" in query_names(default)
    assert query_names(default) == query_names(unpatched)
    assert sent == []  # presigning sends nothing


# --- the moto release the speed-ups were written for ----------------------------------------------


def test_install_refuses_another_moto_release_and_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto as moto_package

    monkeypatch.setattr(moto_package, "__version__", "5.3.0")
    with pytest.raises(moto_speedups.MotoVersionError) as refused:
        moto_speedups.install()
    message = str(refused.value)
    assert "moto 5.2.5" in message and "moto 5.3.0 is installed" in message
    assert "pip install 'moto==5.2.5'" in message  # pin moto back ...
    assert "BULKQA_MOTO_SPEEDUPS=0" in message  # ... or run without the speed-ups
    assert not _patched(), "nothing is patched when the release is refused"


def test_the_local_cloud_refuses_it_too_unless_the_speedups_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto as moto_package

    from bulkqa_local.cloud import LocalCloud

    monkeypatch.setattr(moto_package, "__version__", "5.3.0")
    monkeypatch.delenv(moto_speedups.SWITCH, raising=False)
    with pytest.raises(moto_speedups.MotoVersionError):
        LocalCloud()  # refused before moto is started or anything patched
    assert LocalCloud(speedups=False).speedups is False
    monkeypatch.setenv(moto_speedups.SWITCH, "0")
    assert LocalCloud().speedups is False


@pytest.mark.parametrize(
    ("value", "on"), [(None, True), ("1", True), ("yes", True), ("0", False), ("false", False), (" OFF ", False)]
)
def test_the_switch(monkeypatch: pytest.MonkeyPatch, value: str | None, on: bool) -> None:
    if value is None:
        monkeypatch.delenv(moto_speedups.SWITCH, raising=False)
    else:
        monkeypatch.setenv(moto_speedups.SWITCH, value)
    assert moto_speedups.enabled() is on


def test_the_command_line_says_what_to_do_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import moto as moto_package

    from bulkqa_local import cli

    monkeypatch.setattr(moto_package, "__version__", "5.3.0")
    monkeypatch.delenv(moto_speedups.SWITCH, raising=False)
    assert cli.main(["invoke", "ingest_labels", "--event", "events/ingest_labels.json"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "BULKQA_MOTO_SPEEDUPS=0" in error
    assert "Traceback" not in error
