"""The pipeline's JSON, one typed definition each, in the order the data flows.

CSV rows (:mod:`bulkqa.rows`) -> chunk results -> batches + manifests -> labeling jobs -> verdicts ->
report (``bulkqa.report_types``). What Step Functions passes between states, the JSON files of a run
and the tables' items are ``TypedDict``s: their keys are the state machine's
(``statemachine/bulk_qa.asl.json`` reads them) and the files' formats, so they never change.

The shipped code imports this module only for type checking (``if TYPE_CHECKING:``): a TypedDict is
a plain dict at run time, and the functions' cold start does not pay for building these classes.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from .rows import AcceptedRow, BelowMinRow, RejectedRow

# --- the ingest plan and the chunk results (S3: runs/<run>/ingest/) ---------------------------------------


class HeaderJSON(TypedDict):
    columns: list[str]
    image_column: str
    image_index: int
    label_index: int
    confidence_index: int
    data_start: int


class ChunkJSON(TypedDict):
    """One entry of the plan (``chunks.json``): the Distributed Map's item."""

    chunk: int
    start: int
    end: int
    first_line: int


class ChunkCounts(TypedDict):
    accepted: int
    rejected: int
    below_min_confidence: int


class ChunkResultJSON(TypedDict):
    """``ingest/results/<chunk>.json``; rows are written as JSON arrays."""

    chunk: int
    first_line: int
    rows: int
    blank: int
    counts: ChunkCounts
    accepted: list[AcceptedRow]
    rejected: list[RejectedRow]
    below_min: list[BelowMinRow]


class IngestRows(TypedDict):
    """What happened to the file's rows (make_batches' ``rows``, the summary's and the report's)."""

    total: int
    accepted: int
    rejected: int
    below_min_confidence: int
    blank_lines: int


class IngestSummary(TypedDict):
    """``ingest/summary.json``: written by make_batches, read by analyze."""

    run_id: str
    rows: IngestRows
    rejected_key: str
    tasks: NotRequired[int]
    jobs: NotRequired[int]
    labels: NotRequired[int]


# --- batches and manifests (S3: runs/<run>/batches/, manifests/) -------------------------------------------


class BatchItemJSON(TypedDict):
    id: str
    image: str
    s3_uri: str
    confidence: float
    line: int


class BatchDocument(TypedDict):
    """One batch file: one reviewer screen, one label."""

    version: int
    run_id: str
    seq: int
    label: str
    items: list[BatchItemJSON]


ManifestLine = TypedDict(
    "ManifestLine", {"source-ref": str, "batch-id": str, "label": str, "image-count": int}
)  # one JSON line of a Ground Truth input manifest


class TaskImage(TypedDict):
    id: str
    uri: str
    name: str
    confidence: float


class TaskInput(TypedDict):
    """The worker page's ``task.input`` (pre-labeling's output)."""

    batch_id: str
    label: str
    image_count: int
    images: list[TaskImage]


# --- consolidation (post-labeling's response) -------------------------------------------------------------


class ImageVerdict(TypedDict):
    verdict: str
    confirms: int
    rejects: int
    reviewers: dict[str, str]  # worker id -> confirm | reject


class ExcludedAnswer(TypedDict):
    workerId: str
    reason: str


class ConsolidatedContent(TypedDict):
    batch_id: str | None
    images: dict[str, ImageVerdict]
    excluded_answers: list[ExcludedAnswer]
    unknown_images: list[str]
    error: NotRequired[str]


class ConsolidatedAnnotation(TypedDict):
    content: dict[str, ConsolidatedContent]  # label attribute name -> content


class ConsolidationEntry(TypedDict):
    """One entry of the annotation-consolidation response: exactly one per data object."""

    datasetObjectId: str
    consolidatedAnnotation: ConsolidatedAnnotation


# --- the tables' items ----------------------------------------------------------------------------------------


class LabelItem(TypedDict):
    """A labels-table item as ingest writes it (2019 attribute names kept)."""

    run_partition: str
    item_id: str
    run_id: str
    s3_image_url: str
    image: str
    label: str
    confidence: float
    line: int


class StoredLabel(TypedDict, total=False):
    """A labels-table item read back: the ingest attributes and post-labeling's verdicts (a projection
    may hold only some of them)."""

    run_partition: str
    item_id: str
    run_id: str
    s3_image_url: str
    image: str
    label: str
    confidence: float
    line: int
    WorkerConfirmCount: int
    WorkerDisconfirmCount: int
    WorkerVerdicts: dict[str, str]
    labeling_job: str
    batch_id: str


class SourceJSON(TypedDict):
    """The uploaded object a run reads."""

    bucket: str
    key: str
    version: str
    size: int


class RunRecord(TypedDict, total=False):
    """A runs-table item: a run (``run#<id>``) or a labeling job (``job#<name>``, holding its task token)."""

    status: str
    source: SourceJSON
    created: str
    rows: IngestRows
    tasks: int
    jobs: int
    report: str
    token: str
    run_id: str
    part: int
    updated: str


# --- what the steps receive and return (the state machine's JSON) -------------------------------------------


class RegisterRunResult(TypedDict):
    run_id: str
    duplicate: bool
    source: SourceJSON


class PlanIngestInput(TypedDict):
    run_id: str
    source: SourceJSON


class IngestPlan(TypedDict):
    """plan_ingest's output: the state's ``ingest``."""

    plan_key: str
    chunks: int
    records: int
    scale: str  # percent | fraction
    header: HeaderJSON


class IngestChunkInput(TypedDict):
    """The Distributed Map's child input (ItemSelector)."""

    run_id: str
    source: SourceJSON
    ingest: IngestPlan
    chunk: ChunkJSON


class ChunkSummary(TypedDict):
    chunk: int
    rows: int
    accepted: int
    rejected: int
    below_min_confidence: int


class ChunkCount(TypedDict):
    chunks: int


class MakeBatchesInput(TypedDict):
    run_id: str
    ingest: ChunkCount  # the state's ingest.chunks


class JobPart(TypedDict):
    """One labeling job of a run (an item of the "Label every part" Map)."""

    run_id: str
    part: int
    tasks: int
    manifest: str


class BatchesResult(TypedDict):
    rows: IngestRows
    tasks: int
    images: int
    jobs: list[JobPart]
    check_seconds: int


class StartJobInput(TypedDict):
    run_id: str
    part: int
    tasks: int
    manifest: str
    token: str


class StartJobResult(TypedDict):
    job_name: str
    job_arn: str


class JobResult(TypedDict):
    """What the waiting workflow receives when a labeling job is done (counts and pointers only)."""

    job_name: str
    status: str
    output_manifest: str
    counters: dict[str, int]


class JobEventResult(TypedDict):
    resumed: bool
    reason: NotRequired[str]
    job: NotRequired[str]
    status: NotRequired[str]


class PreLabelingResult(TypedDict):
    taskInput: TaskInput
    isHumanAnnotationRequired: bool


class AnalyzeInput(TypedDict):
    run_id: str
    partial: bool


class AnalyzeResult(TypedDict):
    run_id: str
    report_prefix: str
    partial: bool
    rows: IngestRows
    reviewed: int | None
    confirmed: int
    disconfirmed: int
    pct_correct: float | None
