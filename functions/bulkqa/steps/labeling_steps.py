"""Steps 5-6: start a labeling job and wait (task token); resume the workflow when the job ends."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .. import keys, log
from ..errors import LabelingJobFailed, LabelingJobStopped
from ..labeling import JobSpec, JobStatus
from ..settings import LabelingSettings
from .common import now, require_str

if TYPE_CHECKING:
    from ..model import JobEventResult, StartJobInput, StartJobResult
    from ..ports import ObjectStore, RawEvent, ReviewBackend, RunsTable, TaskCallbacks

# --- 5. start the labeling job and wait ---------------------------------------------------------------


def worker_template() -> bytes:
    """The Ground Truth worker page as uploaded: the Liquid template with the shared grid inlined."""
    from ..worker_page import worker_template as assembled

    return assembled()


def parse_start_labeling_job(event: RawEvent) -> StartJobInput:
    run_id, token = require_str(event, "run_id"), require_str(event, "token")
    part, tasks = int(event.get("part", 0)), int(event.get("tasks", 0))
    return {"run_id": run_id, "part": part, "tasks": tasks, "manifest": require_str(event, "manifest"), "token": token}


def start_labeling_job(
    event: RawEvent,
    settings: LabelingSettings,
    store: ObjectStore,
    runs: RunsTable,
    backend: ReviewBackend,
    callbacks: TaskCallbacks,
) -> StartJobResult:
    """Store the task token, start the job unless it exists, and resume at once if it already ended.

    Called again after every check interval (the wait's timeout), so a lost completion event never
    leaves a run waiting forever: the new call sees the finished job and resumes the workflow itself.
    """
    request = parse_start_labeling_job(event)
    run_id, part, token = request["run_id"], request["part"], request["token"]
    spec = JobSpec(
        run_id,
        part,
        request["manifest"],
        request["tasks"],
        f"s3://{store.bucket}/{keys.worker_template_key(run_id)}",
        f"s3://{store.bucket}/{keys.labeling_output_prefix(run_id)}",
    )
    # the token is stored before the job exists, so even an instant completion event finds it
    runs.update(f"job#{spec.name}", {"token": token, "run_id": run_id, "part": part, "updated": now()})
    store.put_bytes(keys.worker_template_key(run_id), worker_template(), "text/html; charset=utf-8")
    arn = backend.start(spec)
    status = backend.status(spec.name)
    log.info("labeling job started or resumed", run_id=run_id, job=spec.name, status=status.status, tasks=spec.tasks)
    if status.terminal:
        deliver(status, token, callbacks)
        backend.delivered(spec.name)
    return {"job_name": spec.name, "job_arn": arn}


def deliver(status: JobStatus, token: str, callbacks: TaskCallbacks) -> bool:
    """Resume the waiting workflow with the job's outcome."""
    if status.status == "Completed":
        return callbacks.succeed(token, status.result())
    if status.status == "Failed":
        return callbacks.fail(
            token,
            LabelingJobFailed.__name__,
            f"labeling job {status.name} failed: {status.failure_reason or 'no reason given'}",
        )
    return callbacks.fail(token, LabelingJobStopped.__name__, json.dumps(status.result()))


# --- 6. the labeling job's state-change event ------------------------------------------------------------


def on_labeling_job_event(
    event: RawEvent, runs: RunsTable, backend: ReviewBackend, callbacks: TaskCallbacks
) -> JobEventResult:
    resources_ = event.get("resources")
    if not isinstance(resources_, list) or not resources_ or not isinstance(resources_[0], str):
        log.warning("labeling job event without a job ARN; ignored")
        return {"resumed": False, "reason": "no job ARN"}
    try:
        name = keys.job_name_from_arn(resources_[0])
    except ValueError:
        log.warning("event resource is not a labeling job; ignored", resource=resources_[0][:200])
        return {"resumed": False, "reason": "not a labeling job"}
    job = runs.get(f"job#{name}")
    token = job.get("token") if job else None
    if not token:
        log.info("labeling job not started by this stack; ignored", job=name)
        return {"resumed": False, "reason": "unknown job"}
    status = backend.status(name)
    if not status.terminal:
        log.info("job not finished yet; waiting", job=name, status=status.status)
        return {"resumed": False, "reason": f"status {status.status}"}
    resumed = deliver(status, str(token), callbacks)
    backend.delivered(name)
    return {"resumed": resumed, "job": name, "status": status.status}
