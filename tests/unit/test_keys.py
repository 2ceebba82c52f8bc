"""bulkqa.keys: run ids, item ids, table partitions, the bucket layout and labeling job names."""

from __future__ import annotations

import inspect
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkqa import keys
from bulkqa.errors import MalformedAnswer

BUCKET = "bulk-label-qa-labelsbucket-example"


# --- run ids -------------------------------------------------------------------------------------


def is_run_id(value: str) -> bool:
    """What a run id must be: lower-case [a-z0-9-], at most 48 characters, no leading or trailing '-'
    (it goes into S3 keys, the batch-file pattern keys.parse_batch_uri reads, and job names)."""
    return re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?", value) is not None


def test_run_id_is_readable_and_stable() -> None:
    run_id = keys.run_id_for(BUCKET, "incoming/sample.csv", "v1")
    assert re.fullmatch(r"sample-[0-9a-f]{10}", run_id)
    assert keys.run_id_for(BUCKET, "incoming/sample.csv", "v1") == run_id
    assert is_run_id(run_id)


@pytest.mark.parametrize(
    ("other_bucket", "other_key", "other_version"),
    [
        (BUCKET, "incoming/sample.csv", "v2"),  # a re-upload: a new run
        (BUCKET, "incoming/other/sample.csv", "v1"),  # same file name elsewhere
        ("another-bucket", "incoming/sample.csv", "v1"),
    ],
)
def test_run_id_changes_with_bucket_key_or_version(other_bucket: str, other_key: str, other_version: str) -> None:
    assert keys.run_id_for(BUCKET, "incoming/sample.csv", "v1") != keys.run_id_for(
        other_bucket, other_key, other_version
    )


@pytest.mark.parametrize(
    ("key", "prefix"),
    [
        ("incoming/Sea Turtles 2026.CSV", "sea-turtles-2026-"),
        ("incoming/ünïcödé.csv", "n-c-d-"),
        ("incoming/日本.csv", "labels-"),  # nothing left of the name: a fixed word, never empty
        ("incoming/" + "x" * 80 + ".csv", "x" * 24 + "-"),
        ("incoming/--a--.csv", "a-"),
    ],
)
def test_run_id_slug(key: str, prefix: str) -> None:
    run_id = keys.run_id_for(BUCKET, key, "v")
    assert run_id.startswith(prefix)
    assert is_run_id(run_id)


@given(st.text(min_size=1, max_size=120), st.text(max_size=40))
def test_every_run_id_is_valid_and_makes_valid_job_names(stem: str, version: str) -> None:
    run_id = keys.run_id_for(BUCKET, f"incoming/{stem}.csv", version)
    assert is_run_id(run_id)
    for part in (0, 7, 99, 100):
        name = keys.job_name(run_id, part)
        assert len(name) <= 63
        assert name == name.lower()
        assert keys.job_name_from_arn(f"arn:aws:sagemaker:us-east-1:111122223333:labeling-job/{name}") == name


# --- item ids and partitions ---------------------------------------------------------------------


def test_item_id_is_16_hex_and_depends_on_image_and_label() -> None:
    item = keys.item_id("s3://b/crab/image_0001.jpg", "Crab")
    assert re.fullmatch(r"[0-9a-f]{16}", item)
    assert keys.is_item_id(item)
    assert keys.item_id("s3://b/crab/image_0001.jpg", "Crab") == item
    assert keys.item_id("s3://b/crab/image_0001.jpg", "Crayfish") != item
    assert keys.item_id("s3://b/crab/image_0002.jpg", "Crab") != item


@pytest.mark.parametrize("value", ["", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF", "g123456789abcdef"])
def test_is_item_id_rejects(value: str) -> None:
    assert not keys.is_item_id(value)


@given(st.text(max_size=30), st.text(max_size=30))
def test_partition_is_one_of_the_runs_partitions(image: str, label: str) -> None:
    item = keys.item_id(f"s3://b/{image}", label)
    assert keys.partition("run-1", item) in keys.partitions("run-1")


def test_partitions_are_distinct_and_per_run() -> None:
    parts = keys.partitions("run-1")
    assert len(parts) == len(set(parts)) == keys.LABEL_PARTITIONS == 16
    assert all(p.startswith("run-1#") for p in parts)
    assert not set(parts) & set(keys.partitions("run-2"))
    # a run's items spread over all its partitions
    items = [keys.item_id(f"s3://b/{n}.jpg", "Crab") for n in range(400)]
    assert {keys.partition("run-1", i) for i in items} == set(parts)


# --- the bucket layout ---------------------------------------------------------------------------


def test_layout() -> None:
    run = "sample-84f010a70d"
    assert keys.plan_key(run) == f"runs/{run}/ingest/chunks.json"
    assert keys.chunk_result_key(run, 7) == f"runs/{run}/ingest/results/000007.json"
    assert keys.chunk_result_key(run, 7).startswith(keys.chunk_results_prefix(run))
    assert keys.rejected_key(run) == f"runs/{run}/rejected.csv"
    assert keys.ingest_summary_key(run) == f"runs/{run}/ingest/summary.json"
    assert keys.batch_key(run, 3, "0123456789abcdef") == f"runs/{run}/batches/000003-0123456789abcdef.json"
    assert keys.manifest_key(run, 2) == f"runs/{run}/manifests/part-002.manifest"
    assert keys.worker_template_key(run) == f"runs/{run}/worker-task.liquid.html"
    assert keys.labeling_output_prefix(run) == f"runs/{run}/labeling-output/"
    assert keys.report_prefix(run) == f"reports/{run}/"
    every = [
        keys.plan_key(run),
        keys.chunk_result_key(run, 0),
        keys.rejected_key(run),
        keys.batch_key(run, 0, "0" * 16),
        keys.manifest_key(run, 0),
        keys.worker_template_key(run),
        keys.labeling_output_prefix(run),
    ]
    assert all(k.startswith(keys.run_prefix(run)) for k in every)


def _every_key_function() -> list[str]:
    """What every ``*_key`` / ``*_prefix`` function of bulkqa.keys returns, called with placeholder arguments."""
    out = []
    for name, function in vars(keys).items():
        if not callable(function) or name.startswith("_") or not name.endswith(("_key", "_prefix")):
            continue
        params = inspect.signature(function).parameters.values()
        out.append(
            function(*("0" * 16 if p.name == "digest" else (0 if p.annotation == "int" else "r") for p in params))
        )
    return out


def test_the_stack_prefixes_cover_every_key_the_stack_writes() -> None:
    assert keys.STACK_PREFIXES == ("incoming/", "map-runs/", "reports/", "runs/")
    written = _every_key_function()
    assert len(written) >= 10
    for key in [*written, keys.UPLOAD_PREFIX + "labels.csv"]:
        assert keys.stack_prefix_of(key) in keys.STACK_PREFIXES, key
    assert keys.stack_prefix_of("images/runs/a.jpg") is None
    assert keys.stack_prefix_of("runs") is None  # a key named like a prefix, without the slash


def test_batch_digest_ignores_order_and_sees_membership() -> None:
    ids = [keys.item_id(f"s3://b/{n}.jpg", "Crab") for n in range(25)]
    digest = keys.batch_digest(ids)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert keys.batch_digest(list(reversed(ids))) == digest
    assert keys.batch_digest(set(ids)) == digest
    assert keys.batch_digest(ids[:-1]) != digest
    assert keys.batch_digest([*ids[:-1], keys.item_id("s3://b/x.jpg", "Crab")]) != digest


def test_parse_batch_uri_round_trip() -> None:
    uri = f"s3://{BUCKET}/{keys.batch_key('sample-84f010a70d', 12, '8a7c3dfccca698b0')}"
    ref = keys.parse_batch_uri(uri)
    assert (ref.bucket, ref.run_id, ref.seq, ref.digest) == (BUCKET, "sample-84f010a70d", 12, "8a7c3dfccca698b0")
    assert ref.batch_id == "000012-8a7c3dfccca698b0"
    assert ref.uri == uri
    assert ref.key == "runs/sample-84f010a70d/batches/000012-8a7c3dfccca698b0.json"


@pytest.mark.parametrize(
    "uri",
    [
        "https://bkt.s3.amazonaws.com/runs/r/batches/000001-0123456789abcdef.json",
        "s3://bkt",
        "s3:///runs/r/batches/000001-0123456789abcdef.json",
        "s3://bkt/images/crab/image_0001.jpg",
        "s3://bkt/runs/r/batches/1-0123456789abcdef.json",  # sequence not 6 digits
        "s3://bkt/runs/r/batches/000001-0123456789ABCDEF.json",  # upper-case digest
        "s3://bkt/runs/r/batches/000001-0123456789abcdef.json.bak",
        "s3://bkt/runs/R/batches/000001-0123456789abcdef.json",  # not a run id
        "s3://bkt/x/runs/r/batches/000001-0123456789abcdef.json",
    ],
)
def test_parse_batch_uri_rejects(uri: str) -> None:
    with pytest.raises(MalformedAnswer, match="not a batch file"):
        keys.parse_batch_uri(uri)


@pytest.mark.parametrize("uri", ["s3://bkt", "s3://bkt/", "s3:///key", "http://bkt/key", "bkt/key"])
def test_parse_s3_uri_rejects(uri: str) -> None:
    with pytest.raises(ValueError, match="not an s3:// URI"):
        keys.parse_s3_uri(uri)


def test_parse_s3_uri_keeps_slashes_in_the_key() -> None:
    assert keys.parse_s3_uri("s3://bkt/a/b//c.jpg") == ("bkt", "a/b//c.jpg")


# --- labeling job names --------------------------------------------------------------------------


def test_job_name() -> None:
    assert keys.job_name("sample-84f010a70d", 0) == "bulkqa-sample-84f010a70d-p00"
    assert keys.job_name("sample-84f010a70d", 12) == "bulkqa-sample-84f010a70d-p12"


def test_job_name_refuses_invalid_names() -> None:
    with pytest.raises(ValueError, match="invalid labeling job name"):
        keys.job_name("x" * 60, 0)
    with pytest.raises(ValueError, match="invalid labeling job name"):
        keys.job_name("bad_run", 0)


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (
            "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/bulkqa-sample-84f010a70d-p00",
            "bulkqa-sample-84f010a70d-p00",
        ),
        ("arn:aws-cn:sagemaker:cn-north-1:111122223333:labeling-job/BulkQA-Run-P00", "bulkqa-run-p00"),
        ("arn:aws:sagemaker:us-east-1:111122223333:labeling-job/job/extra", "job"),
    ],
)
def test_job_name_from_arn(arn: str, name: str) -> None:
    assert keys.job_name_from_arn(arn) == name


@pytest.mark.parametrize("arn", ["", "arn:aws:sagemaker:us-east-1:111122223333:training-job/x", "arn:aws:s3:::bucket"])
def test_job_name_from_arn_rejects_other_resources(arn: str) -> None:
    with pytest.raises(ValueError, match="not a labeling job ARN"):
        keys.job_name_from_arn(arn)


# --- upload keys as S3 events give them (#12, defect 11) ----------------------------------------------

#: (the object's real key, the key URL-encoded as S3 notifications encode it: quote_plus, "/" kept)
ENCODED_KEYS = [
    ("incoming/my labels.csv", "incoming/my+labels.csv"),
    ("incoming/my labels.csv", "incoming/my%20labels.csv"),
    ("incoming/a+b.csv", "incoming/a%2Bb.csv"),
    ("incoming/étiquettes ü.csv", "incoming/%C3%A9tiquettes+%C3%BC.csv"),
    ("incoming/日本 1+1=2.CSV", "incoming/%E6%97%A5%E6%9C%AC+1%2B1%3D2.CSV"),
]


class _Bucket:
    """Objects by key; ``size`` raises like S3 for a key that does not exist."""

    def __init__(self, *names: str) -> None:
        self.objects = {name: len(name) for name in names}
        self.asked: list[str] = []

    def size(self, key: str) -> int:
        self.asked.append(key)
        if key not in self.objects:
            raise KeyError(f"NoSuchKey: {key}")
        return self.objects[key]


def test_encoded_keys_are_what_s3_would_send() -> None:
    from urllib.parse import quote_plus

    for real, encoded in ENCODED_KEYS:
        assert encoded in (quote_plus(real, safe="/"), quote_plus(real, safe="/").replace("+", "%20"))


@pytest.mark.parametrize(("real", "encoded"), ENCODED_KEYS)
def test_a_key_that_does_not_exist_as_given_is_retried_decoded(real: str, encoded: str) -> None:
    bucket = _Bucket(real)
    assert keys.resolve_upload(encoded, bucket.size) == (real, len(real))
    assert bucket.asked == [encoded, real]


@pytest.mark.parametrize(("real", "encoded"), ENCODED_KEYS)
def test_a_key_that_exists_as_given_is_used_as_given(real: str, encoded: str) -> None:
    # the event carried the key decoded (or the object's name really has a '+' or '%'): no second request
    for name in (real, encoded):
        bucket = _Bucket(real, encoded)
        assert keys.resolve_upload(name, bucket.size) == (name, len(name))
        assert bucket.asked == [name]


def test_a_key_found_in_neither_form_raises_the_error_about_the_key_as_given() -> None:
    bucket = _Bucket()
    with pytest.raises(KeyError, match=r"NoSuchKey: incoming/my\+labels.csv"):
        keys.resolve_upload("incoming/my+labels.csv", bucket.size)
    assert bucket.asked == ["incoming/my+labels.csv", "incoming/my labels.csv"]


@pytest.mark.parametrize("key", ["incoming/plain.csv", "incoming/100%.csv", "incoming/bad%FF.csv"])
def test_a_key_that_decoding_does_not_change_is_tried_once(key: str) -> None:
    bucket = _Bucket()
    with pytest.raises(KeyError):
        keys.resolve_upload(key, bucket.size)
    assert bucket.asked == [key]


def test_the_run_id_reads_the_same_for_an_encoded_key() -> None:
    assert keys.run_id_for(BUCKET, "incoming/my+labels.csv", "v1").startswith("my-labels-")
    assert keys.run_id_for(BUCKET, "incoming/%C3%A9tiquettes.csv", "v1").startswith("tiquettes-")


def test_the_state_machine_writes_only_under_the_stack_prefixes() -> None:
    """The Distributed Maps' ResultWriter prefixes are stack prefixes too: image keys there are refused."""
    import json
    import pathlib

    asl = pathlib.Path(__file__).resolve().parents[2] / "statemachine" / "bulk_qa.asl.json"
    prefixes: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            writer = node.get("ResultWriter")
            if isinstance(writer, dict):
                prefixes.append(str(writer["Parameters"]["Prefix"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(asl.read_text(encoding="utf-8")))
    assert len(prefixes) == 2
    for prefix in prefixes:
        assert keys.stack_prefix_of(prefix + "/x") == keys.MAP_RESULTS_PREFIX, prefix
