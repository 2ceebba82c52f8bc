"""``bulkqa demo --backend self-hosted`` gives the Ground Truth backend's report for the same seed and reviewers.

The same CSV, seed, error rate and reviewers: once through the local Ground Truth (the default backend),
once with ``ReviewBackend=SelfHosted``, where each reviewer is an HTTP client of the real review API
behind the local server (``ReviewerCrew``): it signs in through the local Cognito, claims screens,
sometimes abandons one (release) and answers. ``classes``, ``totals`` and ``class_average`` must be equal,
for simulated reviewers (with a high error rate, so that who answered what matters) and for scripted
ones (``--answers``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bulkqa_local.demo import run_demo
from bulkqa_local.review_client import image_key

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "local" / "bulkqa_local" / "data"


def _csv(tmp_path: Path, rows: int = 60) -> Path:
    lines = (DATA / "sample.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "part.csv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return path


def test_image_key_is_what_the_url_shows() -> None:
    assert image_key("http://127.0.0.1:9/_local/s3/b/crab/image%200001.jpg?X-Amz-Date=1") == "crab/image 0001.jpg"
    assert image_key("https://b.s3.us-east-1.amazonaws.com/a/b.jpg?x=1") == "a/b.jpg"
    assert image_key("https://s3.us-east-1.amazonaws.com/my.bucket/a/b.jpg") == "a/b.jpg"


def _same_report(tmp_path: Path, **flags: object) -> None:
    ground_truth = run_demo(out=tmp_path / "gt", **flags)  # type: ignore[arg-type]
    self_hosted = run_demo(out=tmp_path / "sh", backend="self-hosted", **flags)  # type: ignore[arg-type]
    for result in (ground_truth, self_hosted):
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert result.report is not None
    assert ground_truth.report is not None and self_hosted.report is not None
    for key in ("classes", "totals", "class_average"):
        assert self_hosted.report[key] == ground_truth.report[key], key
    assert self_hosted.report["totals"]["unreviewed"] == 0
    usage = self_hosted.usage
    assert usage["ground_truth_objects"] == 0 and usage["api_requests"] > 0
    assert usage["requests"].get("sagemaker:CreateLabelingJob", 0) == 0
    assert ground_truth.usage["api_requests"] == 0


def test_simulated_reviewers_give_the_same_report_on_both_backends(tmp_path: Path) -> None:
    _same_report(tmp_path, csv_path=_csv(tmp_path), workers=2, batch_size=5, error_rate=0.25, seed=11, check_seconds=5)


def test_scripted_reviewers_give_the_same_report_on_both_backends(tmp_path: Path) -> None:
    data = _csv(tmp_path, rows=30)
    rows = list(csv.DictReader(data.read_text(encoding="utf-8").splitlines()))
    answers = tmp_path / "answers.csv"
    with answers.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "worker", "verdict"])
        for n, row in enumerate(rows):
            for worker in ("ann", "ben"):
                verdict = "reject" if (n % 3 == 0 and worker == "ann") or n % 7 == 0 else "confirm"
                writer.writerow([row["image_local_path"], row["label"], worker, verdict])
    _same_report(tmp_path, csv_path=data, answers=answers, batch_size=4, check_seconds=5)
