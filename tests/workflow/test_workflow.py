"""The real state machine executed by moto with the real handlers (no canned Lambda results).

Each test uploads a CSV to the local stack's bucket, which starts the workflow through
S3 -> EventBridge -> the template's rule, and checks how the run ends.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bulkqa_local import moto_speedups
from bulkqa_local.cloud import LocalCloud
from bulkqa_local.demo import DemoResult, run_demo
from bulkqa_local.faults import ALL, Faults

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "local" / "bulkqa_local" / "data"


def _answers(csv_path: Path, workers: list[str], tmp_path: Path, min_confidence: float) -> tuple[Path, dict]:
    """Scripted answers, and the verdict counts they imply, computed without the project's code."""
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    lines = ["image,label,worker,verdict"]
    counts: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        if float(row["confidence"]) < min_confidence:
            continue
        image, label = row["image_local_path"], row["label"]
        tally = counts.setdefault((image, label), [0, 0])
        for worker in workers:
            h = int(hashlib.sha256(f"{image}|{label}|{worker}".encode()).hexdigest(), 16) % 10
            if h < 2:
                lines.append(f"{image},{label},{worker},reject")
                tally[1] += 1
            elif h < 4:
                lines.append(f"{image},{label},{worker},confirm")
                tally[0] += 1
            else:  # no line: the box stays pre-checked
                tally[0] += 1
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected: dict[str, Counter] = {}
    for (_, label), (c, r) in counts.items():
        kind = "split" if c and r else "confirmed" if c else "disconfirmed"
        expected.setdefault(label, Counter())[kind] += 1
    return path, expected


@pytest.mark.parametrize(("name", "min_confidence"), [("smallsample.csv", 0.0), ("shellfish.csv", 80.0)])
def test_end_to_end_with_scripted_reviewers(tmp_path: Path, name: str, min_confidence: float) -> None:
    csv_path = DATA / name
    answers, expected = _answers(csv_path, ["alice", "bob", "carol"], tmp_path, min_confidence)
    result = run_demo(csv_path=csv_path, out=tmp_path / "out", answers=answers, min_confidence=min_confidence)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    report = result.report
    assert report is not None
    total_rows = sum(1 for _ in csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    rows = report["rows"]
    assert rows["total"] == total_rows
    assert rows["accepted"] + rows["rejected"] + rows["below_min_confidence"] == total_rows
    by_label = {c["label"]: c for c in report["classes"]}
    assert set(by_label) == set(expected)
    for label, kinds in expected.items():
        got = by_label[label]
        assert (got["confirmed"], got["disconfirmed"], got["split"]) == (
            kinds["confirmed"],
            kinds["disconfirmed"],
            kinds["split"],
        ), label
        reviewed = sum(kinds.values())
        assert got["total"] == reviewed
        assert got["pct_correct"] == pytest.approx(100 * kinds["confirmed"] / reviewed)
    for filename in (
        "report.json",
        "report.csv",
        "report.md",
        "report.html",
        "rejected.csv",
        "corrected-labels.jsonl",
        "aws-usage.json",
    ):
        assert (tmp_path / "out" / filename).exists(), filename


def _demo_and_its_cloud(**options: Any) -> tuple[DemoResult, LocalCloud]:
    """run_demo on smallsample.csv, and the local cloud it ran on (stopped: its records remain)."""
    seen: list[LocalCloud] = []
    result = run_demo(csv_path=DATA / "smallsample.csv", cloud_hook=seen.append, **options)
    return result, seen[0]


def test_happy_path_creates_one_job_and_resumes_on_its_completion_event(tmp_path: Path) -> None:
    result, cloud = _demo_and_its_cloud(out=tmp_path, check_seconds=600)
    assert result.status == "SUCCEEDED"
    jobs = list(cloud.ground_truth.jobs.values())
    assert len(jobs) == 1 and jobs[0]["LabelingJobStatus"] == "Completed"
    assert jobs[0]["LabelCounters"]["TotalLabeled"] == 9  # 189 rows of 8 labels in batches of 25
    # the wait ended through the EventBridge rule -> on_labeling_job_event, not the fallback check
    assert any(name.endswith("on-labeling-job-event") and outcome == "ok" for name, outcome in cloud.invocations)
    assert result.usage["requests"]["states:SendTaskSuccess"] == 1


def test_duplicate_upload_event_starts_no_second_run(tmp_path: Path) -> None:
    result, cloud = _demo_and_its_cloud(out=tmp_path, faults=Faults(frozenset({"duplicate-s3-events"})))
    assert result.status == "SUCCEEDED"
    assert len(result.executions) == 2
    outputs = [json.loads(e["output"]) for e in result.executions]
    assert sorted(o["duplicate"] for o in outputs) == [False, True]
    assert len(cloud.ground_truth.jobs) == 1


def test_failed_labeling_job_fails_the_run_with_its_reason(tmp_path: Path) -> None:
    sent: list[dict] = []

    def fail(cloud: LocalCloud) -> None:
        cloud.ground_truth.fail_reason = "ClientError: the work team no longer exists"
        cloud.session.events.register(
            "before-call.sfn.SendTaskFailure", lambda params, **_: sent.append(json.loads(params["body"]))
        )

    result = run_demo(csv_path=DATA / "smallsample.csv", out=tmp_path, cloud_hook=fail)
    assert result.status == "FAILED"
    assert result.error == "LabelingJobFailed"
    # Ground Truth's FailureReason travels as the cause: on the SendTaskFailure request, and (the local
    # cloud carries it past moto 5.2.5, which drops it) to the run's error cause the CLI prints
    assert result.cause and "the work team no longer exists" in result.cause
    assert sent and sent[0]["error"] == "LabelingJobFailed"
    assert "the work team no longer exists" in sent[0]["cause"]


def test_a_job_failing_after_some_answers_writes_a_partial_report_then_fails_the_run(tmp_path: Path) -> None:
    """#12 point 9: a job that ends Failed (or expires) after reviewers answered part of it keeps their verdicts."""

    def fail_late(cloud: LocalCloud) -> None:
        cloud.ground_truth.fail_reason = "ClientError: the job expired"
        cloud.ground_truth.fail_after = 3

    result = run_demo(csv_path=DATA / "smallsample.csv", out=tmp_path, cloud_hook=fail_late)
    assert result.status == "FAILED" and result.error == "LabelingJobFailed"
    assert result.cause and "the job expired" in result.cause
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["partial"] is True
    assert report["totals"]["total"] > 0 and report["totals"]["unreviewed"] > 0


def test_stopped_labeling_job_writes_a_partial_report(tmp_path: Path) -> None:
    def stop(cloud: LocalCloud) -> None:
        cloud.ground_truth.stop_after = 3

    result = run_demo(csv_path=DATA / "smallsample.csv", out=tmp_path, cloud_hook=stop)
    assert result.status == "FAILED" and result.error == "LabelingJobStopped"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["partial"] is True
    assert report["totals"]["unreviewed"] > 0


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02binary\xff", b"image,label\nbeaver/a.jpg,Beaver\n", b"image_local_path,label,confidence\r\n"],
)
def test_unreadable_file_fails_with_a_named_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = run_demo(csv_path=path, out=tmp_path / "out")
    assert result.status == "FAILED"
    assert result.error == "InvalidLabelFile"
    assert result.cause and ("header" in result.cause or "empty" in result.cause or "UTF" in result.cause)


def test_lost_completion_event_is_recovered_by_the_job_check(tmp_path: Path) -> None:
    result = run_demo(
        csv_path=DATA / "smallsample.csv",
        out=tmp_path,
        faults=Faults(frozenset({"drop-completion-event"})),
        check_seconds=2,
    )
    assert result.status == "SUCCEEDED"
    assert result.usage["faults_injected"] == {"drop-completion-event": 1}
    assert result.report and result.report["totals"]["total"] == 189


def test_no_row_accepted_fails_with_no_rows_accepted(tmp_path: Path) -> None:
    path = tmp_path / "allbad.csv"
    path.write_text("image_local_path,label,confidence\n../etc/passwd,Dog,90\n/abs.jpg,Dog,90\nx.jpg,,90\n")
    result = run_demo(csv_path=path, out=tmp_path / "out")
    assert result.status == "FAILED" and result.error == "NoRowsAccepted"
    rejected = list(csv.DictReader((tmp_path / "out" / "rejected.csv").open()))
    assert [int(r["line"]) for r in rejected] == [2, 3, 4]


def test_more_tasks_than_max_objects_per_job_make_several_jobs(tmp_path: Path) -> None:
    result, cloud = _demo_and_its_cloud(out=tmp_path, max_objects_per_job=4)
    assert result.status == "SUCCEEDED"
    assert len(cloud.ground_truth.jobs) == 3  # 9 tasks, at most 4 per job
    assert result.report and result.report["totals"]["total"] + result.report["totals"]["unreviewed"] == 189
    assert result.report["totals"]["unreviewed"] == 0


@pytest.mark.parametrize("fault", [*ALL, "all"])
def test_faults_do_not_change_the_report(tmp_path: Path, fault: str) -> None:
    baseline = run_demo(csv_path=DATA / "smallsample.csv", out=tmp_path / "base", workers=2, seed=7)
    assert baseline.status == "SUCCEEDED"
    faults = Faults.all() if fault == "all" else Faults(frozenset({fault}))
    faulty = run_demo(
        csv_path=DATA / "smallsample.csv", out=tmp_path / "faulty", workers=2, seed=7, faults=faults, check_seconds=2
    )
    assert faulty.status == "SUCCEEDED", (faulty.error, faulty.cause)
    assert faulty.usage["faults_injected"], "the fault was not injected"
    assert (tmp_path / "faulty" / "report.json").read_bytes() == (tmp_path / "base" / "report.json").read_bytes()
    # item-level files hold the same lines; their order follows the run id's table partitions
    lines = [sorted((tmp_path / d / "corrected-labels.jsonl").read_text().splitlines()) for d in ("base", "faulty")]
    assert lines[0] == lines[1]


def test_without_the_moto_speedups_the_report_is_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The speed-ups only make the local cloud faster: moto as it is gives the same files."""
    from moto.dynamodb.responses import DynamoHandler

    def files(speedups: bool) -> dict[str, str]:
        def hook(cloud: LocalCloud) -> None:  # called while the stack runs
            assert cloud.speedups is speedups
            assert (DynamoHandler.update_item.__module__ != "moto.dynamodb.responses") is speedups

        out = tmp_path / ("fast" if speedups else "plain")
        result = run_demo(csv_path=DATA / "smallsample.csv", out=out, workers=2, seed=7, cloud_hook=hook)
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert result.run_id.startswith("smallsample-")  # the run is named after the uploaded file
        # every upload is a new run id (report.md names it); everything else must be the same
        names = ("report.json", "report.csv", "report.md", "rejected.csv")
        return {name: (out / name).read_text(encoding="utf-8").replace(result.run_id, "<run id>") for name in names}

    monkeypatch.delenv(moto_speedups.SWITCH, raising=False)
    fast = files(speedups=True)
    monkeypatch.setenv(moto_speedups.SWITCH, "0")
    plain = files(speedups=False)
    for name, text in fast.items():
        assert plain[name] == text, name
    # item-level files hold the same lines; their order follows the run id's table partitions
    lines = [sorted((tmp_path / d / "corrected-labels.jsonl").read_text().splitlines()) for d in ("fast", "plain")]
    assert lines[0] == lines[1]
