"""``bulkqa serve``: the local stack with the self-hosted review backend, for people to review on 127.0.0.1.

Starts the local cloud with ``ReviewBackend=SelfHosted``, the local API Gateway / Cognito / S3 server
(:mod:`bulkqa_local.review_server`), uploads the CSV (which starts the workflow), creates the reviewer
accounts and one admin with temporary passwords, prints the page's URL and the credentials and writes them
to ``<out>/serve.json``; then waits until the workflow ends (the reviewers are done) or Ctrl-C (which
stops the open jobs through the admin route, so the workflow writes the partial report), writes the run's
files to ``--out`` and exits 0.
"""

from __future__ import annotations

import argparse
import json
import secrets
import string
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from .demo import (
    _failure,
    _local_cloud_logs_quiet,
    _parameter_text,
    _read_report,
    _run_id_from_history,
    _sample,
    copy_run_files,
    print_table,
)

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.type_defs import AttributeTypeTypeDef

    from bulkqa.report_types import Report

    from .cloud import LocalCloud
    from .review_server import ReviewServer

DEFAULT_OUT = Path("out") / "serve"
#: the sweeper runs every 5 minutes in the stack (ScheduleV2); locally every minute of real time
SWEEP_SECONDS = 60.0


class Account(TypedDict):
    username: str
    password: str


class ServeInfo(TypedDict):
    """serve.json (docs/interfaces.md): where the page is and who may sign in (temporary passwords)."""

    url: str
    region: str
    userPoolId: str
    clientId: str
    cognitoEndpoint: str
    reviewers: list[Account]
    admin: Account


@dataclass
class ServeResult:
    status: str  # the execution's status: SUCCEEDED, FAILED...
    run_id: str | None
    out_dir: Path
    stopped: bool  # Ctrl-C (or stop) ended the jobs early
    report: Report | None = None
    error: str | None = None
    cause: str | None = None
    files: list[Path] = field(default_factory=list)


class ServeProblem(Exception):
    """A flag of ``bulkqa serve`` is refused: the message names it and what to give instead."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, help="the labels file to review (default: the embedded sample.csv)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: any free port)")
    parser.add_argument("--reviewers", type=int, default=2, help="reviewer accounts to create (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="distinct reviewers per screen (default 1)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"serve.json and the run's files (default {DEFAULT_OUT})"
    )
    parser.add_argument("--batch-size", type=int, default=25, help="images per screen (default 25)")
    parser.add_argument("--quiet", action="store_true", help="print only the URL, the credentials and the outcome")


def problems(args: argparse.Namespace) -> list[str]:
    found = []
    if args.csv and not args.csv.exists():
        found.append(f"--csv {args.csv} does not exist: give the path of a labels CSV")
    if not 0 <= args.port <= 65535:
        found.append(f"--port {args.port} is not a port: give 1-65535, or 0 for any free port")
    if args.reviewers < 1:
        found.append(f"--reviewers {args.reviewers}: at least one reviewer account is needed")
    if not 1 <= args.workers <= 9:
        found.append(f"--workers {args.workers}: give 1-9 reviewers per screen")
    elif args.workers > args.reviewers:
        found.append(
            f"--workers {args.workers} needs at least as many reviewers (--reviewers {args.reviewers}): each screen "
            "is reviewed by that many different people"
        )
    return found


def _password() -> str:
    """A temporary password meeting the pool's policy (12+ characters, upper, lower, digit)."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(14))
    return f"Tmp-{body}9a"


def create_user(cloud: LocalCloud, username: str, groups: tuple[str, ...] = ("reviewers",)) -> Account:
    """An account of the stack's reviewer pool, as ``aws cognito-idp admin-create-user`` makes it: a temporary
    password (the first sign-in sets a new one), an email-style username, in ``groups``."""
    pool = cloud.stack.refs["ReviewerPool"]
    idp = _cognito(cloud)
    password = _password()
    attributes: list[AttributeTypeTypeDef] = [
        {"Name": "email", "Value": username},
        {"Name": "email_verified", "Value": "true"},
    ]
    idp.admin_create_user(
        UserPoolId=pool,
        Username=username,
        TemporaryPassword=password,
        MessageAction="SUPPRESS",
        UserAttributes=attributes if "@" in username else [],
    )
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
    return {"username": username, "password": password}


def create_accounts(cloud: LocalCloud, reviewers: int) -> tuple[list[Account], Account]:
    """N reviewers (group reviewers) and one admin (both groups), with temporary passwords."""
    people = [create_user(cloud, f"reviewer{n}@example.com") for n in range(1, reviewers + 1)]
    return people, create_user(cloud, "admin@example.com", ("reviewers", "admins"))


def _cognito(cloud: LocalCloud) -> CognitoIdentityProviderClient:
    client: CognitoIdentityProviderClient = cloud.admin.client("cognito-idp", region_name=cloud.stack.region)
    return client


def serve(
    *,
    csv_path: Path | None = None,
    port: int = 0,
    reviewers: int = 2,
    workers: int = 1,
    out: Path = DEFAULT_OUT,
    batch_size: int = 25,
    say: Callable[[str], None] | None = None,
    on_ready: Callable[[ServeInfo], None] | None = None,
    stop: threading.Event | None = None,
    timeout: float = 7 * 24 * 3600,
    parameters: dict[str, object] | None = None,
) -> ServeResult:
    """Run the local self-hosted stack until the workflow ends; ``stop`` set (or Ctrl-C) stops the open jobs.

    ``on_ready`` gets serve.json's content once the page can be used (tests drive reviewers from it).
    """
    import tempfile

    from .cloud import LocalCloud
    from .review_server import ReviewServer

    tell = say or (lambda message: None)
    data = csv_path.read_bytes() if csv_path else _sample()
    name = csv_path.name if csv_path else "sample.csv"
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve.json").unlink(missing_ok=True)  # a previous run's accounts are gone with its local stack
    stack_parameters = {
        key: _parameter_text(value)
        for key, value in {
            "ReviewBackend": "SelfHosted",
            "WorkteamArn": "",
            "WorkersPerObject": workers,
            "BatchSize": batch_size,
            "CompletionCheckSeconds": 10,
            **(parameters or {}),
        }.items()
    }
    log_file = Path(tempfile.mkstemp(prefix="bulkqa-functions-", suffix=".jsonl")[1])
    requests_log = (out / "requests.log").open("w", encoding="utf-8")

    def log_request(line: str) -> None:  # method, path, status: no token, no query string
        requests_log.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        requests_log.flush()

    try:
        with (
            _local_cloud_logs_quiet(),
            LocalCloud(stack_parameters, progress=tell, log_file=log_file) as cloud,
            ReviewServer(cloud, port=port, log=log_request) as server,
        ):
            people, admin = create_accounts(cloud, reviewers)
            info: ServeInfo = {
                "url": server.url,
                "region": cloud.stack.region,
                "userPoolId": cloud.stack.refs["ReviewerPool"],
                "clientId": cloud.stack.refs["ReviewerPoolClient"],
                "cognitoEndpoint": server.cognito_endpoint,
                "reviewers": people,
                "admin": admin,
            }
            partial = out / "serve.json.part"  # renamed into place: a reader never sees half a file
            partial.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
            partial.replace(out / "serve.json")
            key = f"incoming/{name if name.lower().endswith('.csv') else name + '.csv'}"
            cloud.upload(key, data)
            tell(f"uploaded {name} to the local bucket: the workflow starts")
            if on_ready:
                on_ready(info)
            stopped = _wait(cloud, server, admin, stop or threading.Event(), timeout, tell)
            return _collect(cloud, out, log_file, stopped, tell)
    finally:
        requests_log.close()
        log_file.unlink(missing_ok=True)


def _wait(
    cloud: LocalCloud,
    server: ReviewServer,
    admin: Account,
    stop: threading.Event,
    timeout: float,
    tell: Callable[[str], None],
) -> bool:
    """Wait for the workflow to end; on Ctrl-C or ``stop``, stop the open jobs and keep waiting. Stopped?"""
    deadline = time.monotonic() + timeout
    stopped = False
    last_line, last_sweep = "", time.monotonic()
    while time.monotonic() < deadline:
        try:
            executions = cloud.executions()
            if executions and all(e["status"] != "RUNNING" for e in executions):
                return stopped
            if stop.is_set() and not stopped:
                raise KeyboardInterrupt
            if time.monotonic() - last_sweep >= SWEEP_SECONDS:
                server.sweep()
                last_sweep = time.monotonic()
            line = _progress(cloud)
            if line and line != last_line:
                tell(line)
                last_line = line
            time.sleep(0.5)
        except KeyboardInterrupt:
            if stopped:  # a second Ctrl-C: leave without the report
                raise
            stopped = True
            tell("stopping the open jobs (admin route POST /api/jobs/{job}/stop); the partial report follows")
            _stop_jobs(cloud, server, admin, tell)
    raise TimeoutError(f"the workflow did not end within {timeout:.0f} s; press Ctrl-C to stop it earlier")


def _stop_jobs(cloud: LocalCloud, server: ReviewServer, admin: Account, tell: Callable[[str], None]) -> None:
    """Stop every open job through the API's admin route, signed in as the admin account.

    The admin's password is set anew first (serve is ending; the person may have changed it already).
    """
    from .review_client import ReviewApiError, ReviewerClient

    password = _password()
    _cognito(cloud).admin_set_user_password(
        UserPoolId=cloud.stack.refs["ReviewerPool"], Username=admin["username"], Password=password, Permanent=True
    )
    operator = ReviewerClient(
        server.url,
        admin["username"],
        password,
        server.cognito_endpoint,
        client_id=cloud.stack.refs["ReviewerPoolClient"],
        region=cloud.stack.region,
    )
    for job in operator.jobs():
        try:
            operator.stop(job["job"])
            tell(f"  stopped {job['job']}")
        except ReviewApiError as exc:
            tell(f"  {job['job']} was not stopped: {exc}")


def _progress(cloud: LocalCloud) -> str:
    """One line: the state the run is in and the review jobs' answered turns (from the review table)."""
    running = [e for e in cloud.executions() if e["status"] == "RUNNING"]
    if not running:
        return ""
    history = cloud.history(running[0]["executionArn"])
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    line = f"  [{entered[-1] if entered else 'starting'}]"
    table = cloud.stack.refs.get("ReviewTable")
    if table:
        jobs = []
        for page in cloud.client("dynamodb").get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                if item.get("sk", {}).get("S") != "META":
                    continue
                value = _numbers(item)
                slots = value.get("screens", 0) * max(1, value.get("workers", 1))
                jobs.append(f"{value.get('done', 0)}/{slots} answered")
        if jobs:
            line += " review: " + ", ".join(jobs)
    return line


def _numbers(item: dict[str, Any]) -> dict[str, int]:
    out = {}
    for key, value in item.items():
        if isinstance(value, dict) and "N" in value:
            try:
                out[key] = int(float(value["N"]))
            except ValueError:
                continue
    return out


def _collect(cloud: LocalCloud, out: Path, log_file: Path, stopped: bool, tell: Callable[[str], None]) -> ServeResult:
    """The run's files, as ``bulkqa demo`` writes them, copied from the bucket to ``out``."""
    cloud.wait_for_background(timeout=10)
    sfn = cloud.client("stepfunctions")
    executions = [sfn.describe_execution(executionArn=e["executionArn"]) for e in cloud.executions()]
    execution = executions[0]
    output = json.loads(execution.get("output") or "{}")
    run_id = output.get("run_id") or _run_id_from_history(cloud, execution["executionArn"])
    status = execution["status"]
    error, cause, _ = _failure(cloud, execution) if status != "SUCCEEDED" else (None, None, None)
    result = ServeResult(status, run_id, out, stopped, error=error, cause=cause)
    if run_id:
        result.files.extend(copy_run_files(cloud, run_id, out))
        if (out / "report.json").exists():
            result.report = _read_report(out / "report.json")
            usage = cloud.usage.report(result.report["rows"]["accepted"])
            (out / "aws-usage.json").write_text(json.dumps(usage, indent=2) + "\n", encoding="utf-8")
            result.files.append(out / "aws-usage.json")
    cloud.wait_for_background(timeout=5)
    (out / "function-logs.jsonl").write_bytes(log_file.read_bytes())
    return result


def run(args: argparse.Namespace) -> int:
    found = problems(args)
    if found:
        for problem in found:
            print(f"error: {problem}", file=sys.stderr)
        return 2

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    def ready(info: ServeInfo) -> None:
        print(f"\nReviewer page: {info['url']}")
        print("Accounts (temporary passwords: the first sign-in asks for a new one):")
        for person in info["reviewers"]:
            print(f"  reviewer  {person['username']}  {person['password']}")
        print(f"  admin     {info['admin']['username']}  {info['admin']['password']}")
        print(f"Written to {args.out / 'serve.json'}. Waiting for the reviewers; Ctrl-C stops the job.\n", flush=True)

    from .review_server import ReviewServerError

    try:
        result = serve(
            csv_path=args.csv,
            port=args.port,
            reviewers=args.reviewers,
            workers=args.workers,
            out=args.out,
            batch_size=args.batch_size,
            say=say,
            on_ready=ready,
        )
    except (ReviewServerError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted before the job could be stopped: no report was written", file=sys.stderr)
        return 130
    if result.report is not None:
        print()
        print_table(result.report)
    failed = result.status != "SUCCEEDED" and not (result.stopped and result.error == "LabelingJobStopped")
    if failed:
        print(
            f"The workflow ended {result.status}: {result.error}: {result.cause}\n"
            f"What to do: see {result.out_dir / 'function-logs.jsonl'} for the functions' logs.",
            file=sys.stderr,
        )
    elif result.stopped:
        print("The job was stopped: the report covers the screens reviewed until then.")
    print(f"\nFiles in {result.out_dir}/:")
    for path in sorted(result.out_dir.iterdir()):
        print(f"  {path}")
    return 1 if failed else 0
