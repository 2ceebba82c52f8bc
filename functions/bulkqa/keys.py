"""Names and keys: run ids, item ids, table keys, the bucket layout, labeling job names.

Everything here is derived, never stored twice: a run id comes from the uploaded object version, an
item id from (image, label), a labels-table partition from the run and the item id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote_plus

from .errors import MalformedAnswer

UPLOAD_PREFIX = "incoming/"
RUNS_PREFIX = "runs/"
REPORTS_PREFIX = "reports/"

#: The labels table spreads each run over this many partition-key values, so a 1M-image run
#: writes to 16 partitions (16 x 1,000 WCU/s) instead of one hot key, and the analysis reads a
#: run with 16 Queries instead of a Scan. Part of the key layout: never change it for a live table.
LABEL_PARTITIONS = 16

#: Ground Truth label attribute: pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}, not ending in
#: -metadata or -ref (docs/ground-truth.md#createlabelingjob).
LABEL_ATTRIBUTE_NAME = "bulk-qa-verdicts"

_ITEM_ID = re.compile(r"^[0-9a-f]{16}$")
_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_BATCH_KEY = re.compile(r"^runs/(?P<run>[a-z0-9-]+)/batches/(?P<seq>\d{6})-(?P<digest>[0-9a-f]{16})\.json$")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slug(text: str, max_len: int = 24) -> str:
    """Lower-case ``[a-z0-9-]`` rendering of a file name, never empty."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-")
    return out or "labels"


def run_id_for(bucket: str, key: str, version: str) -> str:
    """The run id of one uploaded object version: readable, unique, stable under redelivery.

    ``version`` is the S3 version id when versioning is on, else the event's sequencer/etag: the same
    upload always maps to the same run, a re-upload (new version) to a new run.
    """
    stem = unquote_plus(key.rsplit("/", 1)[-1])  # readable whether the event's key was URL-encoded or not
    if stem.lower().endswith(".csv"):
        stem = stem[:-4]
    return f"{slug(stem)}-{_sha(f'{bucket}/{key}#{version}')[:10]}"


T = TypeVar("T")


def url_decoded(key: str) -> str | None:
    """An object key as S3 URL-encodes it in notifications (``+`` for a space, ``%XX`` for other bytes),
    decoded; None when decoding changes nothing (the key can only be meant as given)."""
    decoded = unquote_plus(key, encoding="utf-8", errors="strict") if "%" in key or "+" in key else key
    return decoded if decoded != key else None


def resolve_upload(key: str, use: Callable[[str], T]) -> tuple[str, T]:
    """``use(key)`` with an upload's key as the S3 event gave it; if that fails (no such object), retried
    with the key URL-decoded. Returns the key that worked and ``use``'s result.

    Whether EventBridge's "Object Created" events carry the key URL-encoded is not clearly documented
    (S3's other notifications do encode it), so both forms are tried, the key as given first: a key that
    really is ``a+b.csv`` is found as given, one that was ``a b.csv`` is found decoded. If neither works,
    the error about the key as given is raised.
    """
    try:
        return key, use(key)
    except Exception as first:
        try:
            decoded = url_decoded(key)
        except UnicodeDecodeError:  # %XX escapes that are not UTF-8: the key can only be meant as given
            decoded = None
        if decoded is None:
            raise
        try:
            return decoded, use(decoded)
        except Exception:
            raise first from None


def item_id(image_uri: str, label: str) -> str:
    """Stable 16-hex id of one (image, label) record; the checkbox id on the worker page."""
    return _sha(f"{image_uri}\n{label}")[:16]


def is_item_id(value: str) -> bool:
    return bool(_ITEM_ID.match(value))


def partition(run_id: str, item: str) -> str:
    """Labels-table partition key of an item of a run."""
    return f"{run_id}#{int(item[:4], 16) % LABEL_PARTITIONS:02d}"


def partitions(run_id: str) -> list[str]:
    """Every partition-key value of a run, for reading it back without a Scan."""
    return [f"{run_id}#{n:02d}" for n in range(LABEL_PARTITIONS)]


# --- the bucket layout: runs/<run id>/... and reports/<run id>/... ---------------------------------


def run_prefix(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/"


def plan_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}ingest/chunks.json"


def chunk_result_key(run_id: str, chunk: int) -> str:
    return f"{run_prefix(run_id)}ingest/results/{chunk:06d}.json"


def chunk_results_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}ingest/results/"


def rejected_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}rejected.csv"


def ingest_summary_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}ingest/summary.json"


def batch_digest(item_ids: list[str] | tuple[str, ...] | set[str] | frozenset[str]) -> str:
    """Digest of a batch's membership: the worker's answer must name exactly these items."""
    return _sha("\n".join(sorted(item_ids)))[:16]


def batch_key(run_id: str, seq: int, digest: str) -> str:
    return f"{run_prefix(run_id)}batches/{seq:06d}-{digest}.json"


def manifest_key(run_id: str, part: int) -> str:
    return f"{run_prefix(run_id)}manifests/part-{part:03d}.manifest"


def worker_template_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}worker-task.liquid.html"


def labeling_output_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}labeling-output/"


def report_prefix(run_id: str) -> str:
    return f"{REPORTS_PREFIX}{run_id}/"


def job_name(run_id: str, part: int) -> str:
    """Lower-case labeling job name (names are case-insensitive and can never be reused)."""
    name = f"bulkqa-{run_id}-p{part:02d}"
    if not _JOB_NAME.match(name) or len(name) > 63:
        raise ValueError(f"invalid labeling job name {name!r}")
    return name


def job_name_from_arn(arn: str) -> str:
    """``arn:aws:sagemaker:<region>:<acct>:labeling-job/<name>`` -> lower-cased name."""
    marker = ":labeling-job/"
    if marker not in arn:
        raise ValueError(f"not a labeling job ARN: {arn!r}")
    return arn.split(marker, 1)[1].split("/", 1)[0].lower()


@dataclass(frozen=True, slots=True)
class BatchRef:
    """What a batch file's S3 URI says about the batch, without reading it."""

    bucket: str
    key: str
    run_id: str
    seq: int
    digest: str

    @property
    def batch_id(self) -> str:
        return f"{self.seq:06d}-{self.digest}"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _top_prefix(key: str) -> str:
    return key.split("/", 1)[0] + "/"


#: Where Step Functions writes the Distributed Maps' child outputs (the ASL's ``ResultWriter`` prefixes lie under it)
MAP_RESULTS_PREFIX = "map-runs/"

#: Every top-level prefix the stack writes to in its bucket, derived from the key functions above (a new
#: key function under a new prefix must be added here). Image keys under them are refused: reviewers must
#: never receive links to the stack's own files (uploads, run files, reports).
STACK_PREFIXES: tuple[str, ...] = tuple(
    sorted(
        {
            _top_prefix(key)
            for key in (
                UPLOAD_PREFIX,
                MAP_RESULTS_PREFIX,
                plan_key("r"),
                chunk_result_key("r", 0),
                rejected_key("r"),
                ingest_summary_key("r"),
                batch_key("r", 0, "0" * 16),
                manifest_key("r", 0),
                worker_template_key("r"),
                labeling_output_prefix("r"),
                report_prefix("r"),
            )
        }
    )
)


def stack_prefix_of(key: str) -> str | None:
    """The stack prefix ``key`` lies under (``runs/``...), or None for a key the stack never writes."""
    for prefix in STACK_PREFIXES:
        if key.startswith(prefix):
            return prefix
    return None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    if not bucket or not key:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return bucket, key


def parse_batch_uri(uri: str) -> BatchRef:
    """Parse ``s3://<bucket>/runs/<run>/batches/<seq>-<digest>.json``; MalformedAnswer if not."""
    try:
        bucket, key = parse_s3_uri(uri)
    except ValueError as exc:
        raise MalformedAnswer(f"data object {uri!r} is not a batch file written by make_batches") from exc
    match = _BATCH_KEY.match(key)
    if not match:
        raise MalformedAnswer(f"data object {uri!r} is not a batch file written by make_batches")
    return BatchRef(bucket, key, match["run"], int(match["seq"]), match["digest"])
