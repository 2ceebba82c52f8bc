"""Issue #13, reliability: 20 concurrent reviewer clients on 400 screens with overlap 2, through the whole
workflow (LocalCloud with ReviewBackend=SelfHosted, the local review server on loopback).

Every screen gets exactly 2 distinct reviewers, no answer is lost or counted twice, the workflow resumes
exactly once. A second run injects crashes between an answer's write and the resume (the tally after the
write; the delivery of the finished job, left to the sweeper) and sends every answer twice: same result.

The reviewers' answers are a function of (image, turn) only, never of who reviews, so the report's
counts do not depend on which thread took which screen and both runs' reports are equal.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bulkqa.review import queue
from bulkqa.review.service import ReviewService
from bulkqa_local.review_client import ReviewApiError, ReviewerClient, Task, image_key
from bulkqa_local.serve import Account
from tests.support.review_stack import Stack, sample_csv, self_hosted_stack

pytestmark = pytest.mark.slow

SCREENS = 400
WORKERS = 2
REVIEWERS = 20
RELEASE_RATE = 0.04
#: the whole run (stack, reviewers, workflow) must end within this
RUN_SECONDS = 420
#: the answer's tally crashes (after the answer's write) on these calls of ReviewService._tally
TALLY_CRASHES = frozenset({5, 90, 333, 611})


def _bucket(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 4


def verdict(key: str, turn: int) -> bool:
    """The answer to one image: rejected by both turns (hash 0), split (hash 1: turn 1 rejects), else confirmed."""
    bucket = _bucket(key)
    return bucket >= 2 or (bucket == 1 and turn == 0)


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class Tracker:
    """What the reviewer threads did, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: dict[str, str] = field(default_factory=dict)  # task id -> reviewer
    first_replays: list[str] = field(default_factory=list)  # task ids whose first answer came back replay
    retried_replays: list[str] = field(default_factory=list)  # answers written before a 500, sent again
    duplicate_not_replay: list[str] = field(default_factory=list)
    released: int = 0
    server_errors: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, task_id: str, reviewer: str, replay: bool, failures: int) -> None:
        with self.lock:
            if task_id in self.answered:
                self.errors.append(f"{task_id} answered by {self.answered[task_id]} and {reviewer}")
            self.answered[task_id] = reviewer
            if replay:
                (self.retried_replays if failures else self.first_replays).append(task_id)


def _send(
    client: ReviewerClient, task: Task, answers: dict[str, dict[str, bool]], tracker: Tracker
) -> tuple[bool, int]:
    """Answer as the page does: a 500 (the function died) is retried with the same answer. (replay, 500s)."""
    failures = 0
    while True:
        try:
            return client.answer(task["task_id"], task["lease_id"], answers)["replay"], failures
        except ReviewApiError as exc:
            if exc.status != 500 or failures >= 5:
                raise
            failures += 1
            with tracker.lock:
                tracker.server_errors += 1
            time.sleep(0.05)


def _reviewer(
    stack: Stack, account: Account, twice: bool, stop: threading.Event, tracker: Tracker, deadline: float
) -> None:
    try:
        client = stack.sign_in(account)
        name = account["username"]
        released: set[str] = set()
        seen_job = False
        while not stop.is_set() and time.monotonic() < deadline:
            jobs = [job["job"] for job in client.jobs()]
            if not jobs:
                if seen_job:
                    return  # the job ended (completed): nothing is left for anyone
                stop.wait(0.2)
                continue
            seen_job = True
            busy = False
            for job in jobs:
                task = client.next(job)
                if task is None:
                    continue
                busy = True
                task_id = task["task_id"]
                if task_id not in released and _unit(name, task_id) < RELEASE_RATE:
                    released.add(task_id)
                    client.release(task_id, task["lease_id"])
                    with tracker.lock:
                        tracker.released += 1
                    continue
                turn = int(task_id.rsplit(".", 1)[1])
                answers = {
                    f"image-{image['id']}": {"correct": verdict(image_key(image["url"]), turn)}
                    for image in task["images"]
                }
                replay, failures = _send(client, task, answers, tracker)
                tracker.add(task_id, name, replay, failures)
                if twice:  # the same answer delivered again (a retry of the page, a duplicated request)
                    again, _ = _send(client, task, answers, tracker)
                    if not again:
                        with tracker.lock:
                            tracker.duplicate_not_replay.append(task_id)
            if not busy:
                stop.wait(0.2)
    except Exception as exc:  # the test asserts there are none
        with tracker.lock:
            tracker.errors.append(f"{account['username']}: {type(exc).__name__}: {exc}")


@dataclass
class Outcome:
    status: str
    cause: str | None
    run_id: str
    report: dict[str, Any]
    review: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    resumes: int  # successful SendTaskSuccess calls
    deliveries: list[tuple[str, bool]]  # (caller, resumed) of every labeling_steps.deliver call
    tracker: Tracker
    crashes: Counter[str]
    screens: int
    seconds: float
    timings: dict[str, float]


def _count_resumes(stack: Stack) -> list[int]:
    """Successful SendTaskSuccess calls of the stack's functions (the runner's own clients are apart)."""
    resumes = [0]

    def after(http_response: Any = None, **_: object) -> None:
        if http_response is not None and http_response.status_code == 200:
            resumes[0] += 1

    stack.cloud.session.events.register("after-call.sfn.SendTaskSuccess", after)
    return resumes


def _wrap_deliver(patch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Record every call of labeling_steps.deliver: who called it (the review service's ``_deliver``,
    ``start_labeling_job``'s re-check, the event handler) and whether it resumed the workflow."""
    from bulkqa.steps import labeling_steps

    calls: list[tuple[str, bool]] = []
    original = labeling_steps.deliver

    def deliver(*args: Any, **kwargs: Any) -> bool:
        caller = sys._getframe(1).f_code.co_name
        resumed = original(*args, **kwargs)
        calls.append((caller, resumed))
        return resumed

    patch.setattr(labeling_steps, "deliver", deliver)
    return calls


def _run(
    tmp_path: Path,
    deliveries: list[tuple[str, bool]],
    *,
    twice: bool,
    crashes: Counter[str],
    screens: int = SCREENS,
    reviewers: int = REVIEWERS,
    check_seconds: int = 3600,
) -> Outcome:
    """One run. A job whose delivery crashed is left to the re-check loop when ``check_seconds`` is short
    (the sweeper marks it delivered afterwards), else to the sweeper once the deliverer's claim lapses."""
    started = time.monotonic()
    deadline = started + RUN_SECONDS
    timings: dict[str, float] = {}
    with self_hosted_stack(
        reviewers,
        log_file=tmp_path / "function-logs.jsonl",
        BatchSize=1,
        WorkersPerObject=WORKERS,
        CompletionCheckSeconds=check_seconds,
    ) as stack:
        timings["stack"] = time.monotonic() - started
        resumes = _count_resumes(stack)
        stack.cloud.upload("incoming/reliability.csv", sample_csv(screens))
        tracker = Tracker()
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_reviewer, args=(stack, account, twice, stop, tracker, deadline), name=f"r{n}", daemon=True
            )
            for n, account in enumerate(stack.reviewers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        stop.set()
        alive = [t.name for t in threads if t.is_alive()]
        assert not alive, f"reviewers still working at the deadline: {alive}"
        timings["reviewed"] = time.monotonic() - started
        if crashes["deliver"]:
            meta = _meta(stack)
            assert meta["status"]["S"] == "Completed" and "delivered" not in meta, meta
            if check_seconds >= 3600:
                # the deliverer died: once its claim lapses, the scheduled sweeper delivers the job
                stack.server.advance(queue.DELIVERY_CLAIM_SECONDS + 1)
        (execution,) = stack.cloud.wait_for_executions(1, timeout=max(1.0, deadline - time.monotonic()))
        if crashes["deliver"] and check_seconds < 3600:
            # the re-check loop resumed the workflow and marked the job delivered; a sweep after the claim
            # lapses must find nothing to deliver
            stack.server.advance(queue.DELIVERY_CLAIM_SECONDS + 1)
        timings["workflow"] = time.monotonic() - started
        stack.cloud.wait_for_background(timeout=10)
        run_id = json.loads(execution.get("output") or "{}").get("run_id", "")
        outcome = Outcome(
            status=execution["status"],
            cause=execution.get("cause"),
            run_id=run_id,
            report=stack.report(run_id) if execution["status"] == "SUCCEEDED" else {},
            review=stack.scan("ReviewTable"),
            labels=stack.scan("LabelsTable"),
            resumes=resumes[0],
            deliveries=list(deliveries),
            tracker=tracker,
            crashes=crashes,
            screens=screens,
            seconds=time.monotonic() - started,
            timings=timings,
        )
    print(f"run took {outcome.seconds:.1f} s: {timings}; crashes {dict(crashes)}; 500s {tracker.server_errors}")
    return outcome


def _meta(stack: Stack) -> dict[str, Any]:
    (meta,) = [item for item in stack.scan("ReviewTable") if item["sk"]["S"] == "META"]
    return meta


def _expected_totals(screens: int) -> dict[str, int]:
    keys = [line.split(",")[0] for line in sample_csv(screens).decode().splitlines()[1:]]
    buckets = Counter(_bucket(key) for key in keys)
    return {"confirmed": buckets[2] + buckets[3], "disconfirmed": buckets[0], "split": buckets[1]}


def check(outcome: Outcome) -> None:
    """What must hold after every run, crashes or not."""
    tracker, screens = outcome.tracker, outcome.screens
    assert tracker.errors == [], tracker.errors
    assert outcome.status == "SUCCEEDED", outcome.cause
    # the review table: every screen has exactly WORKERS answered turns by distinct reviewers
    slots = [item for item in outcome.review if item["sk"]["S"].startswith("S#")]
    by_screen: dict[str, list[dict[str, Any]]] = {}
    for slot in slots:
        by_screen.setdefault(slot["pk"]["S"], []).append(slot)
    assert len(by_screen) == screens
    for screen, turns in by_screen.items():
        assert sorted(t["sk"]["S"] for t in turns) == [f"S#{k}" for k in range(WORKERS)], screen
        assert [t["state"]["S"] for t in turns] == ["DONE"] * WORKERS, screen
        assert len({t["lease_owner"]["S"] for t in turns}) == WORKERS, screen
    # the clients: every turn answered once, by the reviewer the table names
    assert len(tracker.answered) == screens * WORKERS
    owners = {f"{s['pk']['S'].split('#', 1)[1].replace('#T#', '.')}.{s['sk']['S'][2:]}": s for s in slots}
    assert set(owners) == set(tracker.answered)
    assert len({s["lease_owner"]["S"] for s in slots}) == len({r for r in tracker.answered.values()})
    (meta,) = [item for item in outcome.review if item["sk"]["S"] == "META"]
    assert (meta["status"]["S"], meta.get("delivered")) == ("Completed", {"BOOL": True})
    assert int(meta["done"]["N"]) == int(meta["tallied"]["N"]) == screens * WORKERS
    assert int(meta.get("expired", {"N": "0"})["N"]) == 0
    # the labels table: every image has exactly WORKERS verdicts, counted once
    labels = [item for item in outcome.labels if "WorkerVerdicts" in item]
    assert len(labels) == screens
    for item in labels:
        verdicts = item["WorkerVerdicts"]["M"]
        assert len(verdicts) == WORKERS, item["item_id"]
        confirms, rejects = int(item["WorkerConfirmCount"]["N"]), int(item["WorkerDisconfirmCount"]["N"])
        assert confirms + rejects == WORKERS, item["item_id"]
        assert Counter(v["S"] for v in verdicts.values()) == Counter(
            {**({"confirm": confirms} if confirms else {}), **({"reject": rejects} if rejects else {})}
        ), item["item_id"]
    # the workflow resumed exactly once
    assert outcome.resumes == 1, outcome.deliveries
    assert [resumed for _, resumed in outcome.deliveries].count(True) == 1, outcome.deliveries
    # the report: 400 images, each reviewed twice, the counts the answers' rule gives
    report = outcome.report
    totals = report["totals"]
    assert totals["total"] == screens and totals["unreviewed"] == 0
    assert {key: totals[key] for key in ("confirmed", "disconfirmed", "split")} == _expected_totals(screens)
    assert report["verdicts"]["reviewed"] == screens and report["verdicts"]["unreviewed"] == 0
    agreement = report["agreement"]
    assert agreement["items_with_multiple_reviews"] == screens
    assert [(g["raters"], g["items"]) for g in agreement["by_raters"]] == [(WORKERS, screens)]
    assert sum(r["reviews"] for r in agreement["reviewers"]) == screens * WORKERS


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    patch = pytest.MonkeyPatch()
    try:
        outcome = _run(tmp_path_factory.mktemp("first"), _wrap_deliver(patch), twice=False, crashes=Counter())
    finally:
        patch.undo()  # before the other tests wrap deliver themselves
    yield outcome


def test_20_reviewers_on_400_screens_with_overlap_2(first_run: Outcome) -> None:
    check(first_run)
    tracker = first_run.tracker
    assert tracker.first_replays == tracker.retried_replays == [] and tracker.server_errors == 0
    assert tracker.released > 0  # some leases were given back and taken again
    assert first_run.deliveries == [("_deliver", True)]  # the last answer's call resumed the workflow
    assert len({reviewer for reviewer in tracker.answered.values()}) == REVIEWERS  # all of them worked


def test_crashes_and_duplicate_answers_give_the_same_result(
    first_run: Outcome,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crashes: Counter[str] = Counter()
    calls = Counter[str]()
    tally: Callable[..., Any] = ReviewService._tally
    deliver: Callable[..., None] = ReviewService._deliver

    def crashing_tally(self: ReviewService, *args: Any, **kwargs: Any) -> Any:
        calls["tally"] += 1
        if calls["tally"] in TALLY_CRASHES:
            crashes["tally"] += 1
            raise RuntimeError("injected: the function died after the answer's write, before its tally")
        return tally(self, *args, **kwargs)

    def crashing_deliver(self: ReviewService, job: str) -> None:
        calls["deliver"] += 1
        if calls["deliver"] == 1:
            crashes["deliver"] += 1
            raise RuntimeError("injected: the function died before SendTaskSuccess")
        deliver(self, job)

    monkeypatch.setattr(ReviewService, "_tally", crashing_tally)
    monkeypatch.setattr(ReviewService, "_deliver", crashing_deliver)
    second = _run(tmp_path, _wrap_deliver(monkeypatch), twice=True, crashes=crashes)
    check(second)
    assert crashes == Counter({"tally": len(TALLY_CRASHES), "deliver": 1})
    tracker = second.tracker
    assert tracker.duplicate_not_replay == []  # every second delivery of an answer was a replay
    assert tracker.server_errors == sum(crashes.values())  # each crash was one 500, and the answer was sent again
    assert tracker.first_replays == []  # a first delivery that did not crash was never a replay
    # a first delivery that crashed after the write: sending it again was a replay (nothing counted twice)
    assert 0 < len(tracker.retried_replays) <= sum(crashes.values())
    assert second.deliveries == [("_deliver", True)]  # the sweeper's, once the dead deliverer's claim lapsed
    for key in ("classes", "totals", "class_average"):
        assert second.report[key] == first_run.report[key], key


def test_a_delivery_lost_in_a_crash_is_resumed_by_the_workflows_recheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finished job's deliverer dies and no sweeper runs in time: start_labeling_job's re-check (a short
    CompletionCheckSeconds) sees the job Completed and resumes the workflow, once."""
    crashes: Counter[str] = Counter()
    deliver: Callable[..., None] = ReviewService._deliver

    def crashing_deliver(self: ReviewService, job: str) -> None:
        if not crashes["deliver"]:
            crashes["deliver"] += 1
            raise RuntimeError("injected: the function died before SendTaskSuccess")
        deliver(self, job)

    monkeypatch.setattr(ReviewService, "_deliver", crashing_deliver)
    outcome = _run(
        tmp_path, _wrap_deliver(monkeypatch), twice=False, crashes=crashes, screens=10, reviewers=3, check_seconds=2
    )
    check(outcome)
    # the re-check resumed it and marked the job delivered: the sweeper has nothing left to deliver
    assert outcome.deliveries == [("start_labeling_job", True)]
