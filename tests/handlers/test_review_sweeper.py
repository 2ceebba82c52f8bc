"""The review sweeper's handler (functions/review_sweeper/app.py) on moto, with the review functions'
environment: it finishes what a crash left undone and expires turns past the job's availability."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from bulkqa import aws, deps
from bulkqa.errors import SettingsError
from tests.support.review_queue_world import Clock, ReviewWorld

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


@dataclass
class Context:
    function_name: str = "stack-review-sweeper"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:stack-review-sweeper"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "req-1"


def sweeper() -> Any:
    if str(FUNCTIONS) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS))
    return importlib.import_module("review_sweeper.app")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    now = Clock()
    monkeypatch.setattr("bulkqa.review.clock.now", now)
    aws.reset_clients()
    with mock_aws():
        yield now
    aws.reset_clients()


def environment(world: ReviewWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = world.review_settings
    for name, value in {
        "BUCKET_NAME": settings.stack.bucket,
        "LABELS_TABLE_NAME": settings.stack.labels_table,
        "RUNS_TABLE_NAME": settings.stack.runs_table,
        "REVIEW_TABLE_NAME": settings.review_table,
        "USER_POOL_ID": "us-east-1_pool",
        "USER_POOL_CLIENT_ID": "client",
        "COGNITO_ENDPOINT": "https://cognito-idp.us-east-1.amazonaws.com/",
        "IMAGE_BUCKET_NAME": "",
        "WORKERS_PER_OBJECT": str(settings.workers_per_object),
        "TASK_TIME_LIMIT_SECONDS": str(settings.task_time_limit),
        "TASK_AVAILABILITY_SECONDS": str(settings.task_availability),
        "REVIEW_BACKEND": "SelfHosted",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(deps, "callbacks", lambda: world.callbacks)  # counts every resume


def test_the_sweeper_expires_the_rest_and_resumes_the_workflow_once(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = ReviewWorld(clock, screens=2, images=1, workers=2, availability=600)
    world.start()
    environment(world, monkeypatch)
    world.review("alice")
    handler = sweeper().lambda_handler
    assert handler({}, Context()) == {"jobs": 1, "expired": 0, "retallied": 0, "completed": 0, "delivered": 0}
    clock.advance(601)
    # alice's answer waited for its screen to settle: the expiry settles it, so it is written now
    assert handler({}, Context()) == {"jobs": 1, "expired": 3, "retallied": 1, "completed": 1, "delivered": 1}
    assert handler({}, Context()) == {"jobs": 0, "expired": 0, "retallied": 0, "completed": 0, "delivered": 0}
    (sent,) = world.callbacks.sent
    assert sent[1] == "success" and isinstance(sent[2], dict) and sent[2]["counters"]["Expired"] == 3


def test_the_sweeper_delivers_a_job_whose_deliverer_died(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    world = ReviewWorld(clock, screens=1, images=1, workers=1)
    world.start()
    environment(world, monkeypatch)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    with monkeypatch.context() as patch:
        patch.setattr(world.callbacks, "fail", lambda *a: (_ for _ in ()).throw(RuntimeError("died")))
        with pytest.raises(RuntimeError):
            world.service.stop(world.job)
    clock.advance(61)
    result = sweeper().lambda_handler({}, Context())
    assert result["delivered"] == 1
    (sent,) = world.callbacks.sent
    assert sent[1] == "LabelingJobStopped"
    assert sweeper().lambda_handler({}, Context())["jobs"] == 0


def test_the_sweeper_names_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REVIEW_TABLE_NAME", "USER_POOL_ID", "BUCKET_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError, match=r"REVIEW_TABLE_NAME is not set.*USER_POOL_ID is not set"):
        sweeper().lambda_handler({}, Context())
