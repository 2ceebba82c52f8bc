"""The local self-hosted stack for the review reliability and security tests: LocalCloud with
ReviewBackend=SelfHosted, the ReviewServer on loopback, reviewer accounts, table scans and the run's files."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkqa_local.cloud import LocalCloud
from bulkqa_local.review_client import ReviewerClient
from bulkqa_local.review_server import ReviewServer
from bulkqa_local.serve import Account, create_accounts, create_user

DATA = Path(__file__).resolve().parents[2] / "local" / "bulkqa_local" / "data"


def sample_csv(items: int) -> bytes:
    """A CSV of ``items`` distinct (image, label) rows taken from sample.csv, in order; when the sample has
    fewer, its rows come again under other file names (``copy<n>-<name>``)."""
    lines = (DATA / "sample.csv").read_text(encoding="utf-8-sig").splitlines()
    header, rows = lines[0], [line for line in lines[1:] if line.strip()]
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    copy = 0
    while len(out) < items:
        for row in rows:
            path, label, confidence = row.rsplit(",", 2)
            if copy:
                folder, _, name = path.rpartition("/")
                path = f"{folder}/copy{copy}-{name}" if folder else f"copy{copy}-{name}"
            if (path, label) in seen:
                continue
            seen.add((path, label))
            out.append(f"{path},{label},{confidence}")
            if len(out) == items:
                break
        copy += 1
    return ("\n".join([header, *out]) + "\n").encode("utf-8")


@dataclass
class Stack:
    cloud: LocalCloud
    server: ReviewServer
    reviewers: list[Account]
    admin: Account

    def sign_in(self, account: Account) -> ReviewerClient:
        return ReviewerClient(
            self.server.url,
            account["username"],
            account["password"],
            self.server.cognito_endpoint,
            client_id=self.cloud.stack.refs["ReviewerPoolClient"],
            region=self.cloud.stack.region,
        )

    def user(self, username: str, groups: tuple[str, ...]) -> Account:
        return create_user(self.cloud, username, groups)

    def scan(self, logical: str) -> list[dict[str, Any]]:
        """Every item of a stack table (the runner's own client, not counted), in a fixed order."""
        ddb = self.cloud.client("dynamodb")
        items: list[dict[str, Any]] = []
        for page in ddb.get_paginator("scan").paginate(TableName=self.cloud.stack.refs[logical], ConsistentRead=True):
            items.extend(page["Items"])
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {name: self.scan(name) for name in ("ReviewTable", "LabelsTable", "RunsTable")}

    def wait_for_job(self, client: ReviewerClient, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = client.jobs()
            if jobs:
                return str(jobs[0]["job"])
            time.sleep(0.2)
        raise AssertionError(f"no review job opened within {timeout:.0f} s")

    def report(self, run_id: str) -> dict[str, Any]:
        body = self.cloud.client("s3").get_object(Bucket=self.cloud.bucket, Key=f"reports/{run_id}/report.json")
        report: dict[str, Any] = json.loads(body["Body"].read())
        return report


@contextmanager
def self_hosted_stack(reviewers: int, log_file: Path | None = None, **parameters: object) -> Iterator[Stack]:
    """LocalCloud(ReviewBackend=SelfHosted) + ReviewServer + ``reviewers`` accounts and one admin."""
    values = {"ReviewBackend": "SelfHosted", "WorkteamArn": "", **{k: str(v) for k, v in parameters.items()}}
    with LocalCloud(values, log_file=log_file) as cloud, ReviewServer(cloud) as server:
        people, admin = create_accounts(cloud, reviewers)
        yield Stack(cloud, server, people, admin)
