"""``bulkqa demo``: the whole workflow on one machine, offline.

Uploads the CSV to the local stack's bucket (which starts the real state machine through S3 ->
EventBridge), lets the local Ground Truth's reviewers answer, and copies the run's reports to --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bulkqa import settings
from bulkqa.escaping import visible
from bulkqa.report_types import Report, Summary
from bulkqa.reports import REPORT_FILES
from bulkqa.reports.fmt import class_label

from .cloud import TEMPLATE, LocalCloud
from .faults import Faults
from .reviewers import Reviewers, ScriptedReviewers, SimulatedReviewers

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef

    from .review_client import ReviewerCrew


RUN_FILES = (*REPORT_FILES, "rejected.csv")  # the files a run writes to --out (docs/interfaces.md)

#: The flags that set a stack parameter: checked with the functions' own rule (bulkqa.settings) before
#: anything starts, so that a bad value is refused with the flag's name instead of failing a step.
PARAMETER_FLAGS = {
    "--min-confidence": "MinConfidence",
    "--batch-size": "BatchSize",
    "--workers": "WorkersPerObject",
    "--max-fp-ratio": "MaxFpRatio",
    "--max-objects-per-job": "MaxObjectsPerJob",
}
#: What to do after a failed run, by the workflow's error name.
ADVICE = {
    "InvalidLabelFile": "fix the CSV as the message says and run again",
    "NoRowsAccepted": "every row was rejected or below the minimum confidence: see rejected.csv, fix the file "
    "or lower --min-confidence, and run again",
    "LabelingJobFailed": "the labeling job failed for the reason above; fix its cause and run again",
    "SettingsError": "a stack parameter is invalid: fix the flag named above and run again",
}
#: ``--backend`` -> the stack's ``ReviewBackend`` parameter
BACKENDS = {"ground-truth": "GroundTruth", "self-hosted": "SelfHosted"}
DEFAULT_ADVICE = "see function-logs.jsonl in the output folder for the functions' logs, then run again"


def _flag_dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, help="the labels file to QA (default: the embedded sample.csv)")
    parser.add_argument("--out", type=Path, help="where the run's files are written (default out/<run id>/)")
    parser.add_argument("--min-confidence", default="0", help="rows below X (0-100) are counted, not reviewed")
    parser.add_argument("--batch-size", default="25", help="images per task (1-100, default 25)")
    parser.add_argument("--workers", default="1", help="simulated reviewers per task (1-9, default 1)")
    parser.add_argument("--error-rate", default="0.02", help="chance a simulated reviewer answers wrongly (0-1)")
    parser.add_argument("--answers", type=Path, help="scripted reviewers: CSV image,label,worker,verdict")
    parser.add_argument("--max-fp-ratio", default="0.1", help="false positives per true positive (0-100, default 0.1)")
    parser.add_argument("--faults", action="store_true", help="inject duplicate/lost events and transient errors")
    parser.add_argument(
        "--backend",
        default="ground-truth",
        choices=BACKENDS,
        help="the reviewer backend: ground-truth (default) or self-hosted (reviewers sign in and answer over HTTP)",
    )
    parser.add_argument("--seed", default="0", help="seed for the simulated reviewers (a whole number)")
    parser.add_argument("--max-objects-per-job", default="100000", help="tasks per labeling job (1-100000)")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress lines; on failure only the error and what to do"
    )
    parser.add_argument(
        "--timeout",
        default=str(4 * 3600),
        help="give up after this many seconds (default 4 h; 100,000 rows take about 6 min locally)",
    )


def flag_problems(args: argparse.Namespace) -> list[str]:
    """Every flag of ``bulkqa demo`` that is refused, as ``--flag VALUE is ...: must be ...``; [] if all are fine."""
    problems = []
    for flag, parameter in PARAMETER_FLAGS.items():
        raw = str(getattr(args, _flag_dest(flag)))
        reason = settings.BY_PARAMETER[parameter].problem(raw)
        if reason:
            problems.append(f"{flag} {raw} {reason}")

    def number(flag: str, low: float, high: float, rule: str) -> None:
        raw = str(getattr(args, _flag_dest(flag)))
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            problems.append(f"{flag} {raw} is not accepted: {rule}")

    number("--error-rate", 0.0, 1.0, "must be a number from 0 to 1 (a probability)")
    number("--timeout", 1.0, float("inf"), "must be a number of seconds, at least 1")
    try:
        int(str(args.seed))
    except ValueError:
        problems.append(f"--seed {args.seed} is not accepted: must be a whole number")
    if args.answers and not args.answers.exists():
        problems.append(f"--answers {args.answers} does not exist")
    if args.csv and not args.csv.exists():
        problems.append(f"--csv {args.csv} does not exist")
    return problems


def _parameter_text(value: object) -> str:
    """A parameter value as the template receives it: plain decimal notation (0.00001, not 1e-05)."""
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return text
    return str(value)


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
    backend: str = "ground-truth",
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
        name: _parameter_text(value)
        for name, value in {
            "BatchSize": batch_size,
            "WorkersPerObject": workers,
            "MinConfidence": min_confidence,
            "MaxFpRatio": max_fp_ratio,
            "MaxObjectsPerJob": max_objects_per_job,
            "CompletionCheckSeconds": check_seconds,
            "ReviewBackend": BACKENDS[backend],
        }.items()
    }
    if backend == "self-hosted":
        parameters["WorkteamArn"] = ""  # no work team: reviewers are the stack's own Cognito users
    problems = settings.parameter_problems(parameters)
    if problems:  # refused before the local stack starts, as CloudFormation would refuse the deployment
        raise ValueError("; ".join(f"{name}={parameters[name]} {reason}" for name, reason in problems.items()))

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    import tempfile

    handle, log_name = tempfile.mkstemp(prefix="bulkqa-functions-", suffix=".jsonl")
    os.close(handle)  # the local cloud opens it by name
    log_file = Path(log_name)
    try:
        with (
            _local_cloud_logs_quiet(),
            LocalCloud(
                parameters,
                faults=faults,
                reviewers=reviewers,
                progress=say,
                log_file=log_file,
                template=template or TEMPLATE,
            ) as cloud,
            ExitStack() as stack,
        ):
            task_failures: list[tuple[str, str]] = []
            cloud.session.events.register("before-call.sfn.SendTaskFailure", _record_task_failure(task_failures))
            if cloud_hook:
                cloud_hook(cloud)
            crowd = (
                stack.enter_context(_self_hosted_crowd(cloud, reviewers, workers, seed, say))
                if (backend == "self-hosted")
                else None
            )
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
            if crowd is not None:
                crew_report = crowd.stop()
                if crew_report.errors:
                    say("reviewer errors: " + "; ".join(crew_report.errors[:5]))
            cloud.wait_for_background(timeout=10)
            main = [
                e for e in executions if json.loads(e.get("output") or "{}").get("duplicate") is not True
            ] or executions
            execution = main[0]
            cloud.usage.state_transitions = sum(
                sum(1 for ev in cloud.history(e["executionArn"]) if ev["type"].endswith("StateEntered"))
                for e in executions
            )
            result_out = json.loads(execution.get("output") or "{}")
            run_id = result_out.get("run_id")
            status = execution["status"]
            failure = _failure(cloud, execution, task_failures) if status != "SUCCEEDED" else (None, None, None)
            if not run_id:
                run_id = _run_id_from_history(cloud, execution["executionArn"])
            report: Report | None = None
            out_dir = None
            if run_id:
                out_dir = out or Path("out") / run_id
                copy_run_files(cloud, run_id, out_dir)
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
    finally:
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


#: share of screens a simulated reviewer skips (releases) the first time it is given them, to take later
ABANDON_RATE = 0.1


@contextmanager
def _self_hosted_crowd(
    cloud: LocalCloud, reviewers: Reviewers, workers: int, seed: int, say: Callable[[str], None]
) -> Iterator[ReviewerCrew]:
    """The local review server and ``workers`` reviewer accounts, each an HTTP client in its own thread.

    Reviewer ``n`` answers as the local Ground Truth's worker ``n`` would (the same worker id), so the
    two backends give the same report for the same seed and reviewers.
    """
    from .review_client import ReviewerCrew
    from .review_server import ReviewServer
    from .serve import create_accounts

    with ReviewServer(cloud) as server:
        people, _admin = create_accounts(cloud, workers)
        cloud.usage.reviewers = len(people)
        accounts = {
            worker: (person["username"], person["password"])
            for worker, person in zip(reviewers.worker_ids(workers), people, strict=True)
        }
        crew = ReviewerCrew(
            server.url,
            server.cognito_endpoint,
            cloud.stack.refs["ReviewerPoolClient"],
            accounts,
            reviewers,
            abandon_rate=ABANDON_RATE,
            seed=seed,
        )
        say(f"review page: {server.url} ({workers} simulated reviewer(s) sign in and answer over HTTP)")
        with crew:
            yield crew


def copy_run_files(cloud: LocalCloud, run_id: str, out: Path) -> list[Path]:
    """The run's files (``RUN_FILES``: the reports, else the run's own copy) from the bucket to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    s3 = cloud.client("s3")
    written = []
    for filename in RUN_FILES:
        for key in (f"reports/{run_id}/{filename}", f"runs/{run_id}/{filename}"):
            try:
                body = s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                continue
            (out / filename).write_bytes(body)
            written.append(out / filename)
            break
    return written


def _progress_line(cloud: LocalCloud) -> str:
    if cloud.stack.refs.get("ReviewTable"):
        from .serve import _progress

        return _progress(cloud)
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


def failure_message(result: DemoResult, *, quiet: bool = False) -> str:
    """What a failed run prints: the error and its cause first, then what to do (and, unless quiet, where)."""
    error = result.error or result.status
    cause = visible(result.cause) if result.cause else "no cause was given"
    lines = [f"error: {error}: {cause}"]
    if not quiet:
        lines.append(f"The workflow {result.status.lower()} in the state {result.failed_state!r}.")
    advice = ADVICE.get(error, DEFAULT_ADVICE)
    lines.append(f"What to do: {advice}.")
    if not quiet and result.out_dir:
        if (result.out_dir / "rejected.csv").exists():
            lines.append(f"Rejected rows and reasons: {result.out_dir / 'rejected.csv'}")
        lines.append(f"The functions' logs: {result.out_dir / 'function-logs.jsonl'}")
    return "\n".join(lines)


@contextmanager
def _local_cloud_logs_quiet() -> Iterator[None]:
    """Keep the local cloud's own log lines (moto's state machine interpreter logs every failure with its
    internals) off the terminal: the run's outcome is reported by the CLI, the functions' logs are in
    function-logs.jsonl."""
    logger = logging.getLogger("moto")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    logger.handlers = [logging.NullHandler()]
    try:
        yield
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers = saved[2]


def _record_task_failure(into: list[tuple[str, str]]) -> Callable[..., None]:
    """A botocore hook keeping each SendTaskFailure's (error, cause).

    The local Step Functions (moto 5.2.5) drops a task failure's cause from the execution's history
    (its TaskFailed event says "cause": null), so the cause is taken from the request that sent it.
    """

    def record(params: dict[str, Any], **_: object) -> None:
        try:
            body = json.loads(params.get("body") or b"{}")
        except (TypeError, ValueError):
            return
        if isinstance(body, dict) and body.get("error"):
            into.append((str(body["error"]), str(body.get("cause") or "")))

    return record


def _failure(
    cloud: LocalCloud,
    execution: DescribeExecutionOutputTypeDef,
    task_failures: list[tuple[str, str]] | None = None,
) -> tuple[str | None, str | None, str | None]:
    """(error, cause, failed state) of a failed execution.

    The cause is the first one the history gives for the execution's error (the failing step's own
    event: TaskFailed, LambdaFunctionFailed, ExecutionFailed...), else the cause a SendTaskFailure
    carried for that error; a Lambda error's JSON cause is reduced to its message.
    """
    error, cause = execution.get("error"), execution.get("cause")
    failed_state = None
    causes: list[tuple[str | None, str | None]] = []
    for event in cloud.history(execution["executionArn"]):
        if "stateEnteredEventDetails" in event:
            failed_state = event["stateEnteredEventDetails"]["name"]
        for key, details in event.items():
            if key.endswith("FailedEventDetails") and isinstance(details, dict):
                causes.append((details.get("error"), details.get("cause")))
                if key == "executionFailedEventDetails":
                    error = details.get("error") or error
    if not cause:
        found = [c for e, c in causes if c and (e == error or error is None)]
        found += [c for e, c in task_failures or [] if c and (e == error or error is None)]
        cause = found[0] if found else None
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

    def shown(label: str) -> str:  # a long label is cut with an ellipsis: never a summary row's name
        return label if len(label) <= 17 else label[:16] + "\u2026"

    rows: list[tuple[str, Summary]] = [(shown(class_label(c["label"])), c) for c in classes]
    rows.append(("TOTALS", report["totals"]))
    for label, row in rows:
        line = (
            f"{label:<18}{row['total']:>7}{row['confirmed']:>6}"
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
    problems = flag_problems(args)
    if problems:  # every flag is checked before anything starts
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        result = run_demo(
            csv_path=args.csv,
            out=args.out,
            min_confidence=float(args.min_confidence),
            batch_size=int(args.batch_size),
            workers=int(args.workers),
            error_rate=float(args.error_rate),
            answers=args.answers,
            max_fp_ratio=float(args.max_fp_ratio),
            faults=Faults.all() if args.faults else None,
            seed=int(args.seed),
            max_objects_per_job=int(args.max_objects_per_job),
            quiet=args.quiet,
            timeout=float(args.timeout),
            backend=args.backend,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result.status != "SUCCEEDED":
        print(("" if args.quiet else "\n") + failure_message(result, quiet=args.quiet), file=sys.stderr)
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
