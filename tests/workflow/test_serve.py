"""``bulkqa serve`` end to end: the local self-hosted stack driven by reviewers over HTTP (ReviewerClient).

serve() runs in a thread (as the command runs it, minus the terminal); the test reads serve.json's
content from ``on_ready``, signs two reviewers in through the local Cognito (first sign-in: a new
password), reviews with overlap 2 and checks the run's report; a second test stops the job midway (the
Ctrl-C path) and gets the partial report.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bulkqa_local.review_client import ReviewerClient, Task
from bulkqa_local.serve import ServeInfo, ServeResult, serve

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "local" / "bulkqa_local" / "data"


def _small_csv(tmp_path: Path, rows: int = 12) -> Path:
    lines = (DATA / "sample.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "few.csv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return path


class Served:
    """serve() in a thread: its serve.json content, its result (or exception), a stop switch."""

    def __init__(self, tmp_path: Path, **kwargs: object) -> None:
        self.out = tmp_path / "out"
        self.stop = threading.Event()
        self._ready: queue.Queue[ServeInfo] = queue.Queue()
        self.result: ServeResult | None = None
        self.error: BaseException | None = None

        def work() -> None:
            try:
                self.result = serve(out=self.out, on_ready=self._ready.put, stop=self.stop, timeout=600, **kwargs)  # type: ignore[arg-type]
            except BaseException as exc:
                self.error = exc
                self._ready.put(None)  # type: ignore[arg-type]

        self.thread = threading.Thread(target=work, name="bulkqa-serve", daemon=True)
        self.thread.start()

    def info(self) -> ServeInfo:
        info = self._ready.get(timeout=300)
        if info is None:
            raise AssertionError(f"serve failed before it was ready: {self.error!r}") from self.error
        return info

    def finish(self, timeout: float = 600) -> ServeResult:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "serve did not end"
        if self.error:
            raise AssertionError(f"serve failed: {self.error!r}") from self.error
        assert self.result is not None
        return self.result


def _jobs(client: ReviewerClient, timeout: float = 300) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [j["job"] for j in client.jobs()]
        if jobs:
            return jobs
        time.sleep(0.5)
    raise AssertionError("no review job opened")


def _image(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback
        return response.status, response.headers["Content-Type"], response.read()


def test_serve_reviewers_finish_the_run(tmp_path: Path) -> None:
    csv_path = _small_csv(tmp_path)
    folders = {line.split("/")[0] for line in csv_path.read_text().splitlines()[1:]}
    served = Served(tmp_path, csv_path=csv_path, reviewers=2, workers=2, batch_size=5)
    info = served.info()
    assert json.loads((served.out / "serve.json").read_text()) == info
    assert set(info) == {"url", "region", "userPoolId", "clientId", "cognitoEndpoint", "reviewers", "admin"}
    assert len(info["reviewers"]) == 2
    config = json.loads(urllib.request.urlopen(info["url"] + "api/config", timeout=10).read())
    assert config["cognitoEndpoint"] == info["cognitoEndpoint"] and config["clientId"] == info["clientId"]
    alice, bob = (
        ReviewerClient(info["url"], p["username"], p["password"], info["cognitoEndpoint"], client_id=info["clientId"])
        for p in info["reviewers"]
    )
    jobs = _jobs(alice)
    rejected: set[str] = set()
    first: Task | None = None
    for job in jobs:
        while (task := alice.next(job)) is not None:
            if first is None:
                first = task
                rejected.add(task["images"][0]["id"])
                status, kind, body = _image(task["images"][0]["url"])
                assert status == 200 and kind == "image/svg+xml"  # the sample's photos are not in the local bucket
                assert any(f">{folder}</text>".encode() in body for folder in folders)  # names the image's folder
            answers = {f"image-{i['id']}": {"correct": i["id"] not in rejected} for i in task["images"]}
            alice.answer(task["task_id"], task["lease_id"], answers)
    for job in jobs:
        bob.review_all(job)
    result = served.finish()
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert not result.stopped
    report = json.loads((served.out / "report.json").read_text())
    assert report["totals"]["split"] == 1 and report["totals"]["disconfirmed"] == 0
    assert report["totals"]["unreviewed"] == 0
    log = (served.out / "requests.log").read_text()
    assert "X-Amz-Signature" not in log and alice.access_token not in log


def test_serve_stop_writes_the_partial_report(tmp_path: Path) -> None:
    served = Served(tmp_path, csv_path=_small_csv(tmp_path), reviewers=1, workers=1, batch_size=5)
    info = served.info()
    person = info["reviewers"][0]
    carol = ReviewerClient(
        info["url"], person["username"], person["password"], info["cognitoEndpoint"], client_id=info["clientId"]
    )
    job = _jobs(carol)[0]
    task = carol.next(job)
    assert task is not None
    carol.answer(task["task_id"], task["lease_id"], {f"image-{i['id']}": {"correct": True} for i in task["images"]})
    served.stop.set()  # what Ctrl-C does
    result = served.finish()
    assert result.stopped
    assert (served.out / "report.json").exists()
    report = json.loads((served.out / "report.json").read_text())
    assert report["totals"]["confirmed"] == len(task["images"])
    assert report["totals"]["unreviewed"] > 0


def test_serve_clock_expires_the_rest_and_the_run_ends(tmp_path: Path) -> None:
    """POST /_local/clock past the job's availability: the sweeper expires the unanswered screens (their
    images count as unreviewed) and the workflow resumes by itself."""
    served = Served(tmp_path, csv_path=_small_csv(tmp_path), reviewers=1, workers=1, batch_size=5)
    info = served.info()
    person = info["reviewers"][0]
    dave = ReviewerClient(
        info["url"], person["username"], person["password"], info["cognitoEndpoint"], client_id=info["clientId"]
    )
    job = _jobs(dave)[0]
    task = dave.next(job)
    assert task is not None
    dave.answer(task["task_id"], task["lease_id"], {f"image-{i['id']}": {"correct": True} for i in task["images"]})
    held = dave.next(job)  # a lease that will run out with the clock
    assert held is not None
    request = urllib.request.Request(
        info["url"] + "_local/clock", data=json.dumps({"advance": 40 * 24 * 3600}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # loopback
        assert response.status == 200
    result = served.finish()
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert not result.stopped
    report = json.loads((served.out / "report.json").read_text())
    assert report["totals"]["confirmed"] == len(task["images"])
    assert report["totals"]["unreviewed"] == 12 - len(task["images"])


def test_serve_flags_are_checked_before_anything_starts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from bulkqa_local.cli import main

    assert main(["serve", "--workers", "3", "--reviewers", "2", "--out", str(tmp_path)]) == 2
    assert main(["serve", "--csv", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--workers 3 needs at least as many reviewers" in err and "missing.csv does not exist" in err
    assert not (tmp_path / "serve.json").exists()


def test_bulkqa_serve_command_ctrl_c_stops_and_reports(tmp_path: Path) -> None:
    """The command itself in a subprocess: serve.json appears, a reviewer answers, Ctrl-C (SIGINT) stops the
    job through the admin route, the partial report is written and the command exits 0."""
    import signal
    import subprocess
    import sys

    out = tmp_path / "out"
    command = [sys.executable, "-m", "bulkqa_local.cli", "serve", "--csv", str(_small_csv(tmp_path)), "--out", str(out)]
    process = subprocess.Popen([*command, "--reviewers", "1", "--batch-size", "5"], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (out / "serve.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, "serve ended or never became ready"
            time.sleep(0.2)
        info = json.loads((out / "serve.json").read_text())
        person = info["reviewers"][0]
        erin = ReviewerClient(info["url"], person["username"], person["password"], info["cognitoEndpoint"])
        job = _jobs(erin)[0]
        task = erin.next(job)
        assert task is not None
        erin.answer(task["task_id"], task["lease_id"], {f"image-{i['id']}": {"correct": True} for i in task["images"]})
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert info["url"] in stdout and person["password"] in stdout
    assert "The job was stopped" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["confirmed"] == len(task["images"]) and report["totals"]["unreviewed"] > 0
