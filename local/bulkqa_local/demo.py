"""``bulkqa demo``: the whole workflow on one machine, offline.

Uploads the CSV to the local stack's bucket (which starts the real state machine through S3 ->
EventBridge), lets the local Ground Truth's reviewers answer, and copies the run's reports to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bulkqa.report_types import Report, Summary
from bulkqa.reports import REPORT_FILES

from .cloud import TEMPLATE, LocalCloud
from .faults import Faults
from .reviewers import Reviewers, ScriptedReviewers, SimulatedReviewers

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef

RUN_FILES = (*REPORT_FILES, "rejected.csv")  # the files a run writes to --out (docs/interfaces.md)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, help="the labels file to QA (default: the embedded sample.csv)")
    parser.add_argument("--out", type=Path, help="where the run's files are written (default out/<run id>/)")
    parser.add_argument(
        "--min-confidence", type=float, default=0.0, help="rows below X (0-100) are counted, not reviewed"
    )
    parser.add_argument("--batch-size", type=int, default=25, help="images per task (default 25)")
    parser.add_argument("--workers", type=int, default=1, help="simulated reviewers per task (default 1)")
    parser.add_argument("--error-rate", type=float, default=0.02, help="chance a simulated reviewer answers wrongly")
    parser.add_argument("--answers", type=Path, help="scripted reviewers: CSV image,label,worker,verdict")
    parser.add_argument(
        "--max-fp-ratio", type=float, default=0.1, help="false positives per true positive (default 0.1)"
    )
    parser.add_argument("--faults", action="store_true", help="inject duplicate/lost events and transient errors")
    parser.add_argument("--seed", type=int, default=0, help="seed for the simulated reviewers")
    parser.add_argument("--max-objects-per-job", type=int, default=100_000, help="tasks per labeling job")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--timeout",
        type=float,
        default=4 * 3600,
        help="give up after this many seconds (default 4 h; 100,000 rows take about 6 min locally)",
    )


@dataclass
class DemoResult:
    status: str
    run_id: str | None
    out_dir: Path | None
    report: Report | None
    #: aws-usage.json (bulkqa_local.usage.Usage.report)
    usage: dict[str, Any]
    seconds: float
    error: str | None = None
    cause: str | None = None
    failed_state: str | None = None
    executions: list[DescribeExecutionOutputTypeDef] = field(default_factory=list)


def _sample() -> bytes:
    return resources.files("bulkqa_local").joinpath("data/sample.csv").read_bytes()


def run_demo(
    *,
    csv_path: Path | None = None,
    out: Path | None = None,
    min_confidence: float = 0.0,
    batch_size: int = 25,
    workers: int = 1,
    error_rate: float = 0.02,
    answers: Path | None = None,
    max_fp_ratio: float = 0.1,
    faults: Faults | None = None,
    seed: int = 0,
    max_objects_per_job: int = 100_000,
    quiet: bool = True,
    cloud_hook: Callable[[LocalCloud], object] | None = None,
    check_seconds: int = 10,
    timeout: float = 4 * 3600,
    template: Path | None = None,
) -> DemoResult:
    started = time.monotonic()
    data = csv_path.read_bytes() if csv_path else _sample()
    name = csv_path.name if csv_path else "sample.csv"
    reviewers: Reviewers
    if answers:
        reviewers = ScriptedReviewers.from_csv(answers)
        workers = len(reviewers.workers)
    else:
        reviewers = SimulatedReviewers(error_rate=error_rate, seed=seed)
    parameters = {
        "BatchSize": batch_size,
        "WorkersPerObject": workers,
        "MinConfidence": min_confidence,
        "MaxFpRatio": max_fp_ratio,
        "MaxObjectsPerJob": max_objects_per_job,
        "CompletionCheckSeconds": check_seconds,
    }

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    import tempfile

    log_file = Path(tempfile.mkstemp(prefix="bulkqa-functions-", suffix=".jsonl")[1])
    with LocalCloud(
        parameters,
        faults=faults,
        reviewers=reviewers,
        progress=say,
        log_file=log_file,
        template=template or TEMPLATE,
    ) as cloud:
        if cloud_hook:
            cloud_hook(cloud)
        say(f"local stack ready: bucket {cloud.bucket}; uploading {name} to incoming/")
        cloud.upload(f"incoming/{name if name.lower().endswith('.csv') else name + '.csv'}", data)
        last = [""]

        def poll() -> None:
            if quiet:
                return
            line = _progress_line(cloud)
            if line and line != last[0]:
                say(line)
                last[0] = line

        expected = 2 if cloud.faults.on("duplicate-s3-events") else 1
        executions = cloud.wait_for_executions(expected, timeout=timeout, on_poll=poll)
        cloud.wait_for_background(timeout=10)
        main = [e for e in executions if json.loads(e.get("output") or "{}").get("duplicate") is not True] or executions
        execution = main[0]
        cloud.usage.state_transitions = sum(
            sum(1 for ev in cloud.history(e["executionArn"]) if ev["type"].endswith("StateEntered")) for e in executions
        )
        result_out = json.loads(execution.get("output") or "{}")
        run_id = result_out.get("run_id")
        status = execution["status"]
        failure = _failure(cloud, execution) if status != "SUCCEEDED" else (None, None, None)
        if not run_id:
            run_id = _run_id_from_history(cloud, execution["executionArn"])
        report: Report | None = None
        out_dir = None
        if run_id:
            out_dir = out or Path("out") / run_id
            out_dir.mkdir(parents=True, exist_ok=True)
            s3 = cloud.client("s3")
            for filename in RUN_FILES:
                for key in (f"reports/{run_id}/{filename}", f"runs/{run_id}/{filename}"):
                    try:
                        body = s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read()
                    except s3.exceptions.NoSuchKey:
                        continue
                    (out_dir / filename).write_bytes(body)
                    break
            images = 0
            if (out_dir / "report.json").exists():
                report = _read_report(out_dir / "report.json")
                images = report["rows"]["accepted"]
            usage = cloud.usage.report(images)
            usage["faults_injected"] = dict(cloud.faults.injected)
            (out_dir / "aws-usage.json").write_text(json.dumps(usage, indent=2) + "\n", encoding="utf-8")
            cloud.wait_for_background(timeout=5)
            (out_dir / "function-logs.jsonl").write_bytes(log_file.read_bytes())
        else:
            usage = cloud.usage.report(0)
        log_file.unlink(missing_ok=True)
        return DemoResult(
            status,
            run_id,
            out_dir,
            report,
            usage,
            time.monotonic() - started,
            error=failure[0],
            cause=failure[1],
            failed_state=failure[2],
            executions=executions,
        )


def _progress_line(cloud: LocalCloud) -> str:
    executions = [e for e in cloud.executions() if e["status"] == "RUNNING"]
    if not executions:
        return ""
    history = cloud.history(executions[0]["executionArn"])
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    state = entered[-1] if entered else "starting"
    gt = cloud.ground_truth
    if gt.tasks_total and state.startswith(("Label", "Start the labeling")):
        return f"  [{state}] tasks labelled {gt.tasks_done}/{gt.tasks_total}"
    return f"  [{state}]"


def _run_id_from_history(cloud: LocalCloud, arn: str) -> str | None:
    for event in cloud.history(arn):
        details = event.get("taskSucceededEventDetails") or event.get("lambdaFunctionSucceededEventDetails")
        if details and "run_id" in (details.get("output") or ""):
            try:
                payload = json.loads(details["output"])
            except json.JSONDecodeError:
                continue
            run_id = payload.get("Payload", payload).get("run_id")
            if run_id:
                return str(run_id)
    return None


def _read_report(path: Path) -> Report:
    """report.json as the analysis wrote it (bulkqa.reports.write_reports: a Report)."""
    return cast("Report", json.loads(path.read_text(encoding="utf-8")))


def _failure(cloud: LocalCloud, execution: DescribeExecutionOutputTypeDef) -> tuple[str | None, str | None, str | None]:
    error, cause = execution.get("error"), execution.get("cause")
    failed_state = None
    for event in cloud.history(execution["executionArn"]):
        if "stateEnteredEventDetails" in event:
            failed_state = event["stateEnteredEventDetails"]["name"]
        details = event.get("executionFailedEventDetails")
        if details:
            error, cause = details.get("error", error), details.get("cause", cause)
    if cause:
        try:
            parsed = json.loads(cause)
            if isinstance(parsed, dict) and "errorMessage" in parsed:
                cause = parsed["errorMessage"]
        except json.JSONDecodeError:
            pass
    return error, cause, failed_state


def print_table(report: Report) -> None:
    """The blog's table in the terminal (bucket columns without any reviewed item are left out)."""
    buckets = report["buckets"]
    classes = report["classes"]
    used = [n for n in range(len(buckets)) if any(c["buckets"][n]["total"] for c in classes)]
    header = f"{'Label':<18}{'Total':>7}{'Conf':>6}{'Disc':>6}{'Split':>6}{'%Correct':>10}"
    for n in used:
        low, high = buckets[n]
        header += f"{f'{low:g}-{high:g}':>10}"
    print(header)
    print("-" * len(header))

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}%"

    rows: list[tuple[str, Summary]] = [(c["label"], c) for c in classes]
    rows.append(("TOTALS", report["totals"]))
    for label, row in rows:
        line = (
            f"{label[:17]:<18}{row['total']:>7}{row['confirmed']:>6}"
            f"{row['disconfirmed']:>6}{row['split']:>6}{pct(row['pct_correct']):>10}"
        )
        for n in used:
            line += f"{pct(row['buckets'][n]['pct_correct']):>10}"
        print(line)
    average = report["class_average"]
    line = f"{'Class average':<18}{'':>25}{pct(average['pct_correct']):>10}"
    for n in used:
        line += f"{pct(average['buckets'][n]['pct_correct']):>10}"
    print(line)


def run(args: argparse.Namespace) -> int:
    if args.answers and not args.answers.exists():
        print(f"error: --answers {args.answers} does not exist", file=sys.stderr)
        return 2
    if args.csv and not args.csv.exists():
        print(f"error: --csv {args.csv} does not exist", file=sys.stderr)
        return 2
    if not 1 <= args.workers <= 9:
        print("error: --workers must be 1..9 (Ground Truth's limit)", file=sys.stderr)
        return 2
    try:
        result = run_demo(
            csv_path=args.csv,
            out=args.out,
            min_confidence=args.min_confidence,
            batch_size=args.batch_size,
            workers=args.workers,
            error_rate=args.error_rate,
            answers=args.answers,
            max_fp_ratio=args.max_fp_ratio,
            faults=Faults.all() if args.faults else None,
            seed=args.seed,
            max_objects_per_job=args.max_objects_per_job,
            quiet=args.quiet,
            timeout=args.timeout,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result.status != "SUCCEEDED":
        print(
            f"\nThe workflow {result.status.lower()} in state {result.failed_state!r}: {result.error}: {result.cause}",
            file=sys.stderr,
        )
        if result.out_dir and (result.out_dir / "rejected.csv").exists():
            print(f"Rejected rows and reasons: {result.out_dir / 'rejected.csv'}", file=sys.stderr)
        return 1
    if result.report is None or result.out_dir is None:
        print("error: the workflow succeeded but wrote no report.json; see function-logs.jsonl", file=sys.stderr)
        return 1
    print()
    print_table(result.report)
    rows = result.report["rows"]
    print(
        f"\nRows: {rows['total']} total = {rows['accepted']} accepted + {rows['rejected']} rejected + "
        f"{rows['below_min_confidence']} below the minimum confidence"
    )
    cost = result.usage["estimated_cost_usd"]
    per_1000 = cost.get("per_1000_images")
    print(
        f"Estimated AWS cost of this run: ${cost['total']:.4f}"
        + (f" (${per_1000:.4f} per 1,000 images, Ground Truth fee included)" if per_1000 else "")
    )
    print(f"Finished in {result.seconds:.1f} s. Files in {result.out_dir}/:")
    for path in sorted(result.out_dir.iterdir()):
        print(f"  {path}")
    return 0
