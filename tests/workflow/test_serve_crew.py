"""Simulated reviewers over HTTP (ReviewerCrew) on the self-hosted backend give the Ground Truth backend's report.

The same CSV, seed, error rate and reviewer ids: once through ``run_demo`` (the local Ground Truth), once
through ``serve`` with a crew of HTTP reviewers that sign in through the local Cognito, claim, sometimes
abandon a lease (release) and answer. ``classes``, ``totals`` and ``class_average`` must be equal.
"""

from __future__ import annotations

import json
import queue
import threading
from pathlib import Path
from typing import Any

import pytest

from bulkqa_local.demo import run_demo
from bulkqa_local.review_client import ReviewerCrew, image_key
from bulkqa_local.reviewers import SimulatedReviewers
from bulkqa_local.serve import ServeInfo, serve

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "local" / "bulkqa_local" / "data"


def _csv(tmp_path: Path, rows: int = 40) -> Path:
    lines = (DATA / "sample.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "part.csv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return path


def test_image_key_is_what_the_url_shows() -> None:
    assert image_key("http://127.0.0.1:9/_local/s3/b/crab/image%200001.jpg?X-Amz-Date=1") == "crab/image 0001.jpg"
    assert image_key("https://b.s3.us-east-1.amazonaws.com/a/b.jpg?x=1") == "a/b.jpg"
    assert image_key("https://s3.us-east-1.amazonaws.com/my.bucket/a/b.jpg") == "a/b.jpg"


def test_http_reviewers_on_the_self_hosted_backend_match_ground_truth(tmp_path: Path) -> None:
    csv_path = _csv(tmp_path)
    decider = SimulatedReviewers(error_rate=0.25, seed=11)
    workers = decider.worker_ids(2)
    ground_truth = run_demo(csv_path=csv_path, out=tmp_path / "gt", workers=2, batch_size=5, error_rate=0.25, seed=11)
    assert ground_truth.status == "SUCCEEDED" and ground_truth.report is not None

    crews: queue.Queue[ReviewerCrew] = queue.Queue()

    def ready(info: ServeInfo) -> None:
        accounts = {w: (p["username"], p["password"]) for w, p in zip(workers, info["reviewers"], strict=True)}
        crew = ReviewerCrew(
            info["url"], info["cognitoEndpoint"], info["clientId"], accounts, decider, abandon_rate=0.3, seed=5
        )
        crew.start()
        crews.put(crew)

    result: dict[str, Any] = {}

    def work() -> None:
        result["serve"] = serve(
            csv_path=csv_path, out=tmp_path / "sh", reviewers=2, workers=2, batch_size=5, on_ready=ready, timeout=600
        )

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(600)
    assert not thread.is_alive(), "the self-hosted run did not end"
    crew = crews.get(timeout=1)
    report = crew.stop()
    assert report.errors == []
    assert sum(report.abandoned.values()) > 0  # some leases were abandoned and taken again
    assert set(report.answered) == set(workers)
    served = result["serve"]
    assert served.status == "SUCCEEDED", (served.error, served.cause)
    self_hosted = json.loads((tmp_path / "sh" / "report.json").read_text())
    expected = ground_truth.report
    for key in ("classes", "totals", "class_average"):
        assert self_hosted[key] == expected[key], key
    assert self_hosted["totals"]["unreviewed"] == 0
