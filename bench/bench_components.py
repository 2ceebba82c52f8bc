"""CPU throughput and memory of our own code, AWS calls stubbed; cold-start import cost of the handlers.

    .venv/bin/python bench/bench_components.py [ingest|consolidation|analysis|coldstart ...] [--json FILE]

Each measurement is meant to run in a fresh interpreter (``bench/run.py`` starts one per component),
so the process's max RSS belongs to that component alone. Throughput is measured on CPU time
(``time.process_time``, every thread of the process), best of ``REPEATS``, with tracemalloc off; the
peak of Python allocations is measured in one extra pass under tracemalloc, from the moment the input
exists (so it is the component's own working memory, input excluded).

- ingest: ``csvfile.read_header`` + ``ingest.validate_chunk`` + ``ingest.label_item`` over one
  200,000-row chunk; ingest_step: the whole ``steps.ingest_chunk`` (items converted for
  BatchWriteItem, the chunk result serialised) with stub S3 and DynamoDB clients.
- consolidation: ``consolidation.consolidate`` over a synthetic payload (25-image batches, 3
  reviewers, answers inline as Ground Truth sends them; ``read_text`` stubbed); consolidation_step:
  the whole ``steps.post_labeling`` (one ``UpdateItem`` built per image, response entries) with a
  stub client.
- analysis: ``bench/bench_analysis.py``'s ``run()`` (someone else's; called, not changed).
- coldstart: fresh interpreters, median of ``COLD_RUNS``: ``import boto3`` next to each handler
  module (the review API's and the sweeper's included), and "import + build the S3 client" for both;
  and the review API's first request (``bench_review_api_first_request``): import + the public
  GET /api/config, and import + an authenticated GET /api/jobs up to its first AWS request (clients
  built, nothing sent), next to boto3 + the same clients.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from bulkqa.csvfile import Header
    from bulkqa.ingest import ChunkResult
    from bulkqa.model import ChunkSummary, ConsolidationEntry, LabelItem

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
FUNCTIONS = ROOT / "functions"
for _path in (str(FUNCTIONS), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

INGEST_ROWS = 200_000
CONSOLIDATION_IMAGES = 60_000  # 2,400 tasks of 25 images
BATCH = 25
REVIEWERS = 3
REPEATS = 3
COLD_RUNS = 5
BUCKET = "bench-bucket"
RUN_ID = "bench-0123456789"
TARGETS = {
    "ingest_rows_per_s": 100_000,
    "consolidation_verdicts_per_s": 50_000,
    "analysis_verdicts_per_s": 500_000,
    "handler_import_over_boto3_ms": 200.0,
}
FAKE_AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _quiet_logs() -> None:
    """The functions log JSON to stdout; a benchmark keeps stdout for its own lines."""
    logger = logging.getLogger("bulkqa")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    os.environ["LOG_LEVEL"] = "WARNING"


def _max_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _measure(work: Callable[[], Any], repeats: int = REPEATS) -> dict[str, Any]:
    """Best-of-N CPU and wall seconds of ``work()``, then its tracemalloc peak in one more pass.

    ``max_rss_mb`` is the process's peak before that pass (tracemalloc's own bookkeeping inflates RSS).
    """
    cpu_runs, wall_runs = [], []
    for _ in range(repeats):
        gc.collect()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = work()
        cpu_runs.append(time.process_time() - cpu0)
        wall_runs.append(time.perf_counter() - wall0)
        del result
    rss = _max_rss_mb()
    gc.collect()
    tracemalloc.start()
    result = work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return {
        "cpu_seconds": round(min(cpu_runs), 4),
        "cpu_seconds_runs": [round(c, 4) for c in cpu_runs],
        "wall_seconds": round(min(wall_runs), 4),
        "peak_traced_mb": round(peak / 2**20, 1),
        "max_rss_mb": rss,
    }


# --------------------------------------------------------------------------- stubs


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


class StubS3:
    """get_object answers from memory (honouring Range); put_object only counts."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def get_object(self, Bucket: str, Key: str, Range: str | None = None, **kwargs: Any) -> dict[str, Any]:
        self._count("GetObject")
        data = self.objects[Key]
        if Range:
            start, end = Range.removeprefix("bytes=").split("-")
            data = data[int(start) : int(end) + 1 if end else None]
        return {"Body": _Body(data)}

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self._count("PutObject")
        return {}


class StubDynamoDB:
    """Accepts every write (no unprocessed items, every condition holds); only counts."""

    class exceptions:
        class ConditionalCheckFailedException(Exception):
            pass

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()  # post_labeling writes from a thread pool

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self._count("BatchWriteItem")
        return {}

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self._count("UpdateItem")
        return {}


# --------------------------------------------------------------------------- ingest


def _ingest_input(rows: int) -> tuple[bytes, Header]:
    import gen

    from bulkqa import csvfile, steps

    data = gen.csv_bytes(rows)
    return data, csvfile.read_header(data[: steps.HEAD_BYTES])


def bench_ingest(rows: int = INGEST_ROWS, repeats: int = REPEATS) -> dict[str, Any]:
    """``read_header`` + ``validate_chunk`` + ``label_item`` over one chunk of ``rows`` rows."""
    _quiet_logs()
    import gen

    from bulkqa import csvfile, ingest, steps

    data, header = _ingest_input(rows)
    chunk = data[header.data_start :]
    rules = ingest.Rules(BUCKET, "", 0.0, "percent")

    def validate_and_build() -> tuple[ChunkResult, list[LabelItem]]:
        h = csvfile.read_header(data[: steps.HEAD_BYTES])
        result = ingest.validate_chunk(chunk, 0, 2, h, rules)
        items = [ingest.label_item(RUN_ID, row) for row in result.accepted]
        return result, items

    result, items = validate_and_build()
    expected_bad = gen.bad_row_count(rows)
    assert result.rows == rows, (result.rows, rows)
    assert len(result.rejected) == expected_bad, result.rejected
    assert len(items) == rows - expected_bad
    del result, items
    core = _measure(validate_and_build, repeats)
    return {
        "rows": rows,
        "chunk_bytes": len(chunk),
        "rejected": expected_bad,
        **core,
        "rows_per_s": round(rows / core["cpu_seconds"]),
        "target_rows_per_s": TARGETS["ingest_rows_per_s"],
        "meets_target": rows / core["cpu_seconds"] >= TARGETS["ingest_rows_per_s"],
    }


def bench_ingest_step(rows: int = INGEST_ROWS, repeats: int = REPEATS) -> dict[str, Any]:
    """The whole ``steps.ingest_chunk`` as the handler runs it, S3 and DynamoDB replaced by stubs.

    On top of ``bench_ingest``: each item converted to DynamoDB's attribute format and grouped into
    BatchWriteItem requests (``LabelsTable.put_items``), the chunk result serialised to JSON.
    """
    _quiet_logs()
    import gen

    from bulkqa import steps
    from bulkqa.adapters.dynamodb import LabelsTable
    from bulkqa.adapters.s3 import ObjectStore
    from bulkqa.settings import IngestSettings, StackSettings

    data, header = _ingest_input(rows)
    s3 = StubS3({"incoming/bench.csv": data})
    ddb = StubDynamoDB()
    settings = IngestSettings(StackSettings(BUCKET, "labels", "runs"), 0.0, "", 4 * 1024 * 1024, "auto")
    event = {
        "run_id": RUN_ID,
        "source": {"bucket": BUCKET, "key": "incoming/bench.csv", "version": ""},
        "ingest": {"header": header.to_json(), "scale": "percent"},
        "chunk": {"chunk": 0, "start": header.data_start, "end": len(data), "first_line": 2},
    }

    def whole_step() -> ChunkSummary:
        # the stubs answer the few calls the adapters make, as boto3's clients would
        store = ObjectStore(cast("S3Client", s3), BUCKET)
        return steps.ingest_chunk(event, settings, store, LabelsTable(cast("DynamoDBClient", ddb), "labels"))

    out = whole_step()
    assert out["accepted"] == rows - gen.bad_row_count(rows), out
    ddb.calls.clear()
    step = _measure(whole_step, repeats)
    return {
        "rows": rows,
        **step,
        "rows_per_s": round(rows / step["cpu_seconds"]),
        "batch_write_requests": ddb.calls.get("BatchWriteItem", 0) // (repeats + 1),
    }


# --------------------------------------------------------------------------- consolidation


def consolidation_payload(
    images: int = CONSOLIDATION_IMAGES, reviewers: int = REVIEWERS, batch: int = BATCH
) -> tuple[list[dict[str, Any]], int]:
    """A Ground Truth consolidation payload: one entry per task, every reviewer's answer inline."""
    import random

    from bulkqa import keys

    rng = random.Random(11)
    workers = [f"private.us-east-1.{n:016x}" for n in range(reviewers)]
    payload: list[dict[str, Any]] = []
    for seq, start in enumerate(range(0, images, batch)):
        ids = [
            keys.item_id(f"s3://{BUCKET}/folder/image_{n:07d}.jpg", "Dog")
            for n in range(start, min(images, start + batch))
        ]
        uri = f"s3://{BUCKET}/{keys.batch_key(RUN_ID, seq, keys.batch_digest(ids))}"
        annotations = []
        for worker in workers:
            content = {f"image-{item}": {"correct": rng.random() < 0.9} for item in sorted(ids)}
            annotations.append({"workerId": worker, "annotationData": {"content": json.dumps(content)}})
        payload.append({"datasetObjectId": str(seq), "dataObject": {"s3Uri": uri}, "annotations": annotations})
    return payload, images


def _consolidation_input(images: int, reviewers: int) -> tuple[list[dict[str, Any]], str, str]:
    payload, _ = consolidation_payload(images, reviewers)
    uri = f"s3://{BUCKET}/runs/{RUN_ID}/labeling-output/consolidation-request/0.json"
    return payload, json.dumps(payload), uri


def _reader(uri: str, text: str) -> Callable[[str], str]:
    def read_text(requested: str) -> str:  # the answers are inline; only the request itself is "read"
        if requested != uri:
            raise AssertionError(f"unexpected read of {requested}")
        return text

    return read_text


def bench_consolidation(
    images: int = CONSOLIDATION_IMAGES, reviewers: int = REVIEWERS, repeats: int = REPEATS
) -> dict[str, Any]:
    """``consolidation.consolidate`` over one payload of ``images / 25`` tasks."""
    _quiet_logs()
    from bulkqa import consolidation

    payload, text, uri = _consolidation_input(images, reviewers)
    read_text = _reader(uri, text)

    def consolidate() -> list[Any]:
        return consolidation.consolidate(payload, read_text)

    results = consolidate()
    assert sum(len(r.images) for r in results) == images
    assert not any(r.excluded or r.error for r in results)
    del results
    core = _measure(consolidate, repeats)
    answers = images * reviewers
    return {
        "images": images,
        "reviewers": reviewers,
        "tasks": len(payload),
        "reviewer_answers": answers,
        "payload_bytes": len(text),
        **core,
        "verdicts_per_s": round(images / core["cpu_seconds"]),
        "answers_per_s": round(answers / core["cpu_seconds"]),
        "target_verdicts_per_s": TARGETS["consolidation_verdicts_per_s"],
        "meets_target": images / core["cpu_seconds"] >= TARGETS["consolidation_verdicts_per_s"],
    }


def bench_consolidation_step(
    images: int = CONSOLIDATION_IMAGES, reviewers: int = REVIEWERS, repeats: int = REPEATS
) -> dict[str, Any]:
    """The whole ``steps.post_labeling`` (payload parsed, one UpdateItem built per image, the response
    entries), DynamoDB replaced by a stub that accepts every write."""
    _quiet_logs()
    from bulkqa import keys, steps
    from bulkqa.adapters.dynamodb import LabelsTable

    payload, text, uri = _consolidation_input(images, reviewers)
    read_text = _reader(uri, text)
    ddb = StubDynamoDB()
    event = {
        "version": "2018-10-16",
        "labelingJobArn": "arn:aws:sagemaker:us-east-1:000000000000:labeling-job/bench",
        "labelAttributeName": keys.LABEL_ATTRIBUTE_NAME,
        "payload": {"s3Uri": uri},
    }

    def whole_step() -> list[ConsolidationEntry]:
        return steps.post_labeling(event, LabelsTable(cast("DynamoDBClient", ddb), "labels"), read_text)

    assert len(whole_step()) == len(payload)
    ddb.calls.clear()
    step = _measure(whole_step, repeats)
    return {
        "images": images,
        "reviewers": reviewers,
        **step,
        "verdicts_per_s": round(images / step["cpu_seconds"]),
        "update_requests": ddb.calls.get("UpdateItem", 0) // (repeats + 1),
    }


# --------------------------------------------------------------------------- analysis


def bench_analysis(n: int | None = None) -> dict[str, Any]:
    """``bench/bench_analysis.py``'s own measurement (max RSS of this fresh process included)."""
    _quiet_logs()
    import bench_analysis

    result = bench_analysis.run(n) if n else bench_analysis.run()
    rate = result["aggregation_rows_per_s"]
    result["target_verdicts_per_s"] = TARGETS["analysis_verdicts_per_s"]
    result["meets_target"] = rate >= TARGETS["analysis_verdicts_per_s"]
    return result


# --------------------------------------------------------------------------- cold start


def handler_modules() -> list[str]:
    return sorted(f"{p.parent.name}.app" for p in FUNCTIONS.glob("*/app.py"))


_SNIPPET_IMPORT = "import time\nt0 = time.perf_counter()\nimport {module}\nt1 = time.perf_counter()\n"
_SNIPPET_CLIENT_BOTO3 = "import boto3\nboto3.client('s3')\n"
_SNIPPET_CLIENT_HANDLER = "import {module}\nfrom bulkqa import aws\naws.client('s3')\n"


def _child(code: str, extra_env: dict[str, str] | None = None) -> float:
    """Seconds a fresh interpreter spends in ``code`` (timed inside it; interpreter start excluded)."""
    program = "import time\n_t0 = time.perf_counter()\n" + code + "\nprint(repr(time.perf_counter() - _t0))\n"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONDONTWRITEBYTECODE"},
        **FAKE_AWS_ENV,
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    out = subprocess.run(
        [sys.executable, "-c", program], cwd=FUNCTIONS, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    return float(out.stdout.strip().splitlines()[-1])


class ImportTime(TypedDict):
    module: str
    self_us: int
    cumulative_us: int


class HandlerColdStart(TypedDict):
    module: str
    import_ms: float
    import_over_boto3_ms: float
    import_runs_ms: list[float]
    with_s3_client_runs_ms: list[float]
    with_s3_client_ms: float
    with_s3_client_over_boto3_ms: float
    meets_target: bool


def _top_imports(module: str, limit: int = 5) -> list[ImportTime]:
    """The slowest top-level imports under ``module`` (``-X importtime``, cumulative microseconds)."""
    env = {**os.environ, **FAKE_AWS_ENV}
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=FUNCTIONS,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows: list[ImportTime] = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, self_us, cumulative, name = (part.strip() for part in line.replace("import time:", "|").split("|"))
        if self_us.isdigit():
            rows.append({"module": name, "self_us": int(self_us), "cumulative_us": int(cumulative)})
    rows.sort(key=lambda r: r["self_us"], reverse=True)
    return rows[:limit]


def bench_cold_start(runs: int = COLD_RUNS) -> dict[str, Any]:
    """Median over ``runs`` fresh interpreters, modules interleaved round-robin against drift."""
    modules = handler_modules()
    cases: dict[str, str] = {"boto3": "import boto3"}
    cases.update({m: f"import {m}" for m in modules})
    client_cases: dict[str, str] = {"boto3": _SNIPPET_CLIENT_BOTO3}
    client_cases.update({m: _SNIPPET_CLIENT_HANDLER.format(module=m) for m in modules})
    for code in (*cases.values(), *client_cases.values()):
        _child(code)  # warm the .pyc files and the page cache; not counted
    imports: dict[str, list[float]] = {name: [] for name in cases}
    clients: dict[str, list[float]] = {name: [] for name in client_cases}
    for _ in range(runs):
        for name, code in cases.items():
            imports[name].append(_child(code))
        for name, code in client_cases.items():
            clients[name].append(_child(code))

    def ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 1)

    base, base_client = ms(imports["boto3"]), ms(clients["boto3"])
    handlers: list[HandlerColdStart] = []
    for module in modules:
        import_ms, client_ms = ms(imports[module]), ms(clients[module])
        handlers.append(
            {
                "module": module,
                "import_ms": import_ms,
                "import_over_boto3_ms": round(import_ms - base, 1),
                "import_runs_ms": [round(v * 1000, 1) for v in imports[module]],
                "with_s3_client_runs_ms": [round(v * 1000, 1) for v in clients[module]],
                "with_s3_client_ms": client_ms,
                "with_s3_client_over_boto3_ms": round(client_ms - base_client, 1),
                # a handler that imports boto3 lazily adds to the boto3 cost only what it imports itself
                "meets_target": import_ms - base <= TARGETS["handler_import_over_boto3_ms"]
                and client_ms - base_client <= TARGETS["handler_import_over_boto3_ms"],
            }
        )
    slowest = max(handlers, key=lambda h: h["with_s3_client_ms"])
    return {
        "runs": runs,
        "python": sys.version.split()[0],
        "boto3_import_ms": base,
        "boto3_import_runs_ms": [round(v * 1000, 1) for v in imports["boto3"]],
        "boto3_with_s3_client_ms": base_client,
        "boto3_with_s3_client_runs_ms": [round(v * 1000, 1) for v in clients["boto3"]],
        "handlers": handlers,
        "target_over_boto3_ms": TARGETS["handler_import_over_boto3_ms"],
        "meets_target": all(h["meets_target"] for h in handlers),
        "slowest_handler_top_imports": {"module": slowest["module"], "imports": _top_imports(slowest["module"])},
        "review_api_first_request": bench_review_api_first_request(runs),
    }


# ------------------------------------------------------------ the review API's first request

#: the review API function's environment as the template sets it (names only; nothing is reached)
REVIEW_API_ENV = {
    "BUCKET_NAME": BUCKET,
    "LABELS_TABLE_NAME": "bench-labels",
    "RUNS_TABLE_NAME": "bench-runs",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "BulkLabelQA",
    "REVIEW_BACKEND": "SelfHosted",
    "REVIEW_TABLE_NAME": "bench-review",
    "USER_POOL_ID": "us-east-1_bench0001",
    "USER_POOL_CLIENT_ID": "benchclient0001",
    "COGNITO_ENDPOINT": "https://cognito-idp.us-east-1.amazonaws.com/",
    "IMAGE_BUCKET_NAME": "",
    "WORKERS_PER_OBJECT": "3",
    "TASK_TIME_LIMIT_SECONDS": "300",
    "TASK_AVAILABILITY_SECONDS": "86400",
}
#: a payload format 2.0 event (as API Gateway's HTTP API sends it) and a Lambda context
_SNIPPET_EVENT = """
class Ctx:
    function_name = "bench-review-api"
    memory_limit_in_mb = 1024
    aws_request_id = "bench-request"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-review-api"
def event(method, path, claims=None):
    http = {"method": method, "path": path, "sourceIp": "127.0.0.1", "userAgent": "bench", "protocol": "HTTP/1.1"}
    ctx = {"http": http, "requestId": "bench", "routeKey": method + " " + path, "stage": "$default",
           "accountId": "123456789012", "apiId": "bench", "domainName": "bench.execute-api.us-east-1.amazonaws.com",
           "domainPrefix": "bench", "time": "29/Nov/2026:20:00:00 +0000", "timeEpoch": 0}
    if claims:
        ctx["authorizer"] = {"jwt": {"claims": claims, "scopes": ["aws.cognito.signin.user.admin"]}}
    return {"version": "2.0", "routeKey": ctx["routeKey"], "rawPath": path, "rawQueryString": "",
            "headers": {"host": ctx["domainName"]}, "requestContext": ctx, "isBase64Encoded": False}
"""
#: stops the first AWS request at ``before-send`` (clients built, request serialised and signed; no network)
_SNIPPET_STOP = """
import boto3
class Sent(Exception):
    pass
sent = []
def stop(**kwargs):
    sent.append(kwargs.get("event_name"))
    raise Sent()
boto3.setup_default_session()
boto3.DEFAULT_SESSION.events.register("before-send", stop)
"""
#: public GET /api/config: the settings are built, no AWS client, no request
_SNIPPET_CONFIG = (
    "import review_api.app as app\n"
    + _SNIPPET_EVENT
    + "r = app.lambda_handler(event('GET', '/api/config'), Ctx())\n"
    + "assert r['statusCode'] == 200, r\n"
)
#: authenticated GET /api/jobs: the service builds its clients (DynamoDB, S3, Step Functions); stopped at its
#: first request
_SNIPPET_JOBS = (
    "import review_api.app as app\n"
    + _SNIPPET_EVENT
    + _SNIPPET_STOP
    + "claims = {'sub': 'bench-reviewer', 'token_use': 'access', 'cognito:groups': '[reviewers]', "
    + "'client_id': 'benchclient0001', 'scope': 'aws.cognito.signin.user.admin'}\n"
    + "try:\n    app.lambda_handler(event('GET', '/api/jobs', claims), Ctx())\nexcept Sent:\n    pass\n"
    + "assert sent, 'GET /api/jobs made no AWS request: the measurement stops at the first one'\n"
)
#: the same without our code: boto3, the three clients the review service builds, one DynamoDB request built
_SNIPPET_BOTO3_CLIENTS = (
    _SNIPPET_STOP
    + "c = boto3.client('dynamodb')\nboto3.client('s3')\nboto3.client('stepfunctions')\n"
    + "try:\n    c.query(TableName='bench-review', KeyConditionExpression='pk = :p', "
    + "ExpressionAttributeValues={':p': {'S': 'x'}})\nexcept Sent:\n    pass\n"
    + "assert sent\n"
)


def bench_review_api_first_request(runs: int = COLD_RUNS) -> dict[str, Any]:
    """The review API function's first request in a fresh interpreter (median of ``runs``, interleaved):
    import + the public GET /api/config (settings, no AWS) next to ``import boto3``; import + an
    authenticated GET /api/jobs up to its first AWS request (the service's clients built) next to boto3 +
    the same three clients + one request built."""
    cases = {
        "boto3": ("import boto3", None),
        "boto3_clients_request": (_SNIPPET_BOTO3_CLIENTS, None),
        "config": (_SNIPPET_CONFIG, REVIEW_API_ENV),
        "jobs": (_SNIPPET_JOBS, REVIEW_API_ENV),
    }
    for code, env in cases.values():
        _child(code, env)  # warm the .pyc files and the page cache; not counted
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (code, env) in cases.items():
            times[name].append(_child(code, env))
    med = {name: round(statistics.median(values) * 1000, 1) for name, values in times.items()}
    config_over = round(med["config"] - med["boto3"], 1)
    jobs_over = round(med["jobs"] - med["boto3_clients_request"], 1)
    target = TARGETS["handler_import_over_boto3_ms"]
    return {
        "runs": runs,
        "boto3_import_ms": med["boto3"],
        "boto3_clients_request_ms": med["boto3_clients_request"],
        "config_ms": med["config"],
        "config_over_boto3_ms": config_over,
        "jobs_until_first_request_ms": med["jobs"],
        "jobs_over_boto3_clients_request_ms": jobs_over,
        "runs_ms": {name: [round(v * 1000, 1) for v in values] for name, values in times.items()},
        "target_over_boto3_ms": target,
        "meets_target": config_over <= target and jobs_over <= target,
        "what": "config: import review_api.app + GET /api/config (public; settings built, no AWS client); "
        "jobs: import + authenticated GET /api/jobs until its first AWS request is about to be sent "
        "(DynamoDB, S3 and Step Functions clients built, the request signed; no network); "
        "boto3_clients_request: import boto3 + the same three clients + one DynamoDB request built",
    }


COMPONENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "ingest": bench_ingest,
    "ingest_step": bench_ingest_step,
    "consolidation": bench_consolidation,
    "consolidation_step": bench_consolidation_step,
    "analysis": bench_analysis,
    "coldstart": bench_cold_start,
    "review_api_first_request": bench_review_api_first_request,
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "components", nargs="*", metavar="COMPONENT", help=f"any of {', '.join(COMPONENTS)} (default: all)"
    )
    parser.add_argument("--json", type=pathlib.Path, help="write the results here (else print them)")
    args = parser.parse_args(argv)
    unknown = [c for c in args.components if c not in COMPONENTS]
    if unknown:
        parser.error(f"unknown component(s) {', '.join(unknown)}; choose from {', '.join(COMPONENTS)}")
    results = {name: COMPONENTS[name]() for name in args.components or COMPONENTS}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    else:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
