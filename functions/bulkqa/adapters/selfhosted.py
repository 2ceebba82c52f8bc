"""The self-hosted reviewer backend: the ``ports.ReviewBackend`` of the labeling steps when
``ReviewBackend=SelfHosted`` (Ground Truth's is ``adapters.sagemaker``).

A job is a queue in the review table (:mod:`bulkqa.review.queue`); reviewers work on it through the review
API (:mod:`bulkqa.review.service`), which resumes the workflow when the job ends. ``start`` and ``status``
are all the workflow itself calls: ``start`` is idempotent (the re-check loop calls it again after every
interval), ``status`` reads the job item, so the re-check loop also resumes a job whose deliverer died.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .. import keys, log
from ..errors import LabelingJobNotFound, MalformedBatch
from ..labeling import JobSpec, JobStatus
from ..review import clock, queue
from ..review.queue import Meta, Slot
from ..review.service import job_status

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..ports import ObjectStore, ReviewTable
    from ..settings import LabelingSettings


class SelfHostedJobs:
    def __init__(
        self,
        table: ReviewTable,
        store: ObjectStore,
        settings: LabelingSettings,
        region: str,
        account: str,
        partition: str = "aws",
    ) -> None:
        self._table = table
        self._store = store
        self._settings = settings
        self._arn_prefix = f"arn:{partition}:bulkqa:{region}:{account}:review-job/"

    def arn_for(self, name: str) -> str:
        return self._arn_prefix + name

    def start(self, spec: JobSpec) -> str:
        """Create the job (Initializing), write every slot of every screen, then open it (InProgress).

        Idempotent: a job that exists past Initializing is left alone; one still Initializing (an earlier
        call died while writing its slots) is written again, which is harmless as nothing can be claimed
        before the job is InProgress. Availability counts from the first call.
        """
        name, arn = spec.name, self.arn_for(spec.name)
        settings = self._settings
        now = clock.now()
        meta = Meta(
            job=name,
            run_id=spec.run_id,
            part=spec.part,
            manifest=spec.manifest_uri,
            status=queue.INITIALIZING,
            workers=settings.workers_per_object,
            lease_seconds=settings.task_time_limit,
            availability_seconds=settings.task_availability,
            created=now,
            arn=arn,
        )
        ttl = int(now + settings.task_availability + queue.RETENTION_SECONDS)
        if not self._table.create_job(meta, ttl):
            existing = self._table.meta(name)
            if existing is None or existing.status != queue.INITIALIZING:
                return arn  # started by an earlier call
            meta = existing
            log.warning("review job found Initializing; writing its slots again", job=name)
        batches = list(self._manifest(meta.manifest))
        if spec.tasks and spec.tasks != len(batches):
            log.warning(
                "manifest lines differ from the job's task count", job=name, tasks=spec.tasks, lines=len(batches)
            )
        shards = queue.shard_count(len(batches))
        slots = (Slot(name, seq, k, uri, queue.OPEN) for seq, uri in enumerate(batches) for k in range(meta.workers))
        written = self._table.put_slots(slots, shards, ttl)
        available_until = meta.created + meta.availability_seconds
        if self._table.begin(name, len(batches), shards, available_until):
            log.info("review job open", job=name, screens=len(batches), slots=written, shards=shards)
        return arn

    def status(self, name: str) -> JobStatus:
        meta = self._table.meta(name)
        if meta is None:
            raise LabelingJobNotFound(f"review job {name} does not exist in the review table")
        return job_status(meta)

    def delivered(self, name: str) -> None:
        """The workflow has the job's outcome (start_labeling_job's re-check resumed it): a complete job whose
        end was never written (its deliverer died) is ended now, and the job leaves the open jobs, so the
        sweeper does not deliver it again."""
        meta = self._table.meta(name)
        if meta is not None and meta.status == queue.IN_PROGRESS and meta.all_in:
            self._table.end_job(name, queue.COMPLETED, clock.now(), (queue.IN_PROGRESS,))
        self._table.mark_delivered(name)

    def _manifest(self, uri: str) -> Iterator[str]:
        """The batch file URIs of the manifest's lines (``source-ref``), in order."""
        bucket, key = keys.parse_s3_uri(uri)
        if bucket != self._store.bucket:
            raise MalformedBatch(f"manifest {uri} is not in the stack's bucket {self._store.bucket}")
        text = b"".join(self._store.stream(key)).decode("utf-8")
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                ref = json.loads(line)["source-ref"]
                keys.parse_batch_uri(ref)
            except Exception as exc:
                raise MalformedBatch(
                    f"manifest {uri} line {number} has no source-ref to a batch file ({exc}); make_batches "
                    "writes the manifests: run the file again"
                ) from exc
            yield str(ref)
