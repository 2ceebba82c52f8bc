"""The self-hosted review queue on moto: SelfHostedJobs (start/status) and ReviewService (the API's calls).

Each test builds a small job (tests/support/review_queue_world.py) with time frozen: ``clock.advance``
moves ``bulkqa.review.clock.now``. What DynamoDB decides (conditional writes, transactions, the queue
index) runs on moto; the workflow's callbacks are the fake TaskCallbacks, which count every attempt.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from bulkqa import keys, steps
from bulkqa.errors import LabelingJobNotFound, LeaseConflict, MalformedAnswer, UnknownJob, UnknownTask
from bulkqa.review import queue, service
from bulkqa.review.queue import TaskRef
from tests.support.fakes import FakeLabelsTable
from tests.support.review_queue_world import TOKEN, Clock, ReviewWorld, in_threads


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    now = Clock()
    monkeypatch.setattr("bulkqa.review.clock.now", now)
    with mock_aws():
        yield now


def started(clock: Clock, **shape: Any) -> ReviewWorld:
    world = ReviewWorld(clock, **shape)
    world.start()
    return world


def meta(world: ReviewWorld) -> queue.Meta:
    found = world.table.meta(world.job)
    assert found is not None
    return found


# --- start and status ------------------------------------------------------------------------------------


def test_start_opens_the_job_once_with_every_slot(clock: Clock) -> None:
    world = ReviewWorld(clock, screens=3, workers=2)
    arn = world.start()
    assert arn == f"arn:aws:bulkqa:us-east-1:123456789012:review-job/{world.job}"
    clock.advance(5)
    assert world.start() == arn  # the re-check loop starts it again: nothing changes
    job = meta(world)
    assert (job.status, job.screens, job.workers, job.done, job.expired) == ("InProgress", 3, 2, 0, 0)
    assert job.available_until == job.created + 3600
    slots = [i for i in world.table.scan_all() if str(i["sk"]).startswith("S#")]
    assert len(slots) == 6 and all(s["state"] == "OPEN" for s in slots)
    assert world.table.open_jobs() == [world.job]
    status = world.backend.status(world.job)
    assert (status.status, status.arn, status.terminal) == ("InProgress", arn, False)
    assert status.counters is not None and status.counters["Unlabeled"] == 6


def test_a_start_that_died_while_writing_slots_is_finished_by_the_next_start(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = ReviewWorld(clock, screens=3, workers=2)

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("Lambda timed out")

    with monkeypatch.context() as patch:
        patch.setattr(world.table, "put_slots", crash)
        with pytest.raises(RuntimeError):
            world.start()
    assert meta(world).status == "Initializing"
    assert world.backend.status(world.job).status == "Initializing"
    assert world.service.next_task(world.job, "alice") is None  # nothing claimable yet
    world.start()
    assert meta(world).status == "InProgress" and meta(world).screens == 3
    assert world.service.next_task(world.job, "alice") is not None


def test_status_of_an_unknown_job(clock: Clock) -> None:
    world = ReviewWorld(clock)
    with pytest.raises(LabelingJobNotFound):
        world.backend.status(world.job)
    with pytest.raises(UnknownJob):
        world.service.next_task(world.job, "alice")
    with pytest.raises(UnknownTask):
        world.service.answer(f"{world.job}.0.0", "alice", "x", {})
    with pytest.raises(UnknownTask):
        world.service.heartbeat("no-such-task", "alice", "x")


# --- next ----------------------------------------------------------------------------------------------


def test_next_returns_the_held_task_and_never_confidence(clock: Clock) -> None:
    world = started(clock, screens=3, images=2)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    assert world.service.next_task(world.job, "alice") == lease  # same task, same lease id
    batch = world.batch_of(lease)
    assert lease.label == batch.label
    assert [(i.id, i.name, i.uri) for i in lease.images] == [
        (i["id"], i["image"], i["s3_uri"]) for i in batch.doc["items"]
    ]
    assert "confidence" not in json.dumps([vars(i) if hasattr(i, "__dict__") else i.__slots__ for i in lease.images])
    assert lease.lease_expires_at == clock.value + 600
    assert queue.parse_task_id(lease.task_id) == TaskRef(world.job, queue.parse_task_id(lease.task_id).seq, 0)


def test_first_turns_of_every_screen_come_before_second_turns(clock: Clock) -> None:
    world = started(clock, screens=4, workers=2)
    firsts = [world.review(f"r{n}") for n in range(4)]  # claimed and answered
    turns = [queue.parse_task_id(lease.task_id) for lease in firsts if lease is not None]
    assert [t.k for t in turns] == [0, 0, 0, 0]
    assert sorted(t.seq for t in turns) == [0, 1, 2, 3]
    seconds = [world.service.next_task(world.job, f"s{n}") for n in range(4)]
    assert sorted((t.seq, t.k) for t in (queue.parse_task_id(s.task_id) for s in seconds if s)) == [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 1),
    ]
    assert world.service.next_task(world.job, "r9") is None  # every slot is answered or leased


def test_a_screen_is_in_one_reviewers_hands_at_a_time(clock: Clock) -> None:
    world = started(clock, screens=2, workers=2, lease_seconds=60)
    alice = world.service.next_task(world.job, "alice")
    bob = world.service.next_task(world.job, "bob")
    assert alice is not None and bob is not None
    a, b = queue.parse_task_id(alice.task_id), queue.parse_task_id(bob.task_id)
    assert (a.k, b.k) == (0, 0) and a.seq != b.seq
    before = world.table.scan_all()
    assert world.service.next_task(world.job, "carol") is None  # both screens are held: their second turns wait
    assert world.table.scan_all() == before  # a refused claim writes nothing
    world.service.answer(alice.task_id, "alice", alice.lease_id, world.answer(alice))
    carol = world.service.next_task(world.job, "carol")
    assert carol is not None and queue.parse_task_id(carol.task_id) == queue.TaskRef(world.job, a.seq, 1)
    clock.advance(61)  # bob's lease lapses: his screen is free again, first turn first
    dave = world.service.next_task(world.job, "dave")
    assert dave is not None and dave.task_id == bob.task_id


def test_one_reviewer_gets_each_screen_once(clock: Clock) -> None:
    world = started(clock, screens=3, workers=2)
    seen = []
    while (lease := world.review("alice")) is not None:
        seen.append(queue.parse_task_id(lease.task_id).seq)
    assert sorted(seen) == [0, 1, 2]
    assert world.service.next_task(world.job, "alice") is None
    bob = [queue.parse_task_id(lease.task_id) for lease in iter(lambda: world.review("bob"), None)]
    assert sorted(t.seq for t in bob) == [0, 1, 2] and {t.k for t in bob} == {1}
    assert world.succeed_calls() == 1


# --- answer --------------------------------------------------------------------------------------------


def test_an_answer_is_tallied_and_a_replay_counts_nothing(clock: Clock) -> None:
    world = started(clock, screens=2, images=3, workers=1)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    answer = world.answer(lease, reject=1)
    assert world.service.answer(lease.task_id, "alice", lease.lease_id, answer) is False
    before = world.scan()
    assert world.service.answer(lease.task_id, "alice", lease.lease_id, answer) is True
    assert world.scan() == before
    assert meta(world).done == 1 and meta(world).tallied == 1
    items = {str(i["item_id"]): i for i in world.labels_of(world.batch_of(lease))}
    first = lease.images[0].id
    assert items[first]["WorkerDisconfirmCount"] == 1 and items[first]["WorkerConfirmCount"] == 0
    assert items[first]["WorkerVerdicts"] == {"alice": "reject"} and items[first]["review_version"] == 1
    assert items[first]["labeling_job"] == world.job and items[first]["batch_id"] == world.batch_of(lease).ref.batch_id
    other = world.answer(lease, reject=0)
    with pytest.raises(LeaseConflict, match="answered differently"):
        world.service.answer(lease.task_id, "alice", lease.lease_id, other)
    assert world.scan() == before


def test_a_screens_images_are_written_once_when_its_last_turn_is_answered(clock: Clock) -> None:
    world = started(clock, screens=2, images=3, workers=2)
    alice = world.review("alice", reject=1)
    assert alice is not None
    assert (meta(world).done, meta(world).tallied) == (1, 0)  # the screen is not settled: nothing written yet
    assert all("WorkerVerdicts" not in item for item in world.labels_of(world.batch_of(alice)))
    bob = world.service.next_task(world.job, "bob")
    while bob is not None and bob.task_id.rsplit(".", 2)[1] != alice.task_id.rsplit(".", 2)[1]:
        world.service.answer(bob.task_id, "bob", bob.lease_id, world.answer(bob))
        bob = world.service.next_task(world.job, "bob")
    assert bob is not None
    world.service.answer(bob.task_id, "bob", bob.lease_id, world.answer(bob))
    items = {str(i["item_id"]): i for i in world.labels_of(world.batch_of(alice))}
    first = alice.images[0].id
    assert items[first]["WorkerVerdicts"] == {"alice": "reject", "bob": "confirm"}
    assert items[first]["review_version"] == 2  # one write, with both answers


def test_a_stop_writes_the_answers_of_unsettled_screens(clock: Clock) -> None:
    world = started(clock, screens=2, images=2, workers=2)
    alice = world.review("alice", reject=1)
    assert alice is not None
    assert world.service.stop(world.job) is True
    items = {str(i["item_id"]): i for i in world.labels_of(world.batch_of(alice))}
    assert items[alice.images[0].id]["WorkerVerdicts"] == {"alice": "reject"}
    assert meta(world).tallied == 1


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"image-0123456789abcdef": {"correct": True}},
        "not an object",
        None,
        {"image-x": {"correct": True}},
    ],
)
def test_a_malformed_answer_writes_nothing(clock: Clock, bad: object) -> None:
    world = started(clock, screens=1, images=2, workers=1)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    before = world.scan()
    with pytest.raises(MalformedAnswer):
        world.service.answer(lease.task_id, "alice", lease.lease_id, bad)
    answer = world.answer(lease)
    answer[f"image-{lease.images[0].id}"] = {"correct": "yes"}  # type: ignore[dict-item]
    with pytest.raises(MalformedAnswer):
        world.service.answer(lease.task_id, "alice", lease.lease_id, answer)
    extra = world.answer(lease) | {"image-0123456789abcdef": {"correct": True}}
    with pytest.raises(MalformedAnswer):
        world.service.answer(lease.task_id, "alice", lease.lease_id, extra)
    assert world.scan() == before


def test_another_reviewers_task_cannot_be_touched(clock: Clock) -> None:
    world = started(clock, screens=2, workers=2)
    lease = world.service.next_task(world.job, "alice")
    mallory = world.service.next_task(world.job, "mallory")
    assert lease is not None and mallory is not None
    before = world.scan()
    answer = world.answer(lease)
    for reviewer, lease_id in (("mallory", lease.lease_id), ("mallory", mallory.lease_id), ("alice", "guessed")):
        with pytest.raises(LeaseConflict):
            world.service.answer(lease.task_id, reviewer, lease_id, answer)
        with pytest.raises(LeaseConflict):
            world.service.heartbeat(lease.task_id, reviewer, lease_id)
        with pytest.raises(LeaseConflict):
            world.service.release(lease.task_id, reviewer, lease_id)
    with pytest.raises(LeaseConflict):  # a malformed answer to someone else's task: still 409, not 422
        world.service.answer(lease.task_id, "mallory", lease.lease_id, {"x": 1})
    assert world.scan() == before


def test_an_expired_lease_passes_to_another_reviewer_and_the_late_answer_is_refused(clock: Clock) -> None:
    world = started(clock, screens=1, workers=1, lease_seconds=60)
    alice = world.service.next_task(world.job, "alice")
    assert alice is not None
    assert world.service.next_task(world.job, "bob") is None  # leased
    clock.advance(61)
    bob = world.service.next_task(world.job, "bob")
    assert bob is not None and bob.task_id == alice.task_id and bob.lease_id != alice.lease_id
    with pytest.raises(LeaseConflict):
        world.service.answer(alice.task_id, "alice", alice.lease_id, world.answer(alice))
    markers = [i["sk"] for i in world.table.scan_all() if str(i["sk"]).startswith("R#")]
    assert markers == ["R#bob"]  # alice's lapsed turn is bob's now
    world.service.answer(bob.task_id, "bob", bob.lease_id, world.answer(bob))
    assert meta(world).done == 1 and world.succeed_calls() == 1


def test_a_late_answer_counts_while_nobody_took_the_lease(clock: Clock) -> None:
    world = started(clock, screens=1, workers=1, lease_seconds=60)
    alice = world.service.next_task(world.job, "alice")
    assert alice is not None
    clock.advance(500)
    assert world.service.answer(alice.task_id, "alice", alice.lease_id, world.answer(alice)) is False
    assert world.callbacks.sent[0][0] == TOKEN


def test_a_reviewer_retakes_their_own_lapsed_lease(clock: Clock) -> None:
    world = started(clock, screens=1, workers=2, lease_seconds=60)
    first = world.service.next_task(world.job, "alice")
    assert first is not None
    clock.advance(61)
    again = world.service.next_task(world.job, "alice")
    assert again is not None and again.task_id == first.task_id and again.lease_id != first.lease_id
    assert world.service.next_task(world.job, "bob") is None  # alice holds the screen again
    world.service.answer(again.task_id, "alice", again.lease_id, world.answer(again))
    assert world.service.next_task(world.job, "bob") is not None  # the second turn


def test_heartbeat_extends_a_lease_up_to_three_leases(clock: Clock) -> None:
    world = started(clock, screens=1, workers=1, lease_seconds=100)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    start = clock.value
    clock.advance(50)
    assert world.service.heartbeat(lease.task_id, "alice", lease.lease_id) == start + 150
    clock.advance(200)
    assert world.service.heartbeat(lease.task_id, "alice", lease.lease_id) == start + 300
    assert world.service.next_task(world.job, "alice") is not None  # still held: the same task
    assert world.service.next_task(world.job, "bob") is None


def test_release_gives_the_screen_back(clock: Clock) -> None:
    world = started(clock, screens=2, workers=1)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    world.service.release(lease.task_id, "alice", lease.lease_id)
    with pytest.raises(LeaseConflict):
        world.service.release(lease.task_id, "alice", lease.lease_id)
    assert not [i for i in world.table.scan_all() if str(i["sk"]).startswith("R#")]
    other = world.service.next_task(world.job, "alice")  # the never-leased screen first
    assert other is not None and other.task_id != lease.task_id
    world.service.answer(other.task_id, "alice", other.lease_id, world.answer(other))
    again = world.service.next_task(world.job, "alice")
    assert again is not None and again.task_id == lease.task_id


# --- completion, stop, expiry, crashes ---------------------------------------------------------------------


def test_the_last_answer_resumes_the_workflow_once(clock: Clock) -> None:
    world = started(clock, screens=2, images=2, workers=2)
    for reviewer, reject in (("alice", 1), ("bob", 0), ("alice", 0), ("bob", 2)):
        assert world.review(reviewer, reject) is not None
    assert world.succeed_calls() == 1
    token, kind, output = world.callbacks.sent[0]
    assert (token, kind) == (TOKEN, "success")
    assert isinstance(output, dict) and output["status"] == "Completed" and output["job_name"] == world.job
    job = meta(world)
    assert (job.status, job.done, job.tallied, job.delivered) == ("Completed", 4, 4, True)
    assert world.table.open_jobs() == [] and world.service.open_jobs() == []
    assert world.backend.status(world.job).status == "Completed"
    votes: Counter[str] = Counter()
    for batch in world.batches:
        for item in world.labels_of(batch):
            votes.update(confirm=item["WorkerConfirmCount"], reject=item["WorkerDisconfirmCount"])
            assert set(item["WorkerVerdicts"]) == {"alice", "bob"}
    assert votes == {"confirm": 5, "reject": 3}  # 4 images x 2 reviewers; 1 + 2 unchecked
    assert world.service.sweep().delivered == 0 and world.succeed_calls() == 1


def test_a_crash_before_the_resume_is_finished_by_the_sweeper_once(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = started(clock, screens=1, workers=1)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None

    def crash(token: str, output: object) -> bool:
        raise RuntimeError("Lambda died before SendTaskSuccess")

    with monkeypatch.context() as patch:
        patch.setattr(world.callbacks, "succeed", crash)
        with pytest.raises(RuntimeError):
            world.service.answer(lease.task_id, "alice", lease.lease_id, world.answer(lease))
    job = meta(world)
    assert (job.status, job.delivered) == ("Completed", False)
    assert world.service.sweep().delivered == 0  # the deliverer's claim holds for a minute
    # the reviewer's page retries: the answer is a replay and delivers nothing while the claim holds
    assert world.service.answer(lease.task_id, "alice", lease.lease_id, world.answer(lease)) is True
    assert world.succeed_calls() == 0
    clock.advance(queue.DELIVERY_CLAIM_SECONDS + 1)
    assert world.service.sweep().delivered == 1
    assert world.service.sweep().delivered == 0
    assert world.succeed_calls() == 1 and len(world.callbacks.sent) == 1
    assert meta(world).delivered


def test_the_workflows_recheck_resumes_a_job_whose_deliverer_died(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = started(clock, screens=1, workers=1)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    with monkeypatch.context() as patch:
        patch.setattr(world.table, "end_job", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("died")))
        with pytest.raises(RuntimeError):
            world.service.answer(lease.task_id, "alice", lease.lease_id, world.answer(lease))
    assert meta(world).status == "InProgress"
    assert world.backend.status(world.job).status == "Completed"  # every answer is in: complete
    event = {"run_id": world.run_id, "part": 0, "tasks": 1, "manifest": world.spec.manifest_uri, "token": TOKEN}
    steps.start_labeling_job(event, world.labeling_settings, world.store, world.runs, world.backend, world.callbacks)
    assert len(world.callbacks.sent) == 1 and world.callbacks.sent[0][1] == "success"
    job = meta(world)  # the re-check ended the job and marked it delivered: nothing left for the sweeper
    assert (job.status, job.delivered) == ("Completed", True)
    assert world.service.sweep().jobs == 0
    assert world.succeed_calls() == 1 and len(world.callbacks.sent) == 1


def test_a_tally_lost_in_a_crash_is_redone_before_the_job_completes(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = started(clock, screens=1, images=2, workers=1)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    with monkeypatch.context() as patch:
        patch.setattr(world.labels, "set_verdicts", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("died")))
        with pytest.raises(RuntimeError):
            world.service.answer(lease.task_id, "alice", lease.lease_id, world.answer(lease, reject=2))
    job = meta(world)
    assert (job.done, job.tallied, job.status) == (1, 0, "InProgress")
    assert world.backend.status(world.job).status == "InProgress"  # not complete: an answer is not tallied
    result = world.service.sweep()
    assert (result.retallied, result.completed) == (1, 1)
    assert all(item["WorkerDisconfirmCount"] == 1 for item in world.labels_of(world.batches[0]))
    assert world.succeed_calls() == 1


def test_two_last_answers_at_once_resume_once(clock: Clock) -> None:
    world = started(clock, screens=16, workers=1)  # 16 leases held at once, answered at once
    leases = []
    for n in range(16):
        lease = world.service.next_task(world.job, f"r{n}")
        assert lease is not None
        leases.append((f"r{n}", lease))

    def answer(n: int) -> None:
        reviewer, lease = leases[n]
        world.service.answer(lease.task_id, reviewer, lease.lease_id, world.answer(lease))

    in_threads(answer, 16)
    assert world.succeed_calls() == 1 and meta(world).delivered
    # the same answers delivered again (a client retrying): all replays, nothing counted twice
    replays = []
    in_threads(
        lambda n: replays.append(
            world.service.answer(leases[n][1].task_id, leases[n][0], leases[n][1].lease_id, world.answer(leases[n][1]))
        ),
        16,
    )
    assert replays == [True] * 16 and meta(world).done == 16 and world.succeed_calls() == 1


def test_concurrent_reviewers_give_every_screen_k_distinct_reviewers(clock: Clock) -> None:
    world = started(clock, screens=12, images=1, workers=2)

    def reviewer(n: int) -> None:
        while world.review(f"r{n}") is not None:
            pass

    in_threads(reviewer, 6)
    job = meta(world)
    assert (job.status, job.done, job.tallied) == ("Completed", 24, 24)
    for batch in world.batches:
        (item,) = world.labels_of(batch)
        assert item["WorkerConfirmCount"] == 2 and len(item["WorkerVerdicts"]) == 2
    assert world.succeed_calls() == 1


def test_stop_delivers_the_partial_job_once_and_takes_no_more_answers(clock: Clock) -> None:
    world = started(clock, screens=2, workers=1)
    world.review("alice", reject=1)
    held = world.service.next_task(world.job, "bob")
    assert held is not None
    assert world.service.stop(world.job) is True
    assert world.service.stop(world.job) is False
    (sent,) = world.callbacks.sent
    assert sent[0] == TOKEN and sent[1] == "LabelingJobStopped"
    assert json.loads(str(sent[2]))["status"] == "Stopped"
    with pytest.raises(LeaseConflict):
        world.service.answer(held.task_id, "bob", held.lease_id, world.answer(held))
    assert world.service.next_task(world.job, "carol") is None
    assert world.backend.status(world.job).status == "Stopped"
    with pytest.raises(UnknownJob):
        world.service.stop("bulkqa-nothing-0123456789-p00")


def test_turns_left_at_the_end_of_availability_expire_and_the_job_completes(clock: Clock) -> None:
    world = started(clock, screens=3, images=1, workers=2, availability=1000)
    world.review("alice")
    held = world.service.next_task(world.job, "bob")
    assert held is not None
    assert world.service.sweep().expired == 0
    clock.advance(1001)
    assert world.service.next_task(world.job, "carol") is None  # no longer open
    result = world.service.sweep()
    assert (result.expired, result.completed) == (5, 1)
    job = meta(world)
    assert (job.status, job.done, job.expired) == ("Completed", 1, 5)
    assert world.succeed_calls() == 1
    output = world.callbacks.sent[0][2]
    assert isinstance(output, dict) and output["counters"]["Expired"] == 5
    with pytest.raises(LeaseConflict):
        world.service.answer(held.task_id, "bob", held.lease_id, world.answer(held))
    assert world.service.sweep() == type(result)(jobs=0)


# --- admins and the job list ---------------------------------------------------------------------------------


def test_open_jobs_and_job_detail(clock: Clock) -> None:
    world = started(clock, screens=2, workers=2)
    world.review("alice")
    world.service.next_task(world.job, "bob")
    (progress,) = world.service.open_jobs()
    assert (progress.job, progress.run_id, progress.screens, progress.done, progress.open, progress.expired) == (
        world.job,
        world.run_id,
        2,
        1,
        3,
        0,
    )
    assert progress.status == "InProgress" and progress.available_until == meta(world).available_until
    detail = world.service.job_detail(world.job)
    assert detail.progress == progress
    assert [(r.reviewer, r.done, r.leased) for r in detail.reviewers] == [("alice", 1, 0), ("bob", 0, 1)]
    with pytest.raises(UnknownJob):
        world.service.job_detail("bulkqa-nothing-0123456789-p00")


def test_task_ids_parse_only_as_written() -> None:
    job = keys.job_name("some-run-0123456789", 3)
    assert queue.parse_task_id(queue.task_id(job, 12, 1)) == TaskRef(job, 12, 1)
    for bad in ("", "x", f"{job}.1", f"{job}.a.0", f"{job}.1.-1", f"other-{job}.1.0", f"{job}.1.0.0", "bulkqa-.1.0"):
        with pytest.raises(UnknownTask):
            queue.parse_task_id(bad)


def test_a_reviewer_who_saw_a_whole_page_of_screens_is_not_stuck_on_it(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CANDIDATES_PER_PAGE", 2)
    world = started(clock, screens=5, images=1, workers=2)
    for _ in range(5):
        lease = world.service.next_task(world.job, "alice")
        assert lease is not None and queue.parse_task_id(lease.task_id).k == 0
        world.service.answer(lease.task_id, "alice", lease.lease_id, world.answer(lease))
    assert world.service.next_task(world.job, "alice") is None  # every second turn is of a screen she saw
    lease = world.service.next_task(world.job, "bob")
    assert lease is not None and queue.parse_task_id(lease.task_id).k == 1


def test_a_job_name_no_job_could_have_is_unknown_without_a_lookup(clock: Clock) -> None:
    world = started(clock, screens=1)
    for name in ("x" * 3000, "../etc", "", f"{world.job}x"):
        with pytest.raises(UnknownJob):
            world.service.next_task(name, "alice")
        with pytest.raises(UnknownJob):
            world.service.job_detail(name)


def test_the_labels_tables_versioned_write_behaves_as_its_fake(clock: Clock) -> None:
    world = ReviewWorld(clock, screens=1, images=1)
    fake = FakeLabelsTable()
    (item_id,) = world.batches[0].ids
    fake.items[keys.partition(world.run_id, item_id), item_id] = {"item_id": item_id}
    seen = []
    for labels in (world.labels, fake):
        write = functools.partial(labels.set_verdicts, world.run_id, item_id)
        seen.append(
            (
                write(2, 0, {"a": "confirm", "b": "confirm"}, "j", "b", version=2),
                write(1, 0, {"a": "confirm"}, "j", "b", version=1),  # stale: True, nothing changes
                write(1, 0, {"a": "confirm"}, "j", "b", version=2),  # same version: nothing changes
                write(1, 1, {"a": "confirm", "b": "reject"}, "j", "b", version=3),
                labels.set_verdicts(world.run_id, "00000000000000ff", 1, 0, {}, "j", "b", version=1),
            )
        )
    assert seen == [(True, True, True, True, False)] * 2
    (stored,) = world.labels_of(world.batches[0])
    assert (stored["WorkerConfirmCount"], stored["WorkerDisconfirmCount"], stored["review_version"]) == (1, 1, 3)
    assert fake.item(world.run_id, item_id)["review_version"] == 3


def test_the_same_answer_delivered_twice_at_once_counts_once(clock: Clock) -> None:
    world = started(clock, screens=2, workers=1)
    lease = world.service.next_task(world.job, "alice")
    assert lease is not None
    replays: list[bool] = []
    in_threads(
        lambda n: replays.append(world.service.answer(lease.task_id, "alice", lease.lease_id, world.answer(lease))), 4
    )
    assert sorted(replays) == [False, True, True, True]
    job = meta(world)
    assert (job.done, job.tallied) == (1, 1)


def test_one_reviewer_asking_twice_at_once_holds_one_task(clock: Clock) -> None:
    world = started(clock, screens=6, workers=1)
    got: list[str] = []

    def ask(n: int) -> None:
        lease = world.service.next_task(world.job, "alice")
        assert lease is not None
        got.append(lease.task_id)

    in_threads(ask, 4)
    assert len(set(got)) == 1
    leased = [i for i in world.table.scan_all() if i.get("state") == "LEASED"]
    assert len(leased) == 1 and leased[0]["lease_owner"] == "alice"
