"""A failed ``bulkqa demo`` says first what failed and why, then what to do, and nothing of the local cloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkqa_local.cloud import LocalCloud
from bulkqa_local.demo import failure_message, run_demo

DATA = Path(__file__).resolve().parents[2] / "local" / "bulkqa_local" / "data"
REASON = "ClientError: the work team no longer exists"


def test_a_failed_labeling_job_reaches_the_cli_with_its_failure_reason(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    def fail(cloud: LocalCloud) -> None:
        cloud.ground_truth.fail_reason = REASON

    result = run_demo(csv_path=DATA / "smallsample.csv", out=tmp_path, cloud_hook=fail)
    assert (result.status, result.error) == ("FAILED", "LabelingJobFailed")
    # the cause is the one on_labeling_job_event / start_labeling_job sent: "labeling job X failed: <reason>"
    assert result.cause is not None and result.cause.startswith("labeling job bulkqa-smallsample-")
    assert result.cause.endswith(f" failed: {REASON}")

    message = failure_message(result).splitlines()
    assert message[0] == f"error: LabelingJobFailed: {result.cause}"  # the useful line first
    assert any(line.startswith("What to do: ") for line in message)
    quiet = failure_message(result, quiet=True).splitlines()
    assert quiet == [message[0], next(line for line in message if line.startswith("What to do: "))]

    # nothing of the local cloud's internals on the terminal (moto's interpreter logs every failure)
    captured = capfd.readouterr()
    for internal in ("FailureEventException", "StateTaskServiceLambda", "moto", "Traceback"):
        assert internal not in captured.err and internal not in captured.out
