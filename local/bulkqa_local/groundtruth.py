"""A local SageMaker Ground Truth that follows the documented contracts (docs/ground-truth.md#the-local-ground-truth).

- ``CreateLabelingJob``: the request is validated by botocore against the real API model before it
  reaches this handler; we add the name rules and case-insensitive uniqueness (``ResourceInUse``).
- Per manifest line: invoke the pre-labeling function with GT's request, render the worker template
  from S3 with python-liquid and GT's filters, find the checkboxes in the rendered HTML, and let each
  reviewer answer (keys sorted alphabetically, as in the documented example).
- Write worker responses, the consolidation request, the consolidation response and the output
  manifest in GT's S3 layout; invoke the consolidation function with GT's request shape.
- Status ``InProgress`` -> ``Completed`` | ``Failed`` | ``Stopped``; ``DescribeLabelingJob`` and
  ``ListLabelingJobs`` answer with ``LabelCounters`` and the output location; a terminal status emits
  "SageMaker Ground Truth Labeling Job State Change" with the job ARN in ``resources[0]``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, TypedDict, cast
from urllib.parse import unquote, urlparse

from bulkqa import jsonl

from . import cfn

if TYPE_CHECKING:
    from boto3 import Session
    from botocore.awsrequest import AWSResponse
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client

    from .cloud import LocalCloud

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
CONSOLIDATION_BATCH = 10  # objects per consolidation request (GT sends batches; size UNCONFIRMED)


@dataclass(frozen=True)
class _Box:
    """A checkbox of the rendered page, and the image shown before it."""

    name: str | None
    value: str
    checked: bool
    image_url: str | None


class _WorkerAnswer(TypedDict):
    """One reviewer's answer to one task, as in Ground Truth's worker-response file."""

    workerId: str
    answerContent: dict[str | None, dict[str, bool]]  # checkbox name -> value -> checked
    submissionTime: str
    acceptanceTime: str
    timeSpentInSeconds: float


@dataclass(frozen=True)
class _Answered:
    """A task the reviewers answered: its manifest line, their answers, the worker-response file."""

    line: dict[str, Any]
    answers: list[_WorkerAnswer]
    worker_response_ref: str


#: a botocore before-call handler's answer: the HTTP response and the parsed body
_Answer = tuple["AWSResponse", dict[str, Any]]


class _Page(HTMLParser):
    """What a reviewer sees: the label, and each checkbox with the image shown before it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.label_parts: list[str] = []
        self._in_label = 0
        self._last_img: str | None = None
        self.boxes: list[_Box] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "data-qa-label" in attributes or self._in_label:
            self._in_label += 1
        if tag == "img" and attributes.get("src"):
            self._last_img = attributes["src"]
        if tag == "crowd-checkbox":
            self.boxes.append(
                _Box(
                    name=attributes.get("name"),
                    value=attributes.get("value") or "on",
                    checked="checked" in attributes and attributes["checked"] not in ("false",),
                    image_url=self._last_img,
                )
            )

    def handle_endtag(self, tag: str) -> None:
        if self._in_label:
            self._in_label -= 1

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self.label_parts.append(data)

    @property
    def label(self) -> str:
        return "".join(self.label_parts).strip()


def _key_from_presigned(url: str | None) -> str:
    if not url:
        return ""
    parsed = urlparse(url)
    path = unquote(parsed.path.lstrip("/"))
    host = parsed.netloc
    if host.startswith("s3.") or host == "s3.amazonaws.com":
        path = path.split("/", 1)[1] if "/" in path else path  # path-style: bucket/key
    return path


def _error(code: str, message: str, status: int = 400) -> _Answer:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    return AWSResponse("https://local-ground-truth", status, HTTPHeaders(), None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


def _ok(body: dict[str, Any]) -> _Answer:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    return AWSResponse("https://local-ground-truth", 200, HTTPHeaders(), None), {
        **body,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


class GroundTruthEmulator:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        # lower-case name -> the job as DescribeLabelingJob describes it (the API's JSON shape)
        self.jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._clients: dict[str, object] = {}
        self.stop_after: int | None = None  # stop a job after this many objects (tests)
        self.fail_reason: str | None = None  # fail the next job with this reason (tests)
        self.fail_after: int | None = None  # with fail_reason: fail it after this many objects were answered
        self.tasks_done = 0
        self.tasks_total = 0

    def install(self, session: Session) -> None:
        # botocore takes a before-call handler's (response, parsed) as the answer; its stubs say None
        dispatch = cast("Callable[..., None]", self._dispatch)
        for operation in ("CreateLabelingJob", "DescribeLabelingJob", "ListLabelingJobs", "StopLabelingJob"):
            session.events.register(f"before-call.sagemaker.{operation}", dispatch)

    def _dispatch(self, event_name: str, params: dict[str, Any], **kwargs: object) -> _Answer:
        body = json.loads(params["body"]) if params.get("body") else {}
        operation: Callable[[dict[str, Any]], _Answer] = getattr(self, f"_{event_name.rsplit('.', 1)[-1]}")
        return operation(body)

    # ------------------------------------------------------------------ API
    def _CreateLabelingJob(self, request: dict[str, Any]) -> _Answer:
        name = request["LabelingJobName"]
        if not NAME.match(name):
            return _error("ValidationException", f"LabelingJobName {name!r} does not match the pattern")
        attribute = request["LabelAttributeName"]
        if attribute.endswith("-metadata") or attribute.endswith("-ref") or not NAME.match(attribute[:63]):
            return _error("ValidationException", f"LabelAttributeName {attribute!r} is not allowed")
        human = request["HumanTaskConfig"]
        if not 1 <= human["NumberOfHumanWorkersPerDataObject"] <= 9:
            return _error("ValidationException", "NumberOfHumanWorkersPerDataObject must be 1..9")
        if human["TaskTimeLimitInSeconds"] > 28_800:
            return _error("ValidationException", "custom labeling jobs allow at most 28800 s per task")
        with self._lock:
            if name.lower() in self.jobs:
                return _error("ResourceInUse", f"Job with name {name} already exists")
            arn = f"arn:aws:sagemaker:{self.cloud.stack.region}:{cfn.ACCOUNT}:labeling-job/{name.lower()}"
            now = datetime.now(UTC)
            job = {
                "LabelingJobName": name,
                "LabelingJobArn": arn,
                "LabelingJobStatus": "Initializing",
                "LabelCounters": {
                    "TotalLabeled": 0,
                    "HumanLabeled": 0,
                    "MachineLabeled": 0,
                    "FailedNonRetryableError": 0,
                    "Unlabeled": 0,
                },
                "CreationTime": now,
                "LastModifiedTime": now,
                "JobReferenceCode": name[:8],
                "LabelAttributeName": attribute,
                "InputConfig": request["InputConfig"],
                "OutputConfig": request["OutputConfig"],
                "RoleArn": request["RoleArn"],
                "HumanTaskConfig": human,
                "Tags": request.get("Tags", []),
            }
            self.jobs[name.lower()] = job
        self.cloud._background(lambda: self._run(job), f"labeling-{name}")
        return _ok({"LabelingJobArn": arn})

    def _DescribeLabelingJob(self, request: dict[str, Any]) -> _Answer:
        job = self.jobs.get(request["LabelingJobName"].lower())
        if not job:
            return _error("ResourceNotFound", f"Could not find labeling job {request['LabelingJobName']}")
        return _ok(json.loads(json.dumps(job, default=lambda d: d.timestamp())))

    def _ListLabelingJobs(self, request: dict[str, Any]) -> _Answer:
        summaries = [
            {
                k: job[k]
                for k in (
                    "LabelingJobName",
                    "LabelingJobArn",
                    "CreationTime",
                    "LastModifiedTime",
                    "LabelingJobStatus",
                    "LabelCounters",
                )
            }
            | ({"LabelingJobOutput": job["LabelingJobOutput"]} if "LabelingJobOutput" in job else {})
            for job in self.jobs.values()
        ]
        return _ok(json.loads(json.dumps({"LabelingJobSummaryList": summaries}, default=lambda d: d.timestamp())))

    def _StopLabelingJob(self, request: dict[str, Any]) -> _Answer:
        job = self.jobs.get(request["LabelingJobName"].lower())
        if not job:
            return _error("ResourceNotFound", f"Could not find labeling job {request['LabelingJobName']}")
        if job["LabelingJobStatus"] == "InProgress":
            job["LabelingJobStatus"] = "Stopping"
        return _ok({})

    # ------------------------------------------------------------------ the job
    def _client(self, service: str) -> object:
        """Ground Truth's own clients on the default session (so its S3 and Lambda calls count as usage)."""
        with self._lock:
            if service not in self._clients:
                import boto3

                make: Callable[..., object] = boto3.client  # one call for every service name
                self._clients[service] = make(service, region_name=self.cloud.stack.region)
            return self._clients[service]

    def _s3(self) -> S3Client:
        return cast("S3Client", self._client("s3"))

    def _lambda(self) -> LambdaClient:
        return cast("LambdaClient", self._client("lambda"))

    def _events(self) -> EventBridgeClient:
        return cast("EventBridgeClient", self._client("events"))

    def _invoke(self, arn: str, payload: object) -> Any:
        """Invoke like GT: an unhandled error raises with GT's FailureReason wording; the function's JSON result."""
        response = self._lambda().invoke(FunctionName=arn, Payload=json.dumps(payload).encode())
        body = response["Payload"].read()
        if response.get("FunctionError"):
            raise RuntimeError(
                f"ClientError: Exception invoking the Lambda function {arn}. LambdaErrorCode: "
                f"{response['FunctionError']}. Ensure the Lambda function exists, that the role "
                f"{self.cloud.stack.attrs.get(('LabelingRole', 'Arn'), 'role')} has permissions to invoke it "
                f"and try your request again. ({body.decode('utf-8', 'replace')[:300]})"
            )
        return json.loads(body)

    def _read(self, uri: str) -> bytes:
        bucket, key = uri[5:].split("/", 1)
        return bytes(self._s3().get_object(Bucket=bucket, Key=key)["Body"].read())

    def _write(self, uri: str, data: object) -> None:
        bucket, key = uri[5:].split("/", 1)
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        self._s3().put_object(Bucket=bucket, Key=key, Body=body)

    def _finish(self, job: dict[str, Any], status: str, reason: str = "") -> None:
        job["LabelingJobStatus"] = status
        job["LastModifiedTime"] = datetime.now(UTC)
        if reason:
            job["FailureReason"] = reason[:1024]
        event: PutEventsRequestEntryTypeDef = {
            "Source": "aws.sagemaker",
            "DetailType": "SageMaker Ground Truth Labeling Job State Change",
            "Resources": [job["LabelingJobArn"]],
            "Detail": json.dumps({"LabelingJobStatus": status}),
        }
        self._events().put_events(Entries=[event])

    def _run(self, job: dict[str, Any]) -> None:
        try:
            self._label(job)
        except Exception as exc:  # any failure ends the job the way GT reports it, always with a FailureReason
            self._finish(job, "Failed", str(exc) or type(exc).__name__)

    def _manifest(self, uri: str) -> list[dict[str, Any]]:
        """The input manifest's data objects: JSON Lines split on ``\\n`` only (never on U+2028 and the like)."""
        text = self._read(uri).decode("utf-8")
        lines: list[dict[str, Any]] = []
        for number, line in enumerate(jsonl.split_lines(text), start=1):
            where = f"ClientError: line {number} of the input manifest {uri}"
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise RuntimeError(f"{where} is not valid JSON: {exc}") from None
            if not isinstance(value, dict):
                raise RuntimeError(f"{where} is not a JSON object")
            lines.append(value)
        return lines

    def _label(self, job: dict[str, Any]) -> None:
        from .liquid_gt import render_worker_template

        late_failure: str | None = None  # a job that fails (or expires) after reviewers answered part of it
        if self.fail_reason and self.fail_after is not None:
            late_failure, self.fail_reason = self.fail_reason, None
        elif self.fail_reason:
            reason, self.fail_reason = self.fail_reason, None
            raise RuntimeError(reason)
        job["LabelingJobStatus"] = "InProgress"
        human = job["HumanTaskConfig"]
        name, attribute = job["LabelingJobName"], job["LabelAttributeName"]
        out = job["OutputConfig"]["S3OutputPath"].rstrip("/") + f"/{name}"
        lines = self._manifest(job["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"])
        template = self._read(human["UiConfig"]["UiTemplateS3Uri"]).decode("utf-8")
        reviewers = self.cloud.reviewers
        workers = reviewers.worker_ids(human["NumberOfHumanWorkersPerDataObject"])
        s3 = self._s3()

        def presign(uri: str) -> str:
            bucket, key = uri[5:].split("/", 1)
            return str(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600))

        self.tasks_total += len(lines)
        answered: dict[str, _Answered] = {}  # datasetObjectId -> the task's answers, in manifest order
        stamp = datetime.now(UTC)
        for index, line in enumerate(lines):
            if job["LabelingJobStatus"] == "Stopping" or (self.stop_after is not None and index >= self.stop_after):
                break
            if late_failure is not None and self.fail_after is not None and index >= self.fail_after:
                break
            object_id = str(index)
            request = {"version": "2018-10-16", "labelingJobArn": job["LabelingJobArn"], "dataObject": line}
            pre: dict[str, Any] = {}
            for _ in range(self.cloud.faults.labeling_calls()):  # at least once
                pre = self._invoke(human["PreHumanTaskLambdaArn"], request)
            task_input = pre["taskInput"] if human.get("PreHumanTaskLambdaArn") else line
            if pre.get("isHumanAnnotationRequired", True) in (False, "false"):
                continue
            page = _Page()
            page.feed(render_worker_template(template, task_input, presign))
            answers: list[_WorkerAnswer] = []
            for worker in workers:
                content: dict[str | None, dict[str, bool]] = {}
                for box in page.boxes:
                    key = _key_from_presigned(box.image_url)
                    checked = reviewers.confirms(worker, key, page.label)
                    content.setdefault(box.name, {})[box.value] = checked
                answers.append(
                    {
                        "workerId": worker,
                        "answerContent": dict(sorted(content.items())),
                        "submissionTime": stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "acceptanceTime": stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "timeSpentInSeconds": 25.0,
                    }
                )
            response_file = f"{out}/annotations/worker-response/iteration-1/{object_id}/{stamp:%Y-%m-%d_%H:%M:%S}.json"
            self._write(response_file, {"answers": answers})
            answered[object_id] = _Answered(line, answers, response_file)
            self.tasks_done += 1
        consolidated: dict[str, Any] = {}
        post_arn = human.get("AnnotationConsolidationConfig", {}).get("AnnotationConsolidationLambdaArn")
        tasks = list(answered.items())
        for n in range(0, len(tasks), CONSOLIDATION_BATCH):
            batch = tasks[n : n + CONSOLIDATION_BATCH]
            payload = [
                {
                    "datasetObjectId": object_id,
                    "dataObject": {"s3Uri": a.line.get("source-ref")}
                    if "source-ref" in a.line
                    else {"content": a.line.get("source")},
                    "annotations": [
                        {"workerId": ans["workerId"], "annotationData": {"content": json.dumps(ans["answerContent"])}}
                        for ans in a.answers
                    ],
                }
                for object_id, a in batch
            ]
            part = n // CONSOLIDATION_BATCH
            request_uri = f"{out}/annotations/consolidated-annotation/consolidation-request/iteration-1/{part}.json"
            self._write(request_uri, payload)
            if not post_arn:
                continue
            request = {
                "version": "2018-10-16",
                "labelingJobArn": job["LabelingJobArn"],
                "labelCategories": None,
                "labelAttributeName": attribute,
                "roleArn": job["RoleArn"],
                "payload": {"s3Uri": request_uri},
            }
            response: object = None
            for _ in range(self.cloud.faults.labeling_calls()):
                response = self._invoke(post_arn, request)
            if not isinstance(response, list):
                raise RuntimeError(f"consolidation function {post_arn} did not return a list")
            self._write(
                f"{out}/annotations/consolidated-annotation/consolidation-response/iteration-1/"
                f"{n // CONSOLIDATION_BATCH}.json",
                response,
            )
            for entry in response:
                consolidated[str(entry["datasetObjectId"])] = entry["consolidatedAnnotation"]["content"]
        output_lines = []
        labeled = 0
        created = datetime.now(UTC).isoformat()
        for index, line in enumerate(lines):
            object_id = str(index)
            done = answered.get(object_id)
            if done is None:
                continue
            metadata = {
                "job_name": name,
                "type": "groundTruth/custom",
                "human-annotated": "yes",
                "creation_date": created,
            }
            if post_arn:
                content = consolidated.get(object_id, {}).get(attribute, {})
            else:
                content = {}
                metadata["worker-response-ref"] = done.worker_response_ref
            labeled += 1
            output_lines.append(jsonl.dumps_line({**line, attribute: content, f"{attribute}-metadata": metadata}))
        output_uri = f"{out}/manifests/output/output.manifest"
        self._write(output_uri, ("\n".join(output_lines) + "\n").encode())
        job["LabelCounters"] = {
            "TotalLabeled": labeled,
            "HumanLabeled": labeled,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": len(lines) - labeled,
        }
        job["LabelingJobOutput"] = {"OutputDatasetS3Uri": output_uri}
        self.cloud.usage.labeled_objects += labeled
        if late_failure is not None:
            self._finish(job, "Failed", late_failure)
            return
        stopped = job["LabelingJobStatus"] == "Stopping" or (self.stop_after is not None and labeled < len(lines))
        self._finish(job, "Stopped" if stopped else "Completed")
