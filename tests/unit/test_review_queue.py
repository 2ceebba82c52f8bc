"""The review queue's pure rules (bulkqa.review.queue) and the settings of the self-hosted backend."""

from __future__ import annotations

import dataclasses

import pytest

from bulkqa import keys, settings
from bulkqa.errors import SettingsError, UnknownTask
from bulkqa.review import queue
from bulkqa.review.queue import Meta, Slot, TaskRef
from tests.support.fakes import FakeLabelsTable

JOB = keys.job_name("labels-0123456789", 0)


def meta(**changes: object) -> Meta:
    base = Meta(JOB, "labels-0123456789", 0, "s3://b/m", "InProgress", 2, 600, 3600, 1000.0, screens=3)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_the_queue_order_is_breadth_first_then_never_leased_then_oldest() -> None:
    keys_in_order = [
        queue.queue_sk(0, 0, 7),  # a first turn never leased
        queue.queue_sk(0, 0, 9),
        queue.queue_sk(0, 1_800_000_000, 1),  # a first turn released (or whose lease lapsed) at that time
        queue.queue_sk(0, 1_800_000_500.2, 0),
        queue.queue_sk(1, 0, 0),  # second turns only after every first turn
    ]
    assert sorted(keys_in_order) == keys_in_order
    assert queue.available_at(keys_in_order[3]) == 1_800_000_501  # a lease's end rounds up
    assert queue.available_at(None) == 0 and queue.available_at("garbage") == 0
    # the whole range a claim asks for at `now`: every turn-k key available by then, nothing of turn k+1
    high = f"0#{1_800_000_000:012d}#99999999"
    assert [k for k in keys_in_order if "0#" <= k <= high] == keys_in_order[:3]


def test_task_ids_round_trip_and_nothing_else_parses() -> None:
    ref = TaskRef(JOB, 41, 1)
    assert queue.parse_task_id(ref.task_id) == ref
    assert queue.task_id(JOB, 41, 1) == f"{JOB}.41.1"
    for bad in ("", ".1.0", f"{JOB}.1", f"{JOB}..0", f"{JOB}.1.x", f"{JOB}.１.0", "bulkqa-x-p0.1.0", f"{JOB}x.1.0"):
        with pytest.raises(UnknownTask):
            queue.parse_task_id(bad)


def test_shards_grow_with_the_job_and_stop_at_sixteen() -> None:
    assert [queue.shard_count(n) for n in (0, 1, 64, 65, 400, 1_024, 100_000)] == [1, 1, 1, 2, 7, 16, 16]
    assert queue.queue_pk(JOB, 17, 16) == f"Q#{JOB}#01" == queue.shard_pk(JOB, 1)


def test_a_lease_lasts_the_time_limit_at_most_three_times_and_never_past_availability() -> None:
    assert queue.lease_until(100, 100, 60, 10_000) == 160
    assert queue.lease_until(250, 100, 60, 10_000) == 280  # 3 x 60 after the claim
    assert queue.lease_until(100, 100, 60, 130) == 130


def test_the_same_answer_in_any_key_order_has_one_hash() -> None:
    a = {"00000000000000aa": True, "00000000000000bb": False}
    b = dict(reversed(list(a.items())))
    assert (
        queue.canonical_answer(a) == queue.canonical_answer(b) == '{"00000000000000aa":true,"00000000000000bb":false}'
    )
    assert queue.answer_hash(a) == queue.answer_hash(b) != queue.answer_hash({**a, "00000000000000bb": True})


def test_a_screens_tally_counts_only_answered_turns() -> None:
    def slot(k: int, state: str, owner: str | None, answer: str | None) -> Slot:
        return Slot(JOB, 0, k, "s3://b/k", state, lease_owner=owner, answer=answer)

    version, tallies = queue.tally(
        [
            slot(0, "DONE", "alice", '{"00000000000000aa":true,"00000000000000bb":false}'),
            slot(1, "DONE", "bob", '{"00000000000000aa":false,"00000000000000bb":false}'),
            slot(2, "LEASED", "carol", None),
            slot(3, "EXPIRED", None, None),
        ]
    )
    assert version == 2
    assert (tallies["00000000000000aa"].confirms, tallies["00000000000000aa"].rejects) == (1, 1)
    assert tallies["00000000000000aa"].verdict == "split" and tallies["00000000000000bb"].verdict == "disconfirmed"
    assert tallies["00000000000000bb"].reviewers == {"alice": "reject", "bob": "reject"}
    assert queue.tally([slot(0, "OPEN", None, None)]) == (0, {})


def test_a_job_is_complete_when_every_turn_is_in_and_tallied() -> None:
    assert not meta().all_in and meta().remaining == 6
    assert meta(done=4, expired=2, tallied=4).all_in
    assert not meta(done=4, expired=2, tallied=3).all_in  # an answer not yet in the labels table
    assert meta(done=4, expired=2, tallied=4).effective_status() == "Completed"
    assert meta(status="Stopped", done=1, tallied=1).effective_status() == "Stopped"
    assert meta(status="Initializing").effective_status() == "Initializing"
    assert meta(available_until=2000.0).accepting(1999.0) and not meta(available_until=2000.0).accepting(2000.0)
    assert not meta(status="Stopped", available_until=2000.0).accepting(10.0)
    counters = meta(done=3, expired=1).counters()
    assert counters["TotalLabeled"] == 3 and counters["Unlabeled"] == 3 and counters["Expired"] == 1


def test_a_stale_versioned_tally_changes_nothing() -> None:
    labels = FakeLabelsTable()
    item = "00000000000000aa"
    labels.items[keys.partition("r", item), item] = {"item_id": item}
    assert labels.set_verdicts("r", item, 2, 0, {"a": "confirm", "b": "confirm"}, "j", "b", version=2)
    assert labels.set_verdicts("r", item, 1, 0, {"a": "confirm"}, "j", "b", version=1)  # stale: True, no change
    assert labels.item("r", item)["WorkerConfirmCount"] == 2 and labels.item("r", item)["review_version"] == 2
    assert not labels.set_verdicts("r", "00000000000000bb", 1, 0, {}, "j", "b", version=1)


BASE_ENV = {
    "BUCKET_NAME": "b",
    "LABELS_TABLE_NAME": "l",
    "RUNS_TABLE_NAME": "r",
    "LABELING_ROLE_ARN": "arn:role",
    "PRE_LABELING_FUNCTION_ARN": "arn:pre",
    "POST_LABELING_FUNCTION_ARN": "arn:post",
}
WORKTEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/reviewers"


def test_ground_truth_needs_a_work_team_and_self_hosted_a_review_table() -> None:
    assert settings.labeling_settings({**BASE_ENV, "WORKTEAM_ARN": WORKTEAM}).review_backend == "GroundTruth"
    with pytest.raises(SettingsError, match="WORKTEAM_ARN is empty"):
        settings.labeling_settings({**BASE_ENV, "WORKTEAM_ARN": ""})
    with pytest.raises(SettingsError, match="WORKTEAM_ARN is empty"):
        settings.labeling_settings(BASE_ENV)
    chosen = settings.labeling_settings({**BASE_ENV, "REVIEW_BACKEND": "SelfHosted", "REVIEW_TABLE_NAME": "t"})
    assert (chosen.review_backend, chosen.review_table, chosen.workteam_arn) == ("SelfHosted", "t", "")
    with pytest.raises(SettingsError, match="REVIEW_TABLE_NAME is not set"):
        settings.labeling_settings({**BASE_ENV, "REVIEW_BACKEND": "SelfHosted"})
    with pytest.raises(SettingsError, match="REVIEW_BACKEND='selfhosted' is not accepted"):
        settings.labeling_settings({**BASE_ENV, "REVIEW_BACKEND": "selfhosted", "WORKTEAM_ARN": WORKTEAM})


def test_review_settings_read_every_variable_of_the_review_functions() -> None:
    env = {
        **BASE_ENV,
        "REVIEW_TABLE_NAME": "t",
        "USER_POOL_ID": "us-east-1_abc",
        "USER_POOL_CLIENT_ID": "c",
        "COGNITO_ENDPOINT": "https://cognito-idp.us-east-1.amazonaws.com/",
        "WORKERS_PER_OBJECT": "2",
        "TASK_TIME_LIMIT_SECONDS": "300",
        "REVIEW_BACKEND": "SelfHosted",
        "AWS_REGION": "eu-west-1",
    }
    read = settings.review_settings(env)
    assert (read.review_table, read.user_pool_id, read.workers_per_object, read.task_time_limit) == (
        "t",
        "us-east-1_abc",
        2,
        300,
    )
    assert (read.task_availability, read.image_bucket, read.region) == (864_000, "", "eu-west-1")
    with pytest.raises(SettingsError, match="USER_POOL_ID is not set"):
        settings.review_settings({k: v for k, v in env.items() if k != "USER_POOL_ID"})
