"""The benchmark suite: prints a table and writes ``bench/results.json``. Measures, never fails on a target.

    .venv/bin/python bench/run.py [--quick]

1. CPU throughput of our own code with AWS calls stubbed, and peak memory (``bench_components.py``,
   one fresh interpreter per component): ingest, consolidation, analysis.
2. Cold start: import time of each handler module next to ``import boto3`` (same run, fresh
   interpreters, median of 5), with and without building the S3 client; the review API's first
   request (GET /api/config; an authenticated GET /api/jobs up to its first AWS request) next to boto3.
3. make_batches' streaming plan (``bench_batching.py``, one fresh interpreter per size) on 1M and 10M
   accepted rows (``--quick``: 1M): CPU, peak RSS and /tmp spill against the function's limits.
4. ``bulkqa demo`` end to end on the local cloud (one fresh interpreter per run): sample.csv with 1 and
   3 reviewers, sample.csv with 3 reviewers on the self-hosted review backend (reviewers as HTTP clients
   of the review API; the sweeper fired every few seconds), and a generated 100,000-row file with 3
   reviewers (``--quick`` skips it). Every AWS
   request is attributed to the function that made it (or to the local runtime: Step Functions, the
   Ground Truth emulator), so the per-stage scale targets can be checked.
5. API requests and cost per 1,000 images from each run's ``aws-usage.json``, next to the 2019 sample's
   design for the same file (one PutItem per row, one UpdateItem per image per reviewer, one batch-file
   GET per reviewer answer).
6. Issue #14's sampling simulation (``bench_sampling.py``, 200 synthetic populations of 12 classes;
   ``--quick``: 48): wrong guarantees, interval coverage, share reviewed, classes left without a guarantee.
7. The self-hosted review path: DynamoDB/S3 requests, units, invocations, GB-s and HTTP API requests
   per reviewer turn and per screen; AWS cost per 1,000 images next to Ground Truth's fee (target:
   under $0.01, people and Cognito excluded).
8. The scale targets, PASS/FAIL each (and the 100,000-row demo under 10 minutes). A missed target is a
   result, not an error: the exit status is 0 unless a benchmark itself could not run (then 1, after
   writing what was measured).

The machine is shared and noisy: rates are best-of-N CPU time, cold starts are medians; compare runs
on the same machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.type_defs import HistoryEventTypeDef

    from bulkqa_local.cloud import LocalCloud, LocalFunction

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results.json"
for _path in (str(ROOT / "functions"), str(ROOT / "local"), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

BIG_ROWS = 100_000
BIG_DEMO_TARGET_SECONDS = 600  # the 100,000-row demo: under 10 minutes on this machine
BATCHING_ROWS = (1_000_000, 10_000_000)  # make_batches' streaming plan (--quick: 1M only)
BATCHING_LIMITS = {"memory_mb": 1536, "seconds": 900, "disk_mb": 10240}  # the function's
SEED = 2019
#: The labeling-job re-check interval of the demo runs. ``bulkqa demo`` uses 2 s, which re-invokes
#: start_labeling_job every 2 s while the job runs: in a long run that inflates the state transitions
#: and (see the report) races the local runtime's per-invocation environment swap. The template's
#: default is 3,600 s; completion events resume the workflow either way.
CHECK_SECONDS = 3600
#: how long a demo run waits for its workflow (the 100,000-row run needs long locally)
DEMO_TIMEOUT = 3 * 3600
#: the self-hosted run fires the review sweeper this often while its job is open (on AWS: every 5 minutes)
SWEEP_EVERY_SECONDS = 3.0
RUNTIME = "(local runtime)"  # requests made by Step Functions, the Ground Truth emulator, EventBridge

# The scale targets per 1,000 accepted images (bulk-label-qa issue: `make bench`).
MAX_INGEST_WRITES_PER_1000 = 42
MAX_CONSOLIDATION_WRITES_PER_IMAGE = 1.0
MAX_PRELABEL_GETS_PER_TASK = 1.0
MAX_CONSOLIDATION_GETS_PER_INVOCATION = 1.0
TRANSITIONS_BASE, TRANSITIONS_PER_1000_ROWS = 100, 10

# The self-hosted review backend (issue #13): under $0.01 of AWS charges per 1,000 images, people excluded.
MAX_SELF_HOSTED_USD_PER_1000_IMAGES = 0.01
REVIEW_FUNCTIONS = ("review_api", "review_sweeper", "start_labeling_job")
GROUND_TRUTH_IMAGES_PER_SCREEN = 25  # a full screen: $0.08 per screen is $3.20 per 1,000 images
SWEEPS_PER_MONTH = 30 * 24 * 12  # rate(5 minutes)
#: us-east-1 list prices, as bulkqa_local.usage.PRICES (aws-usage.json carries them; these fill a gap)
DEFAULT_PRICES = {
    "s3_put_per_1000": 0.005,
    "s3_get_per_1000": 0.0004,
    "dynamodb_write_per_million": 0.625,
    "dynamodb_read_per_million": 0.125,
    "lambda_request_per_million": 0.20,
    "lambda_gb_second_arm": 0.0000133334,
    "ground_truth_per_object": 0.08,
    "apigateway_http_per_million": 1.00,
    "cognito_lite_per_mau_over_10000": 0.0055,
}

COMPONENTS = ("ingest", "ingest_step", "consolidation", "consolidation_step", "analysis")
DDB_WRITES = (
    "dynamodb:BatchWriteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:TransactWriteItems",
)
S3_GETS = ("s3:GetObject", "s3:HeadObject")


# =========================================================================== the demo child


class Tracker:
    """Attributes every AWS request of a local run to the function that made it.

    Installed through ``run_demo(cloud_hook=...)``. The local cloud runs one handler at a time (under
    its lock), in the calling thread; a handler's own threads are ``ThreadPoolExecutor`` threads or
    named ``bulkqa-...`` (``LabelsTable.run_items``' partition readers).
    A request from any other thread is the local runtime's (Step Functions, Ground Truth, EventBridge).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, str, str]] = Counter()  # (function, service:Operation, table)
        self.invocations: Counter[str] = Counter()
        self.handler_seconds: defaultdict[str, float] = defaultdict(float)
        self.current: str | None = None
        self.current_thread: int | None = None
        self.histories: dict[str, list[HistoryEventTypeDef]] = {}
        self.tables: dict[str, str] = {}
        self.memory_mb: dict[str, int] = {}  # each function's MemorySize (GB-s = handler seconds x this / 1024)
        #: DynamoDB (write, read) units by function, counted per item as aws-usage.json counts them
        self.ddb_units: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.screens = 0  # make_batches' ``tasks``: the screens of the run (data objects)

    def install(self, cloud: LocalCloud) -> None:
        self.tables = {
            physical: logical
            for logical, physical in cloud.stack.refs.items()
            if cloud.stack.resources.get(logical, {}).get("Type") == "AWS::DynamoDB::Table"
        }
        original_handler = cloud._handler
        tracker = self

        def handler_of(fn: LocalFunction) -> Callable[..., Any]:
            handler = original_handler(fn)
            name = fn.handler.split("/", 1)[0]
            tracker.memory_mb[name] = fn.memory_mb

            def run(event: object, context: object) -> object:
                tracker.current, tracker.current_thread = name, threading.get_ident()
                started = time.perf_counter()
                try:
                    result = handler(event, context)
                    if name == "make_batches" and isinstance(result, dict):
                        with tracker.lock:
                            tracker.screens += int(result.get("tasks") or 0)
                    return result
                finally:
                    with tracker.lock:
                        tracker.handler_seconds[name] += time.perf_counter() - started
                        tracker.invocations[name] += 1
                    tracker.current = tracker.current_thread = None

            return run

        # this run's cloud only: each handler timed and its requests attributed, each history kept
        cloud._handler = handler_of  # type: ignore[method-assign]
        original_history = cloud.history

        def history(execution_arn: str) -> list[HistoryEventTypeDef]:
            events = original_history(execution_arn)
            tracker.histories[execution_arn] = events
            return events

        cloud.history = history  # type: ignore[method-assign]
        cloud.session.events.register("before-call", self._count)

    def _count(self, event_name: str, params: dict[str, Any] | None = None, **kwargs: object) -> None:
        parts = event_name.split(".")
        if len(parts) < 3:
            return
        service = {"sfn": "states"}.get(parts[1], parts[1])
        operation = f"{service}:{parts[2]}"
        function = self.current
        if function is None or not (
            threading.get_ident() == self.current_thread
            or threading.current_thread().name.startswith(("ThreadPoolExecutor", "bulkqa-"))
        ):
            function = RUNTIME
        table = ""
        units = (0, 0)
        if service == "dynamodb":
            from bulkqa_local.usage import _dynamodb_units

            units = _dynamodb_units(parts[2], params)
            try:
                body = json.loads((params or {}).get("body") or b"{}")
                name = body.get("TableName") or next(iter(body.get("RequestItems") or {}), "")
                if not name and body.get("TransactItems"):  # a transaction: the table of its first item
                    name = next(iter(body["TransactItems"][0].values())).get("TableName", "")
                table = self.tables.get(name, name)
            except (ValueError, TypeError, AttributeError, IndexError, StopIteration):
                table = "?"
        with self.lock:
            self.requests[(function, operation, table)] += 1
            self.ddb_units[function][0] += units[0]
            self.ddb_units[function][1] += units[1]

    def state_seconds(self, arn: str, top_level: list[str]) -> dict[str, float]:
        """Seconds from entering each top-level state to entering the next (or the end)."""
        events = self.histories.get(arn) or []
        marks = [
            (e["stateEnteredEventDetails"]["name"], e["timestamp"])
            for e in events
            if "stateEnteredEventDetails" in e and e["stateEnteredEventDetails"]["name"] in top_level
        ]
        if not events or not marks:
            return {}
        end = events[-1]["timestamp"]
        out: dict[str, float] = {}
        for n, (name, stamp) in enumerate(marks):
            following = marks[n + 1][1] if n + 1 < len(marks) else end
            out[name] = round(out.get(name, 0.0) + (following - stamp).total_seconds(), 2)
        return out


class Sweeps:
    """Fires the review sweeper's schedule during a self-hosted run, as EventBridge Scheduler would every
    5 minutes (the local runtime does not fire schedules by itself): once before the upload (no job: the
    idle sweep, the fixed cost of every tick) and every ``SWEEP_EVERY_SECONDS`` while the job is open.
    Each sweep's requests are kept (the Tracker attributes them to ``review_sweeper``).
    """

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.fired: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def install(self, cloud: LocalCloud) -> None:
        self.tracker.install(cloud)
        schedule = next((s for s in cloud.schedules if s["function_logical_id"] == "ReviewSweeperFunction"), None)
        if schedule is None:
            self.errors.append("no ReviewSweeperFunction schedule in the local stack")
            return
        self.fire(cloud, schedule["name"])  # idle: no job yet
        self.thread = threading.Thread(
            target=self._loop, args=(cloud, schedule["name"]), name="bench-sweeps", daemon=True
        )
        self.thread.start()

    def _loop(self, cloud: LocalCloud, name: str) -> None:
        invocations = self.tracker.invocations
        while not self.done.wait(SWEEP_EVERY_SECONDS):
            if invocations.get("analyze_results", 0):  # the workflow has resumed and ended: stop before teardown
                return
            if invocations.get("start_labeling_job", 0):
                self.fire(cloud, name)

    def fire(self, cloud: LocalCloud, name: str) -> None:
        tracker = self.tracker

        def mine() -> Counter[str]:
            with tracker.lock:
                return Counter({op: n for (f, op, _), n in tracker.requests.items() if f == "review_sweeper"})

        before, started = mine(), time.perf_counter()
        open_job = bool(tracker.invocations.get("start_labeling_job", 0))
        try:
            cloud.fire_schedule(name)
        except Exception as exc:  # a sweep that fails is a result: kept, the run goes on
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        seconds = time.perf_counter() - started
        self.fired.append(
            {"job_open": open_job, "seconds": round(seconds, 4), "requests": dict(sorted((mine() - before).items()))}
        )

    def stop(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join(timeout=30)


def demo_child(csv_path: str, workers: int, out_json: pathlib.Path, backend: str = "ground-truth") -> int:
    """One ``bulkqa demo`` run with attribution (runs in its own interpreter; see ``run_demo_in_child``)."""
    os.environ.setdefault("LOG_LEVEL", "INFO")
    from bulkqa_local.demo import run_demo

    tracker = Tracker()
    sweeps = Sweeps(tracker) if backend == "self-hosted" else None
    started = time.perf_counter()
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        result = run_demo(
            csv_path=pathlib.Path(csv_path) if csv_path else None,
            out=pathlib.Path(tmp) / "out",
            workers=workers,
            quiet=True,
            seed=0,
            cloud_hook=sweeps.install if sweeps else tracker.install,
            check_seconds=CHECK_SECONDS,
            timeout=DEMO_TIMEOUT,
            backend=backend,
        )
        files = sorted(p.name for p in (result.out_dir.iterdir() if result.out_dir else []))
    if sweeps:
        sweeps.stop()
    wall = time.perf_counter() - started
    asl = json.loads((ROOT / "statemachine" / "bulk_qa.asl.json").read_text(encoding="utf-8"))
    main = next(
        (e for e in result.executions if json.loads(e.get("output") or "{}").get("duplicate") is not True), None
    )
    by_function: dict[str, dict[str, Any]] = {}
    for (function, operation, table), n in sorted(tracker.requests.items()):
        entry = by_function.setdefault(function, {"requests": {}, "dynamodb_writes_by_table": {}})
        entry["requests"][operation] = entry["requests"].get(operation, 0) + n
        if operation in DDB_WRITES:
            tables = entry["dynamodb_writes_by_table"]
            tables[table] = tables.get(table, 0) + n
    for function, n in tracker.invocations.items():
        by_function.setdefault(function, {"requests": {}, "dynamodb_writes_by_table": {}})
        by_function[function]["invocations"] = n
        by_function[function]["handler_seconds"] = round(tracker.handler_seconds[function], 3)
        if function in tracker.memory_mb:
            by_function[function]["memory_mb"] = tracker.memory_mb[function]
            by_function[function]["gb_seconds"] = round(
                tracker.handler_seconds[function] * tracker.memory_mb[function] / 1024, 4
            )
    for function, (write_units, read_units) in tracker.ddb_units.items():
        by_function.setdefault(function, {"requests": {}, "dynamodb_writes_by_table": {}})
        by_function[function]["dynamodb_units"] = {"write": write_units, "read": read_units}
    requests: Counter[str] = Counter()
    for (_, operation, _), n in tracker.requests.items():
        requests[operation] += n
    report = result.report
    totals = report["totals"] if report else None
    doc = {
        "csv": csv_path or "sample.csv (embedded)",
        "workers": workers,
        "backend": backend,
        "status": result.status,
        "error": result.error,
        "cause": result.cause,
        "failed_state": result.failed_state,
        "seconds": round(result.seconds, 2),
        "wall_seconds_with_setup": round(wall, 2),
        "cpu_seconds": round(time.process_time() - cpu0, 2),
        "max_rss_mb": _max_rss_mb(),
        "check_seconds": CHECK_SECONDS,
        "report_rows": report["rows"] if report else None,
        "report_verdicts": report["verdicts"] if report else None,
        "report_totals": {
            "total": totals["total"] if totals else None,
            "confirmed": totals["confirmed"] if totals else None,
            "disconfirmed": totals["disconfirmed"] if totals else None,
            "split": totals["split"] if totals else None,
            "unreviewed": totals["unreviewed"] if totals else None,
            "pct_correct": totals["pct_correct"] if totals else None,
        },
        "usage": result.usage,
        "by_function": by_function,
        "attribution_matches_usage": dict(requests) == dict(result.usage.get("requests", {})),
        "state_seconds": tracker.state_seconds(main["executionArn"], list(asl["States"])) if main else {},
        "files": files,
        "screens": tracker.screens,
        "sweeps": {"every_seconds": SWEEP_EVERY_SECONDS, "fired": sweeps.fired, "errors": sweeps.errors}
        if sweeps
        else None,
    }
    out_json.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


def _max_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


# =========================================================================== the suite


def _child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``args`` (a bench script and its arguments) in a fresh interpreter; its JSON result."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = pathlib.Path(tmp) / "result.json"
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(
            [sys.executable, *args, "--json", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def run_component(name: str) -> dict[str, Any]:
    component: dict[str, Any] = _child([str(BENCH / "bench_components.py"), name], timeout=3600)[name]
    return component


def run_demo_in_child(csv_path: pathlib.Path | None, workers: int, backend: str = "ground-truth") -> dict[str, Any]:
    return _child(
        [str(BENCH / "run.py"), "--demo-child", str(csv_path or ""), str(workers), "--demo-backend", backend],
        timeout=DEMO_TIMEOUT + 600,
    )


def analyse_demo(name: str, demo: dict[str, Any]) -> dict[str, Any]:
    """Requests and cost per 1,000 images, the 2019 design for the same file, the scale checks."""
    usage = demo["usage"]
    rows = int((demo.get("report_rows") or {}).get("total") or 0)
    images = int(usage.get("images") or 0)
    self_hosted = demo.get("backend") == "self-hosted"
    # self-hosted: no Ground Truth objects; the screens are make_batches' tasks
    tasks = int(usage.get("ground_truth_objects") or 0) or (int(demo.get("screens") or 0) if self_hosted else 0)
    reviewers = int(demo["workers"])
    reviewed = int((demo.get("report_verdicts") or {}).get("reviewed") or 0)
    fn = demo.get("by_function", {})

    def requests(function: str, operations: tuple[str, ...]) -> int:
        return sum(n for op, n in fn.get(function, {}).get("requests", {}).items() if op in operations)

    def table_writes(functions: tuple[str, ...], table: str) -> int:
        return sum(fn.get(f, {}).get("dynamodb_writes_by_table", {}).get(table, 0) for f in functions)

    ingest_writes = table_writes(("ingest_labels", "make_batches"), "LabelsTable")
    consolidation_writes = requests("post_labeling", DDB_WRITES)
    consolidation_updates = requests("post_labeling", ("dynamodb:UpdateItem",))
    pre_gets = requests("pre_labeling", S3_GETS)
    if self_hosted:  # the review API consolidates each answer and reads a screen's batch file per lease
        consolidation_writes = consolidation_updates = table_writes(("review_api",), "LabelsTable")
        pre_gets = requests("review_api", S3_GETS)
    post_gets = requests("post_labeling", S3_GETS)
    post_invocations = int(fn.get("post_labeling", {}).get("invocations", 0))
    pre_invocations = int(fn.get("pre_labeling", {}).get("invocations", 0))
    transitions = int(usage.get("state_transitions") or 0)
    transitions_budget = TRANSITIONS_BASE + TRANSITIONS_PER_1000_ROWS * rows / 1000

    def per_1000(n: float) -> float | None:
        return round(n / images * 1000, 2) if images else None

    prices = usage.get("prices", {})
    cost = usage.get("estimated_cost_usd", {})
    gt_fee = float(cost.get("sagemaker_ground_truth") or 0.0)
    infra = float(cost.get("total") or 0.0) - gt_fee
    wru = prices.get("dynamodb_write_per_million", 0.625) / 1e6
    get_price = prices.get("s3_get_per_1000", 0.0004) / 1000
    # the 2019 sample's design for the same file
    old = {"put_item": rows, "update_item": images * reviewers, "batch_file_gets": tasks * reviewers}
    old_cost = (old["put_item"] + old["update_item"]) * wru + old["batch_file_gets"] * get_price
    # ours: BatchWriteItem bills one WRU per item; one UpdateItem per image whatever the reviewers
    new_wru = images + consolidation_updates
    new_cost = new_wru * wru + pre_gets * get_price
    comparison = {
        "rows": rows,
        "images": images,
        "tasks": tasks,
        "reviewers": reviewers,
        "design_2019": {**old, "dynamodb_wru": old["put_item"] + old["update_item"], "cost_usd": round(old_cost, 6)},
        "ours": {
            "ingest_write_requests": ingest_writes,
            "consolidation_write_requests": consolidation_writes,
            "batch_file_gets": pre_gets,
            "dynamodb_wru": new_wru,
            "cost_usd": round(new_cost, 6),
        },
        "per_1000_images": {
            "design_2019": {k: per_1000(v) for k, v in old.items()},
            "ours": {
                "ingest_write_requests": per_1000(ingest_writes),
                "consolidation_write_requests": per_1000(consolidation_writes),
                "batch_file_gets": per_1000(pre_gets),
            },
        },
    }
    checks = [
        _check(
            name,
            "ingest: DynamoDB write requests per 1,000 accepted images",
            per_1000(ingest_writes),
            MAX_INGEST_WRITES_PER_1000,
            f"{ingest_writes} requests to the labels table (ingest_labels + make_batches) for {images} images",
        ),
        _check(
            name,
            f"consolidation: DynamoDB write requests per reviewed image ({reviewers} reviewer(s))"
            + (" (self-hosted: the review API's labels-table writes)" if self_hosted else ""),
            round(consolidation_writes / reviewed, 3) if reviewed else None,
            MAX_CONSOLIDATION_WRITES_PER_IMAGE,
            f"{consolidation_writes} write requests by "
            f"{'review_api (one per image per answer)' if self_hosted else 'post_labeling'} "
            f"for {reviewed} reviewed images",
        ),
    ]
    if not self_hosted:  # Ground Truth's pre- and post-labeling functions (the self-hosted table has per turn)
        checks += [
            _check(
                name,
                "pre-labeling: S3 GETs per task",
                round(pre_gets / tasks, 3) if tasks else None,
                MAX_PRELABEL_GETS_PER_TASK,
                f"{pre_gets} GETs, {pre_invocations} invocations, {tasks} tasks",
            ),
            _check(
                name,
                "consolidation: S3 GETs per invocation",
                round(post_gets / post_invocations, 3) if post_invocations else None,
                MAX_CONSOLIDATION_GETS_PER_INVOCATION,
                f"{post_gets} GETs in {post_invocations} invocations",
            ),
        ]
    checks += [
        _check(
            name,
            f"state transitions per run (<= {TRANSITIONS_BASE} + {TRANSITIONS_PER_1000_ROWS}/1,000 rows)",
            transitions,
            round(transitions_budget, 1),
            f"{transitions} transitions for {rows} rows",
        ),
    ]
    if rows >= BIG_ROWS:
        checks.append(
            _check(
                name,
                "local demo seconds (this machine)",
                demo.get("seconds"),
                BIG_DEMO_TARGET_SECONDS,
                f"run_demo wall time, {demo.get('cpu_seconds')} CPU s",
            )
        )
    return {
        "run": name,
        "status": demo["status"],
        "seconds": demo["seconds"],
        "rows": rows,
        "images": images,
        "tasks": tasks,
        "reviewers": reviewers,
        "reviewed": reviewed,
        "requests": usage.get("requests", {}),
        "requests_per_1000_images": {op: per_1000(n) for op, n in usage.get("requests", {}).items()},
        "cost_usd": cost,
        "cost_per_1000_images_usd": cost.get("per_1000_images"),
        "infra_cost_per_1000_images_usd": round(infra / images * 1000, 6) if images else None,
        "comparison_2019": comparison,
        "checks": checks,
    }


def analyse_self_hosted(name: str, demo: dict[str, Any]) -> dict[str, Any]:
    """The self-hosted review path: requests per reviewer turn and per screen, AWS cost per 1,000 images.

    The review part is what the self-hosted backend adds: the review API function (every reviewer
    request), the sweeper (as fired in the run) and start_labeling_job (the queue's items), plus the HTTP
    API's requests. Lambda request charges are counted from the invocations (aws-usage.json counts only
    ``lambda:Invoke`` requests, so the functions API Gateway and the Scheduler invoke are missing there).
    """
    usage = demo["usage"]
    prices = {**DEFAULT_PRICES, **usage.get("prices", {})}
    images = int(usage.get("images") or 0)
    screens = int(demo.get("screens") or 0)
    per_screen = int(demo["workers"])
    turns = screens * per_screen
    fn = demo.get("by_function", {})

    def ratio(n: float, d: float, digits: int = 3) -> float | None:
        return round(n / d, digits) if d else None

    functions: dict[str, dict[str, Any]] = {}
    for function in REVIEW_FUNCTIONS:
        entry = fn.get(function, {})
        req: dict[str, int] = entry.get("requests", {})
        ddb = sum(n for op, n in req.items() if op.startswith("dynamodb:"))
        s3_get = sum(n for op, n in req.items() if op in S3_GETS)
        s3_other = sum(n for op, n in req.items() if op.startswith("s3:") and op not in S3_GETS)
        units = entry.get("dynamodb_units") or {"write": 0, "read": 0}
        invocations = int(entry.get("invocations") or 0)
        gb_seconds = float(entry.get("gb_seconds") or 0.0)
        cost = {
            "dynamodb": units["write"] / 1e6 * prices["dynamodb_write_per_million"]
            + units["read"] / 1e6 * prices["dynamodb_read_per_million"],
            "s3": s3_get / 1000 * prices["s3_get_per_1000"] + s3_other / 1000 * prices["s3_put_per_1000"],
            "lambda": invocations / 1e6 * prices["lambda_request_per_million"]
            + gb_seconds * prices["lambda_gb_second_arm"],
        }
        functions[function] = {
            "invocations": invocations,
            "dynamodb_requests": ddb,
            "s3_requests": s3_get + s3_other,
            "s3_gets": s3_get,
            "dynamodb_write_units": units["write"],
            "dynamodb_read_units": units["read"],
            "gb_seconds": round(gb_seconds, 4),
            "requests": req,
            "cost_usd": {k: round(v, 8) for k, v in cost.items()},
        }
    total = {
        key: sum(f[key] for f in functions.values())
        for key in (
            "invocations",
            "dynamodb_requests",
            "s3_requests",
            "s3_gets",
            "dynamodb_write_units",
            "dynamodb_read_units",
            "gb_seconds",
        )
    }
    api_requests = int(usage.get("api_requests") or 0)
    cost = {
        "apigateway": api_requests / 1e6 * prices["apigateway_http_per_million"],
        **{part: sum(f["cost_usd"][part] for f in functions.values()) for part in ("lambda", "dynamodb", "s3")},
    }
    review_usd = sum(cost.values())
    # the whole run: aws-usage.json's estimate plus the request charges of the functions it did not see invoked
    invoked = sum(int(e.get("invocations") or 0) for e in fn.values())
    missing = max(0, invoked - int(usage.get("requests", {}).get("lambda:Invoke", 0)))
    whole_usd = (
        float(usage.get("estimated_cost_usd", {}).get("total") or 0.0)
        + missing / 1e6 * prices["lambda_request_per_million"]
    )

    def per_1000(usd: float) -> float | None:
        return round(usd / images * 1000, 6) if images else None

    per_turn = {key: ratio(value, turns, 4) for key, value in total.items()}
    per_turn["api_requests"] = ratio(api_requests, turns)
    sweeps = demo.get("sweeps") or {}
    idle = next((s for s in sweeps.get("fired", []) if not s["job_open"]), None)
    open_sweeps = [s for s in sweeps.get("fired", []) if s["job_open"]]
    sweeper_memory_gb = float(fn.get("review_sweeper", {}).get("memory_mb") or 512) / 1024
    idle_usd = (
        (
            prices["lambda_request_per_million"] / 1e6
            + idle["seconds"] * sweeper_memory_gb * prices["lambda_gb_second_arm"]
            + sum(n for op, n in idle["requests"].items() if op.startswith("dynamodb:"))
            * prices["dynamodb_read_per_million"]
            / 1e6
        )
        if idle
        else None
    )
    gt_fee = screens * prices["ground_truth_per_object"]
    review_per_1000 = per_1000(review_usd)
    checks = [
        _check(
            name,
            "self-hosted review part: AWS USD per 1,000 images (API GW, Lambda, DynamoDB, S3; no people, no Cognito)",
            review_per_1000,
            MAX_SELF_HOSTED_USD_PER_1000_IMAGES,
            f"${review_usd:.6f} for {images} images, {screens} screens, {turns} reviewer turns",
        ),
        _check(
            name,
            "self-hosted whole run: AWS USD per 1,000 images (every stage; no people, no Cognito)",
            per_1000(whole_usd),
            MAX_SELF_HOSTED_USD_PER_1000_IMAGES,
            f"${whole_usd:.6f} for {images} images (aws-usage.json + {missing} Lambda requests it does not count)",
        ),
    ]
    return {
        "run": name,
        "images": images,
        "screens": screens,
        "workers_per_object": per_screen,
        "reviewer_turns": turns,
        "api_requests": api_requests,
        "functions": functions,
        "total": total,
        "per_turn": per_turn,
        "per_screen": {key: ratio(value, screens, 4) for key, value in total.items()},
        "functions_per_turn": {
            f: {
                key: ratio(v[key], turns, 4)
                for key in ("dynamodb_requests", "s3_requests", "dynamodb_write_units", "dynamodb_read_units")
            }
            for f, v in functions.items()
        },
        "review_cost_usd": {k: round(v, 8) for k, v in cost.items()} | {"total": round(review_usd, 8)},
        "review_usd_per_1000_images": review_per_1000,
        "review_usd_per_1000_images_by_service": {k: per_1000(v) for k, v in cost.items()},
        "whole_run_usd": round(whole_usd, 6),
        "whole_run_usd_per_1000_images": per_1000(whole_usd),
        "ground_truth_fee_usd": round(gt_fee, 4),
        "ground_truth_fee_per_1000_images_usd": per_1000(gt_fee),
        "ground_truth_fee_per_1000_images_full_screens_usd": round(
            1000 / GROUND_TRUTH_IMAGES_PER_SCREEN * prices["ground_truth_per_object"], 2
        ),
        "sweeper": {
            "fired": len(sweeps.get("fired", [])),
            "every_seconds_here": sweeps.get("every_seconds"),
            "idle_sweep_requests": idle["requests"] if idle else None,
            "open_job_sweep_requests": open_sweeps[-1]["requests"] if open_sweeps else None,
            "idle_usd_per_month": round(idle_usd * SWEEPS_PER_MONTH, 6) if idle_usd is not None else None,
            "note": f"on AWS every 5 minutes ({SWEEPS_PER_MONTH:,} a month) whether or not a job is open: "
            "a fixed cost, not per image",
        },
        "cognito": {
            "reviewer_accounts": usage.get("reviewer_accounts"),
            "free_monthly_active_users": 10_000,
            "usd_per_mau_beyond": prices["cognito_lite_per_mau_over_10000"],
            "note": "per reviewer signed in during a month, not per image; free below 10,000 a month",
        },
        "prices": {k: prices[k] for k in DEFAULT_PRICES},
        "checks": checks,
    }


def _check(run: str, what: str, value: float | None, limit: float, detail: str) -> dict[str, Any]:
    status = "n/a" if value is None else ("PASS" if value <= limit else "FAIL")
    return {"run": run, "target": what, "value": value, "limit": limit, "status": status, "detail": detail}


#: issue #14's simulation: at least 200 populations of 12 classes (--quick: fewer, same scenarios)
SAMPLING_POPULATIONS = 200
SAMPLING_POPULATIONS_QUICK = 48


def sampling_checks(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue #14's targets on the simulation, as scale checks (a FAIL is a result, not an error)."""
    o = result["overall"]
    run = f"sampling simulation, {o['populations']} populations x 12 classes"
    return [
        _check(
            run,
            "classes whose guaranteed threshold is wrong (share, <= 0.05)",
            round(o["false_guarantee_rate"], 4),
            0.05,
            f"{o['classes']} classes",
        ),
        _check(
            run,
            "95 % intervals missing the true population value (share, <= 0.07)",
            round(1 - min(o["class_coverage"], o["cell_coverage"]), 4),
            0.07,
            f"coverage: class {o['class_coverage']:.3f}, cell {o['cell_coverage']:.3f}",
        ),
        _check(run, "images reviewed / population (<= 0.15)", round(o["reviewed_share"], 4), 0.15, ""),
        _check(
            run,
            "classes with a true threshold above the lowest edge left without a guarantee (share, = 0)",
            round(1 - o["guaranteed_when_above_lowest_edge"], 4),
            0.0,
            f"{o['guaranteed_when_above_lowest_edge']:.3f} got one",
        ),
    ]


# --------------------------------------------------------------------------- printing


def _fmt(value: object, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def _digits(value: object, usual: int) -> int:
    """Decimals to print: none for integers, enough for a small float (dollars per 1,000 images)."""
    if not isinstance(value, float):
        return 0
    if abs(value) < 0.1:
        return 6
    return max(usual, len(f"{value:.6g}".partition(".")[2]))  # 0.15 prints as 0.15, not 0.1


def _table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        return "  " + "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    print(f"\n{title}")
    print(line(header))
    print("  " + "  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))


def _pf(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def _print_self_hosted(h: dict[str, Any]) -> None:
    turns, screens = h["reviewer_turns"], h["screens"]
    rows: list[list[object]] = []
    for function, f in [*h["functions"].items(), ("total", h["total"])]:
        rows.append(
            [
                function,
                _fmt(f["invocations"]),
                _fmt(f["dynamodb_requests"]),
                _fmt(f["s3_requests"]),
                _fmt(f["dynamodb_requests"] / turns, 2),
                _fmt(f["s3_requests"] / turns, 3),
                _fmt(f["dynamodb_requests"] / screens, 1),
                _fmt(f["s3_requests"] / screens, 2),
                _fmt(f["dynamodb_write_units"] / turns, 2),
                _fmt(f["dynamodb_read_units"] / turns, 2),
                _fmt(f["invocations"] / turns, 2),
                _fmt(f["gb_seconds"] / turns, 4),
            ]
        )
    rows.append(["HTTP API requests", _fmt(h["api_requests"]), "", "", "", "", "", "", "", "", "", ""])
    rows[-1][10] = _fmt(h["per_turn"]["api_requests"], 2)
    _table(
        f"Self-hosted review path, '{h['run']}': {h['images']:,} images, {screens} screens x "
        f"{h['workers_per_object']} = {turns} reviewer turns (GB-s: local handler time x MemorySize, an upper bound)",
        [
            "function",
            "invocations",
            "DDB req",
            "S3 req",
            "DDB/turn",
            "S3/turn",
            "DDB/screen",
            "S3/screen",
            "WRU/turn",
            "RRU/turn",
            "inv/turn",
            "GB-s/turn",
        ],
        rows,
    )
    by = h["review_usd_per_1000_images_by_service"]
    sweeper, cognito = h["sweeper"], h["cognito"]
    _table(
        "Self-hosted: AWS cost per 1,000 images (us-east-1 list prices, no free tier), next to Ground Truth's fee",
        ["", "USD per 1,000 images"],
        [
            ["API Gateway HTTP API ($1.00/million requests)", f"{by['apigateway']:.6f}"],
            ["Lambda (requests + arm GB-s)", f"{by['lambda']:.6f}"],
            ["DynamoDB on-demand (WRU, RRU)", f"{by['dynamodb']:.6f}"],
            ["S3 (GETs, PUTs)", f"{by['s3']:.6f}"],
            ["review part, total", f"{h['review_usd_per_1000_images']:.6f}"],
            ["whole run (every stage)", f"{h['whole_run_usd_per_1000_images']:.6f}"],
            [
                f"Ground Truth fee, these {screens} screens ($0.08 each)",
                f"{h['ground_truth_fee_per_1000_images_usd']:.2f}",
            ],
            [
                "Ground Truth fee, full 25-image screens",
                f"{h['ground_truth_fee_per_1000_images_full_screens_usd']:.2f}",
            ],
            [
                f"target (review part, people and Cognito excluded) < {MAX_SELF_HOSTED_USD_PER_1000_IMAGES}",
                h["checks"][0]["status"],
            ],
        ],
    )
    print(
        f"  Cognito: per reviewer, not per image: free for the first {cognito['free_monthly_active_users']:,} "
        f"monthly active users, ${cognito['usd_per_mau_beyond']} per MAU beyond ({cognito['reviewer_accounts']} "
        f"reviewer accounts here: $0). Sweeper: {sweeper['fired']} sweeps here (idle {sweeper['idle_sweep_requests']}, "
        f"job open {sweeper['open_job_sweep_requests']}); every 5 minutes on AWS: ${sweeper['idle_usd_per_month']} "
        "a month idle, fixed."
    )


def print_results(results: dict[str, Any]) -> None:
    comp = results.get("components", {})
    rows: list[list[object]] = []
    if "ingest" in comp:
        c = comp["ingest"]
        rows.append(
            [
                "ingest: validate_chunk + label_item",
                f"{c['rows']:,} rows",
                _fmt(c["cpu_seconds"], 2),
                f"{c['rows_per_s']:,} rows/s",
                f">= {c['target_rows_per_s']:,}",
                _pf(c["meets_target"]),
                _fmt(c["peak_traced_mb"], 1),
                _fmt(c["max_rss_mb"], 1),
            ]
        )
    if "ingest_step" in comp:
        c = comp["ingest_step"]
        rows.append(
            [
                "  whole ingest_chunk step (stub S3/DDB)",
                f"{c['rows']:,} rows",
                _fmt(c["cpu_seconds"], 2),
                f"{c['rows_per_s']:,} rows/s",
                "-",
                "",
                _fmt(c["peak_traced_mb"], 1),
                _fmt(c["max_rss_mb"], 1),
            ]
        )
    if "consolidation" in comp:
        c = comp["consolidation"]
        rows.append(
            [
                f"consolidation: consolidate ({c['reviewers']} reviewers)",
                f"{c['images']:,} images",
                _fmt(c["cpu_seconds"], 2),
                f"{c['verdicts_per_s']:,} images/s",
                f">= {c['target_verdicts_per_s']:,}",
                _pf(c["meets_target"]),
                _fmt(c["peak_traced_mb"], 1),
                _fmt(c["max_rss_mb"], 1),
            ]
        )
        rows.append(
            [
                "  (the same, per reviewer answer)",
                f"{c['reviewer_answers']:,} answers",
                "",
                f"{c['answers_per_s']:,} answers/s",
                "",
                "",
                "",
                "",
            ]
        )
    if "consolidation_step" in comp:
        c = comp["consolidation_step"]
        rows.append(
            [
                "  whole post_labeling step (stub DDB)",
                f"{c['images']:,} images",
                _fmt(c["cpu_seconds"], 2),
                f"{c['verdicts_per_s']:,} images/s",
                "-",
                "",
                _fmt(c["peak_traced_mb"], 1),
                _fmt(c["max_rss_mb"], 1),
            ]
        )
    if "analysis" in comp:
        c = comp["analysis"]
        rows.append(
            [
                "analysis: analyze (aggregation)",
                f"{c['aggregation_verdicts']:,} verdicts",
                _fmt(c["aggregation_cpu_seconds"], 2),
                f"{c['aggregation_rows_per_s']:,} verdicts/s",
                f">= {c['target_verdicts_per_s']:,}",
                _pf(c["meets_target"]),
                "",
                "",
            ]
        )
        rows.append(
            [
                "  write_reports incl. generation",
                f"{c['verdicts']:,} verdicts",
                _fmt(c["cpu_seconds"], 2),
                f"{c['rows_per_s']:,} verdicts/s",
                "-",
                "",
                "",
                _fmt(c["peak_mb"], 1),
            ]
        )
    for name, error in results.get("errors", {}).items():
        if name in COMPONENTS:
            rows.append([name, "ERROR", "", error.splitlines()[0][:60], "", "", "", ""])
    if rows:
        _table(
            "CPU throughput, AWS calls stubbed (CPU s: best of 3; peak MB: tracemalloc, input excluded; "
            "RSS MB: process max RSS)",
            ["component", "work", "CPU s", "rate", "target", "", "peak MB", "RSS MB"],
            rows,
        )

    cold = results.get("cold_start")
    if cold:
        rows = [
            ["import boto3", _fmt(cold["boto3_import_ms"], 1), "", _fmt(cold["boto3_with_s3_client_ms"], 1), "", ""]
        ]
        for h in cold["handlers"]:
            rows.append(
                [
                    h["module"],
                    _fmt(h["import_ms"], 1),
                    f"{h['import_over_boto3_ms']:+.1f}",
                    _fmt(h["with_s3_client_ms"], 1),
                    f"{h['with_s3_client_over_boto3_ms']:+.1f}",
                    _pf(h["meets_target"]),
                ]
            )
        _table(
            f"Cold start (fresh interpreters, median of {cold['runs']}, ms; target: a handler adds "
            f"<= {cold['target_over_boto3_ms']:.0f} ms over boto3)",
            ["module", "import", "vs boto3", "import + S3 client", "vs boto3 + client", ""],
            rows,
        )
        first = cold.get("review_api_first_request")
        if first:
            _table(
                f"Review API's first request (fresh interpreters, median of {first['runs']}, ms; target: "
                f"<= {first['target_over_boto3_ms']:.0f} ms over boto3)",
                ["", "ms", "baseline", "baseline ms", "over", ""],
                [
                    [
                        "import + GET /api/config (public, no AWS)",
                        _fmt(first["config_ms"], 1),
                        "import boto3",
                        _fmt(first["boto3_import_ms"], 1),
                        f"{first['config_over_boto3_ms']:+.1f}",
                        _pf(first["config_over_boto3_ms"] <= first["target_over_boto3_ms"]),
                    ],
                    [
                        "import + GET /api/jobs to its 1st AWS request",
                        _fmt(first["jobs_until_first_request_ms"], 1),
                        "boto3 + 3 clients + 1 request",
                        _fmt(first["boto3_clients_request_ms"], 1),
                        f"{first['jobs_over_boto3_clients_request_ms']:+.1f}",
                        _pf(first["jobs_over_boto3_clients_request_ms"] <= first["target_over_boto3_ms"]),
                    ],
                ],
            )

    batching = results.get("batching") or []
    if batching:
        rows = [
            [
                f"{b['rows']:,} rows",
                _fmt(b["images"]),
                _fmt(b["duplicates"]),
                _fmt(b["tasks"]),
                _fmt(b["cpu_seconds"], 1),
                _fmt(b["peak_rss_mb"], 1),
                _fmt(b["spill_mb"], 0),
                _fmt(b["batch_documents_mb"], 0),
                _pf(
                    b["peak_rss_mb"] <= BATCHING_LIMITS["memory_mb"]
                    and b["seconds"] <= BATCHING_LIMITS["seconds"]
                    and b["spill_mb"] <= BATCHING_LIMITS["disk_mb"]
                ),
            ]
            for b in batching
        ]
        _table(
            "make_batches' plan, streaming (S3 PUTs excluded; limits: 1,536 MB memory, 900 s, 10,240 MB /tmp)",
            ["accepted rows", "images", "duplicates", "tasks", "CPU s", "peak RSS MB", "/tmp MB", "batch files MB", ""],
            rows,
        )

    demos = results.get("demos", [])
    if demos:
        rows = []
        for d in demos:
            a = d.get("analysis") or {}
            rows.append(
                [
                    d["name"],
                    d.get("status", "ERROR"),
                    _fmt(a.get("rows")),
                    _fmt(a.get("images")),
                    _fmt(a.get("tasks")),
                    d.get("workers", ""),
                    _fmt(d.get("seconds"), 1),
                    _fmt(d.get("cpu_seconds"), 1),
                    _fmt(d.get("max_rss_mb"), 0),
                    _fmt(a.get("cost_per_1000_images_usd"), 4),
                    _fmt(a.get("infra_cost_per_1000_images_usd"), 4),
                ]
            )
        _table(
            "bulkqa demo end to end (local cloud: seconds of run_demo; CPU s of the whole demo process)",
            [
                "run",
                "status",
                "rows",
                "images",
                "tasks",
                "reviewers",
                "seconds",
                "CPU s",
                "RSS MB",
                "$/1k img",
                "$/1k img w/o GT",
            ],
            rows,
        )
        timed = [d for d in demos if d.get("state_seconds")]
        if timed:
            states = list(dict.fromkeys(s for d in timed for s in d["state_seconds"]))
            rows = [[state, *(_fmt(d["state_seconds"].get(state), 2) for d in timed)] for state in states]
            for function in sorted({f for d in timed for f in d["by_function"]} - {RUNTIME}):
                rows.append(
                    [
                        f"handler {function} (n)",
                        *(
                            f"{_fmt(d['by_function'].get(function, {}).get('handler_seconds'), 2)} "
                            f"({d['by_function'].get(function, {}).get('invocations', 0)})"
                            for d in timed
                        ),
                    ]
                )
            _table(
                "Where the demo time goes (seconds per top-level state, from the execution history; "
                "handler seconds, invocations)",
                ["", *(d["name"] for d in timed)],
                rows,
            )
        for d in demos:
            a = d.get("analysis")
            if not a:
                continue
            ops = sorted(a["requests"])
            _table(
                f"API requests of '{d['name']}' (aws-usage.json) and per 1,000 images",
                ["request", "count", "per 1,000 images"],
                [[op, _fmt(a["requests"][op]), _fmt(a["requests_per_1000_images"][op], 1)] for op in ops],
            )
            c = a["comparison_2019"]
            old, new = c["design_2019"], c["ours"]
            p_old, p_new = c["per_1000_images"]["design_2019"], c["per_1000_images"]["ours"]
            _table(
                f"'{d['name']}' vs the 2019 sample's design ({c['rows']:,} rows, {c['images']:,} images, "
                f"{c['tasks']:,} tasks, {c['reviewers']} reviewer(s))",
                ["", "2019 design", "ours", "2019 /1k img", "ours /1k img"],
                [
                    [
                        "DynamoDB write requests, ingest",
                        _fmt(old["put_item"]) + " PutItem",
                        _fmt(new["ingest_write_requests"]) + " BatchWriteItem",
                        _fmt(p_old["put_item"], 1),
                        _fmt(p_new["ingest_write_requests"], 1),
                    ],
                    [
                        "DynamoDB write requests, consolidation",
                        _fmt(old["update_item"]) + " UpdateItem",
                        _fmt(new["consolidation_write_requests"]) + " UpdateItem",
                        _fmt(p_old["update_item"], 1),
                        _fmt(p_new["consolidation_write_requests"], 1),
                    ],
                    [
                        "batch-file S3 GETs",
                        _fmt(old["batch_file_gets"]),
                        _fmt(new["batch_file_gets"]),
                        _fmt(p_old["batch_file_gets"], 1),
                        _fmt(p_new["batch_file_gets"], 1),
                    ],
                    ["DynamoDB WRU (billed)", _fmt(old["dynamodb_wru"]), _fmt(new["dynamodb_wru"]), "", ""],
                    ["cost of these, USD", f"{old['cost_usd']:.6f}", f"{new['cost_usd']:.6f}", "", ""],
                ],
            )

    for d in demos:
        if d.get("self_hosted"):
            _print_self_hosted(d["self_hosted"])

    sampling = results.get("sampling")
    if sampling:
        _table(
            "Sampling simulation (#14; bench/bench_sampling.py): known truth, the policy run to its stop",
            ["scenario", "populations", "reviewed / population", "got a guarantee", "wrong guarantees", "CI cover"],
            [
                [
                    r["scenario"],
                    r["populations"],
                    f"{100 * r['reviewed_share']:.1f} %",
                    f"{100 * r['guarantee_rate']:.1f} %",
                    f"{100 * r['false_guarantee_rate']:.1f} %",
                    f"{100 * r['class_coverage']:.1f} %",
                ]
                for r in sampling["scenarios"]
            ],
        )
    checks = results.get("checks", [])
    if checks:
        _table(
            "Scale targets (per run; a FAIL is reported, not fatal)",
            ["run", "target", "value", "limit", ""],
            [
                [
                    c["run"],
                    c["target"],
                    _fmt(c["value"], _digits(c["value"], 3)),
                    _fmt(c["limit"], _digits(c["limit"], 1)),
                    c["status"],
                ]
                for c in checks
            ],
        )
        print(
            f"  (demo runs use a {CHECK_SECONDS:,} s job re-check interval, the template's default; state "
            "transitions are the main execution's StateEntered events as aws-usage.json counts them, "
            "without the Distributed Map's child executions)"
        )
    loads = results.get("load_average_after", {})
    if loads:
        print(
            f"\nload average (1/5/15 min) after each part, {results['machine']['cpus']} CPUs: "
            + "; ".join(f"{name} {'/'.join(str(x) for x in value)}" for name, value in loads.items())
        )
    for name, error in results.get("errors", {}).items():
        print(f"\nERROR in {name}: {error.strip().splitlines()[-1][:300]}")
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help=f"skip the {BIG_ROWS:,}-row demo")
    parser.add_argument("--demo-child", nargs=2, metavar=("CSV", "WORKERS"), help=argparse.SUPPRESS)
    parser.add_argument("--demo-backend", default="ground-truth", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.demo_child:
        return demo_child(args.demo_child[0], int(args.demo_child[1]), args.json, args.demo_backend)

    import gen

    started = time.perf_counter()
    results: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": list(os.getloadavg()),
        },
        "components": {},
        "cold_start": None,
        "demos": [],
        "checks": [],
        "errors": {},
        "load_average_after": {},
    }

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {message}", file=sys.stderr, flush=True)

    def loaded(name: str) -> None:  # the machine is shared: keep the load next to each measurement
        results["load_average_after"][name] = [round(x, 1) for x in os.getloadavg()]

    for name in COMPONENTS:
        say(f"component: {name}")
        try:
            results["components"][name] = run_component(name)
        except Exception as exc:
            results["errors"][name] = f"{exc}\n{traceback.format_exc()}"
        loaded(name)
    say("cold start")
    try:
        results["cold_start"] = run_component("coldstart")
    except Exception as exc:
        results["errors"]["coldstart"] = f"{exc}\n{traceback.format_exc()}"
    loaded("coldstart")

    import bench_batching

    results["batching"] = []
    for size in BATCHING_ROWS if not args.quick else BATCHING_ROWS[:1]:
        say(f"make_batches: {size:,} rows")
        try:
            results["batching"].append(bench_batching.run_in_child(size))
        except Exception as exc:
            results["errors"][f"batching {size}"] = f"{exc}\n{traceback.format_exc()}"
        loaded(f"batching {size}")

    # issue #14: the sampling policy against synthetic populations with known truth (bench_sampling.py)
    say("sampling simulation")
    try:
        populations = SAMPLING_POPULATIONS if not args.quick else SAMPLING_POPULATIONS_QUICK
        results["sampling"] = _child([str(BENCH / "bench_sampling.py"), "--populations", str(populations)], 3600)
        results["checks"].extend(sampling_checks(results["sampling"]))
    except Exception as exc:
        results["errors"]["sampling"] = f"{exc}\n{traceback.format_exc()}"
    loaded("sampling")

    runs: list[tuple[str, pathlib.Path | None, int, str]] = [
        ("sample.csv, 1 reviewer", None, 1, "ground-truth"),
        ("sample.csv, 3 reviewers", None, 3, "ground-truth"),
        ("sample.csv, 3 reviewers, self-hosted", None, 3, "self-hosted"),
    ]
    if not args.quick:
        runs.append((f"{BIG_ROWS:,} rows, 3 reviewers", gen.generate(BIG_ROWS, SEED), 3, "ground-truth"))
    for name, csv_path, workers, backend in runs:
        say(f"demo: {name}")
        entry: dict[str, Any] = {
            "name": name,
            "workers": workers,
            "backend": backend,
            "csv": str(csv_path.relative_to(ROOT)) if csv_path else "sample.csv (embedded)",
        }
        try:
            demo = run_demo_in_child(csv_path, workers, backend)
            entry.update(
                {
                    k: demo[k]
                    for k in (
                        "status",
                        "error",
                        "cause",
                        "failed_state",
                        "seconds",
                        "wall_seconds_with_setup",
                        "cpu_seconds",
                        "max_rss_mb",
                        "check_seconds",
                        "state_seconds",
                        "by_function",
                        "attribution_matches_usage",
                        "usage",
                    )
                }
            )
            entry["analysis"] = analyse_demo(name, demo)
            results["checks"].extend(entry["analysis"]["checks"])
            if backend == "self-hosted":
                entry["screens"], entry["sweeps"] = demo["screens"], demo["sweeps"]
                entry["self_hosted"] = analyse_self_hosted(name, demo)
                results["checks"].extend(entry["self_hosted"]["checks"])
            if demo["status"] != "SUCCEEDED":
                results["errors"][f"demo: {name}"] = f"{demo['status']}: {demo['error']}: {demo['cause']}"
        except Exception as exc:
            entry["status"] = "ERROR"
            results["errors"][f"demo: {name}"] = f"{exc}\n{traceback.format_exc()}"
        results["demos"].append(entry)
        loaded(f"demo: {name}")

    results["suite_seconds"] = round(time.perf_counter() - started, 1)
    targets = [
        {"target": "ingest rows/s", "status": _pf(results["components"].get("ingest", {}).get("meets_target"))},
        {
            "target": "consolidation images/s",
            "status": _pf(results["components"].get("consolidation", {}).get("meets_target")),
        },
        {"target": "analysis verdicts/s", "status": _pf(results["components"].get("analysis", {}).get("meets_target"))},
        {"target": "handler import over boto3", "status": _pf((results["cold_start"] or {}).get("meets_target"))},
        {
            "target": "review API first request over boto3 + clients",
            "status": _pf(((results["cold_start"] or {}).get("review_api_first_request") or {}).get("meets_target")),
        },
    ]
    hosted = next((d["self_hosted"] for d in results["demos"] if d.get("self_hosted")), None)
    if hosted:
        targets.append(
            {
                "target": f"self-hosted review: < ${MAX_SELF_HOSTED_USD_PER_1000_IMAGES} per 1,000 images",
                "status": hosted["checks"][0]["status"],
                "value": hosted["review_usd_per_1000_images"],
            }
        )
    results["summary"] = {
        "throughput_targets": targets,
        "scale_checks": Counter(c["status"] for c in results["checks"]),
        "errors": sorted(results["errors"]),
    }
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print_results(results)
    print(f"suite finished in {results['suite_seconds']:.0f} s")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
