"""The self-hosted review queue's operations: what the review API and the sweeper call.

Reviewers are identified by their Cognito ``sub``. Every operation reads the time from
:func:`bulkqa.review.clock.now` and writes through ``ports.ReviewTable`` (one conditional write or one
transaction per state change, see :mod:`bulkqa.adapters.review_table`). An answer is validated before
anything is written; then its screen's tallies are recomputed from every answer of the screen and written
to the labels table with a version (the number of answers), so a slower, older tally never overwrites a
newer one; then the job is finished if this was its last missing piece. Finishing is one conditional write
(InProgress -> Completed): its single winner resumes the workflow (``steps.deliver``, the same path as
Ground Truth's event). Whatever a crash leaves undone (a tally, a delivery) the sweeper, the workflow's
re-check loop (``SelfHostedJobs.status``) or a replayed answer completes, exactly once.
"""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import consolidation, keys, log, prelabel
from ..errors import LeaseConflict, MalformedBatch, UnknownJob, UnknownTask
from ..labeling import JobStatus
from . import clock, queue
from .queue import Meta, Outcome, Slot, TaskRef

if TYPE_CHECKING:
    from ..ports import LabelsTable, ObjectStore, ReviewTable, RunsTable, TaskCallbacks
    from ..settings import ReviewSettings

#: Labels-table writes of one screen's tally at once (a screen holds up to 100 images).
TALLY_THREADS = 8
#: Queue entries one /next reads per Query page (more pages only when the reviewer saw those screens already).
CANDIDATES_PER_PAGE = 25
#: Claims tried by one /next before it gives up (each lost claim means someone else was faster).
MAX_CLAIM_ATTEMPTS = 50

# random choice of shards and candidates only spreads concurrent reviewers apart; nothing secret
_rng = random.Random()  # noqa: S311  # nosec B311


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    name: str
    uri: str  # s3:// URI, presigned by the API


@dataclass(frozen=True, slots=True)
class Lease:
    task_id: str
    lease_id: str
    lease_expires_at: float
    label: str
    images: tuple[Image, ...]


@dataclass(frozen=True, slots=True)
class JobProgress:
    job: str
    run_id: str
    screens: int
    done: int  # answered reviewer turns
    open: int  # reviewer turns neither answered nor expired (open or leased)
    expired: int
    available_until: float
    status: str


@dataclass(frozen=True, slots=True)
class ReviewerProgress:
    reviewer: str
    done: int
    leased: int


@dataclass(frozen=True, slots=True)
class JobDetail:
    progress: JobProgress
    reviewers: tuple[ReviewerProgress, ...]


class SweepIncomplete(RuntimeError):
    """Some jobs could not be swept (their errors are logged); the next scheduled sweep tries them again."""


@dataclass(frozen=True, slots=True)
class SweepResult:
    jobs: int = 0  # open jobs looked at
    expired: int = 0  # slots expired (availability over)
    retallied: int = 0  # screens whose tally a crash had left undone
    completed: int = 0  # jobs this sweep completed
    delivered: int = 0  # ended jobs this sweep handed to the workflow (its own and earlier deliverers')


def progress_of(meta: Meta) -> JobProgress:
    return JobProgress(
        job=meta.job,
        run_id=meta.run_id,
        screens=meta.screens,
        done=meta.done,
        open=meta.remaining,
        expired=meta.expired,
        available_until=meta.available_until,
        status=meta.effective_status(),
    )


def job_status(meta: Meta) -> JobStatus:
    """What the workflow sees of a job (``labeling.JobStatus``, as Ground Truth's DescribeLabelingJob)."""
    return JobStatus(name=meta.job, arn=meta.arn, status=meta.effective_status(), counters=meta.counters())


class ReviewService:
    def __init__(
        self,
        table: ReviewTable,
        labels: LabelsTable,
        runs: RunsTable,
        callbacks: TaskCallbacks,
        store: ObjectStore,
        settings: ReviewSettings,
    ) -> None:
        self._table = table
        self._labels = labels
        self._runs = runs
        self._callbacks = callbacks
        self._store = store
        self._settings = settings

    # --- reviewers --------------------------------------------------------------------------------------

    def open_jobs(self) -> list[JobProgress]:
        """The jobs a reviewer can work on now."""
        now = clock.now()
        return [progress_of(meta) for meta in self._table.metas(self._table.open_jobs()) if meta.accepting(now)]

    def next_task(self, job: str, reviewer: str) -> Lease | None:
        """The reviewer's task in the job: the one they hold, else a newly claimed one (first turns of every
        screen before second turns); None when nothing is left for them (or the job is not open)."""
        now = clock.now()
        meta = self._meta(job)
        if not meta.accepting(now):
            return None
        for _ in range(3):  # a concurrent /next of the same reviewer can change their lease under us
            held = self._table.lease_of(reviewer, job)
            seen: str | None = None
            if held is not None:
                ref, _until = held
                slot = self._table.slot(TaskRef(job, ref.seq, ref.k))
                if slot is not None and slot.held_by(reviewer, ref.lease_id) and (slot.lease_until or 0) > now:
                    return self._lease(slot)
                seen = ref.lease_id
            claimed = self._claim(meta, reviewer, now, seen)
            if claimed is not None:
                return claimed if isinstance(claimed, Lease) else None
        return None

    def _claim(self, meta: Meta, reviewer: str, now: float, seen: str | None) -> Lease | bool | None:
        """A Lease, False when nothing is left, None when the reviewer's own lease item changed meanwhile."""
        ttl = int(meta.available_until + queue.RETENTION_SECONDS)
        attempts = 0
        for k in range(meta.workers):
            first = _rng.randrange(meta.shards)
            for shard in [(first + n) % meta.shards for n in range(meta.shards)]:
                start = None
                while True:
                    page, start = self._table.candidates(meta.job, shard, k, now, start, CANDIDATES_PER_PAGE)
                    for slot in self._choosable(meta.job, reviewer, page, now):
                        if attempts >= MAX_CLAIM_ATTEMPTS:
                            log.warning("no claim succeeded; reviewers are racing", job=meta.job, attempts=attempts)
                            return False
                        attempts += 1
                        lease_id = uuid.uuid4().hex
                        until = queue.lease_until(now, now, meta.lease_seconds, meta.available_until)
                        outcome = self._table.claim(slot, reviewer, lease_id, until, now, seen, ttl, meta.workers)
                        if outcome is Outcome.DONE:
                            claimed = Slot(
                                slot.job,
                                slot.seq,
                                slot.k,
                                slot.batch,
                                queue.LEASED,
                                lease_owner=reviewer,
                                lease_id=lease_id,
                                lease_until=until,
                                leased_at=now,
                            )
                            return self._lease(claimed)
                        if outcome is Outcome.BUSY:
                            return None
                    if not start:
                        break
        return False

    def _choosable(self, job: str, reviewer: str, page: list[Slot], now: float) -> list[Slot]:
        """The page's slots this reviewer may claim: never-leased ones first, in random order (concurrent
        reviewers spread out), then released and lapsed ones, oldest first."""
        slots = [slot for slot in page if slot.claimable_by(reviewer, now)]
        if not slots:
            return []
        mine = self._table.markers(job, reviewer, (slot.seq for slot in slots))
        slots = [s for s in slots if s.seq not in mine or (s.state == queue.LEASED and s.lease_owner == reviewer)]
        _rng.shuffle(slots)
        slots.sort(key=lambda s: queue.available_at(s.q_sk))
        return slots

    def _lease(self, slot: Slot) -> Lease:
        ref = keys.parse_batch_uri(slot.batch)
        if ref.bucket != self._store.bucket:
            raise MalformedBatch(f"batch file {ref.uri} is not in the stack's bucket; the manifest was edited")
        task = prelabel.task_input(self._store.read_json(ref.key), ref)
        images = tuple(Image(image["id"], image["name"], image["uri"]) for image in task["images"])
        return Lease(slot.ref.task_id, slot.lease_id or "", slot.lease_until or 0.0, task["label"], images)

    def answer(self, task_id: str, reviewer: str, lease_id: str, answers: object) -> bool:
        """Record the reviewer's answer; True if it is a replay of the answer already recorded (nothing is
        counted twice). LeaseConflict (nothing written) if the lease is not the caller's; MalformedAnswer
        (nothing written) if the answer does not name exactly the screen's images with a boolean each."""
        ref = queue.parse_task_id(task_id)
        slot = self._slot(ref)
        if slot.lease_owner != reviewer or slot.lease_id != lease_id:
            raise LeaseConflict(f"task {task_id} is not leased to you under this lease id; ask for a task with /next")
        verdicts = consolidation.verdicts_from_answer(answers, keys.parse_batch_uri(slot.batch))
        text, digest = queue.canonical_answer(verdicts), queue.answer_hash(verdicts)
        replay = True
        if slot.state == queue.LEASED:
            outcome = self._table.answer(ref, reviewer, lease_id, text, digest, clock.now())
            if outcome is Outcome.JOB_CLOSED:
                raise LeaseConflict(f"job {ref.job} has ended; its tasks take no more answers")
            if outcome is Outcome.DONE:
                replay = False
            else:
                slot = self._slot(ref)
        if replay:
            if not (slot.state == queue.DONE and slot.lease_owner == reviewer and slot.lease_id == lease_id):
                raise LeaseConflict(f"task {task_id} is no longer leased to you; ask for a task with /next")
            if slot.answer_hash != digest:
                raise LeaseConflict(f"task {task_id} was answered differently already; an answer cannot change")
            log.info("answer replayed", task=task_id)
        # a replay re-runs what follows too: it completes whatever a crash of the first call left undone
        self._tally(ref.job, ref.seq)
        self._finish(ref.job)
        return replay

    def heartbeat(self, task_id: str, reviewer: str, lease_id: str) -> float:
        """Renew the caller's lease (up to 3 x TaskTimeLimitSeconds after the claim, never past the job's
        availability); the new expiry."""
        ref = queue.parse_task_id(task_id)
        slot = self._slot(ref)
        if not slot.held_by(reviewer, lease_id):
            raise LeaseConflict(f"task {task_id} is not leased to you under this lease id; ask for a task with /next")
        meta = self._meta(ref.job)
        now = clock.now()
        if not meta.accepting(now):
            raise LeaseConflict(f"job {ref.job} has ended; its tasks take no more answers")
        until = queue.lease_until(now, slot.leased_at or now, meta.lease_seconds, meta.available_until)
        until = max(until, slot.lease_until or 0.0)  # a renewal never shortens a lease
        if not self._table.heartbeat(ref, reviewer, lease_id, until):
            raise LeaseConflict(f"task {task_id} is no longer leased to you; ask for a task with /next")
        return until

    def release(self, task_id: str, reviewer: str, lease_id: str) -> None:
        """Give the task back (skip): it is open again, and the caller may get this screen again later."""
        ref = queue.parse_task_id(task_id)
        self._slot(ref)
        if not self._table.release(ref, reviewer, lease_id, clock.now()):
            raise LeaseConflict(f"task {task_id} is not leased to you under this lease id; ask for a task with /next")

    # --- admins -------------------------------------------------------------------------------------------

    def job_detail(self, job: str) -> JobDetail:
        meta = self._meta(job)
        now = clock.now()
        counts = self._table.reviewers(job)
        leases = self._table.leases(job, [c.reviewer for c in counts])
        reviewers = tuple(
            ReviewerProgress(c.reviewer, c.done, 1 if leases.get(c.reviewer, 0.0) > now else 0)
            for c in sorted(counts, key=lambda c: c.reviewer)
        )
        return JobDetail(progress_of(meta), reviewers)

    def stop(self, job: str) -> bool:
        """End the job as Stopped and resume the workflow with LabelingJobStopped (the partial report);
        False if it had ended already."""
        self._meta(job)
        if not self._table.end_job(job, queue.STOPPED, clock.now(), (queue.INITIALIZING, queue.IN_PROGRESS)):
            return False
        log.info("review job stopped", job=job)
        self._retally(job, settled_only=False)
        self._deliver(job)
        return True

    # --- the sweeper --------------------------------------------------------------------------------------

    def sweep(self) -> SweepResult:
        """Expire the remaining turns of jobs past their availability, redo the tallies a crash left undone,
        complete jobs that are complete, and deliver ended jobs whose deliverer died."""
        jobs = expired = retallied = completed = delivered = 0
        failed: list[str] = []
        for job in self._table.open_jobs():
            meta = self._table.meta(job)
            if meta is None:
                continue
            jobs += 1
            now = clock.now()
            try:
                if meta.status == queue.IN_PROGRESS:
                    if now >= meta.available_until:
                        remaining = [s for s in self._table.queued(job, meta.shards) if s.state != queue.DONE]
                        count = self._table.expire(job, remaining)
                        expired += count
                        if count:
                            log.info("review turns expired", job=job, expired=count)
                    retallied += self._retally(job)
                    if self._finish(job):
                        completed += 1
                        delivered += 1
                elif meta.ended and not meta.delivered and self._table.claim_delivery(job, now):
                    log.warning("delivering an ended job whose deliverer did not finish", job=job, status=meta.status)
                    retallied += self._retally(job, settled_only=False)
                    self._deliver(job)
                    delivered += 1
            except Exception as exc:  # one job's trouble does not stop the sweep of the others
                log.error("sweeping a review job failed; the next sweep tries again", job=job, error=repr(exc)[:500])
                failed.append(job)
        result = SweepResult(jobs, expired, retallied, completed, delivered)
        if failed:
            raise SweepIncomplete(f"sweeping jobs {', '.join(failed)} failed ({result}); the next sweep tries again")
        return result

    # --- shared -------------------------------------------------------------------------------------------

    def _meta(self, job: str) -> Meta:
        meta = self._table.meta(job) if queue.is_job_name(job) else None
        if meta is None:
            raise UnknownJob(f"there is no review job {job!r}; GET /api/jobs lists the open ones")
        return meta

    def _slot(self, ref: TaskRef) -> Slot:
        slot = self._table.slot(ref)
        if slot is None:
            raise UnknownTask(f"there is no task {ref.task_id}; ask for a task with /next")
        return slot

    def _tally(self, job: str, seq: int, *, settled_only: bool = True) -> bool:
        """The screen's tallies from all its answers -> the labels table (versioned), then its answered
        slots are marked as tallied (each counted once in the job's ``tallied``); True if written.

        Only once the screen is settled (every turn answered or expired), unless ``settled_only`` is False
        (the job ends: a stop's partial report needs every answer so far): each image is then written once,
        as Ground Truth's consolidation writes it, instead of once per answer. An answer waiting for its
        screen to settle is safe in the review table (its slot is in the index's pending entries).
        """
        slots = self._table.screen_slots(job, seq)
        if settled_only and any(slot.state in (queue.OPEN, queue.LEASED) for slot in slots):
            return False
        version, tallies = queue.tally(slots)
        if not version:
            return False
        batch = keys.parse_batch_uri(slots[0].batch)

        def write(tally: consolidation.ImageTally) -> str | None:
            written = self._labels.set_verdicts(
                batch.run_id,
                tally.item_id,
                tally.confirms,
                tally.rejects,
                tally.reviewers,
                job,
                batch.batch_id,
                version=version,
            )
            return None if written else tally.item_id

        with ThreadPoolExecutor(max_workers=TALLY_THREADS) as pool:
            unknown = [item for item in pool.map(write, tallies.values()) if item]
        if unknown:
            log.warning("images not in the labels table; not created", job=job, items=unknown)
        for slot in slots:
            if slot.state == queue.DONE and not slot.tallied:
                self._table.mark_tallied(slot.ref)
        return True

    def _retally(self, job: str, *, settled_only: bool = True) -> int:
        """Tally the screens with answers not yet in the labels table (settled ones only, unless the job is
        ending); how many were written."""
        screens = sorted({ref.seq for ref in self._table.pending(job)})
        return sum(self._tally(job, seq, settled_only=settled_only) for seq in screens)

    def _finish(self, job: str) -> bool:
        """Complete the job if every turn is answered or expired and every answer tallied; True if this call
        completed it (and delivered it)."""
        meta = self._table.meta(job)
        if meta is None or meta.status != queue.IN_PROGRESS or not meta.all_in:
            return False
        if not self._table.end_job(job, queue.COMPLETED, clock.now(), (queue.IN_PROGRESS,)):
            return False  # another caller completed it at the same moment: it delivers
        log.info("review job completed", job=job, done=meta.done, expired=meta.expired)
        self._deliver(job)
        return True

    def _deliver(self, job: str) -> None:
        """Resume the workflow with the ended job's status, then mark it delivered (it leaves the open jobs)."""
        from ..steps.labeling_steps import deliver  # the steps package only when a job ends

        meta = self._meta(job)
        record = self._runs.get(f"job#{job}")
        token = record.get("token") if record else None
        if not token:
            log.warning("no task token stored for the job; nothing to resume", job=job)
        else:
            resumed = deliver(job_status(meta), str(token), self._callbacks)
            log.info("workflow resumed" if resumed else "workflow was resumed already", job=job, status=meta.status)
        self._table.mark_delivered(job)
