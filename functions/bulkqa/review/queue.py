"""The review queue's domain: its items, their keys in the review table, and the pure rules over them.

One review job (= one labeling job of the workflow, named ``keys.job_name``) holds ``screens`` screens (the
manifest's lines, in order: ``seq`` 0..screens-1), each reviewed by ``workers`` (K) distinct reviewers: a
screen has K *slots* (reviewer turns, ``k`` 0..K-1). Table items (``pk`` / ``sk``):

===================  ======================  =================  ==============================================
item                 pk                      sk                 what it holds
===================  ======================  =================  ==============================================
job                  ``JOB#<job>``           ``META``           status, counters done/expired/tallied, shards
reviewer progress    ``JOB#<job>``           ``REV#<sub>``      claims, done (per reviewer, for admins)
slot                 ``JOB#<job>#T#<seq>``   ``S#<k>``          batch URI, state, lease, answer (+ hash)
marker               ``JOB#<job>#T#<seq>``   ``R#<sub>``        this reviewer has (or holds) a turn of the screen
reviewer's lease     ``REV#<sub>``           ``LEASE#<job>``    the slot and lease id the reviewer holds
open job             ``OPEN``                ``JOB#<job>``      a job not yet delivered (sweeper, job list)
===================  ======================  =================  ==============================================

The sparse GSI ``queue`` (``q_pk`` / ``q_sk``) holds two kinds of entries:

- claimable-or-leased slots: ``q_pk = Q#<job>#<shard>`` (``seq % shards``), ``q_sk = <k>#<available_at>#<seq>``
  where ``available_at`` is 0 while OPEN, the release time after a release and ``ceil(lease_until)`` while
  LEASED. Querying turn k first, then k+1, gives every first turn before any second turn (breadth-first),
  and within a turn never-leased slots before released ones before lapsed leases.
- answered slots whose answer is not yet in the labels table: ``q_pk = P#<job>``, ``q_sk = <seq>#<k>``. The
  answer's own call tallies it at once; the sweeper (or the job's end) re-tallies whatever a crash left here.

GSI reads are eventually consistent: they only propose candidates, a conditional write on the table decides.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .. import keys
from ..consolidation import ImageTally
from ..errors import UnknownTask
from ..verdict import CONFIRM, REJECT

# --- slot states and job statuses ---------------------------------------------------------------------------

OPEN = "OPEN"
LEASED = "LEASED"
DONE = "DONE"
EXPIRED = "EXPIRED"

INITIALIZING = "Initializing"
IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
STOPPED = "Stopped"

#: A job that ended is delivered by whoever ended it; if that caller dies, the sweeper delivers it once this
#: long has passed (the first deliverer's claim on the delivery).
DELIVERY_CLAIM_SECONDS = 60
#: Items live this long after the job's availability ends (DynamoDB TTL attribute ``ttl``), then go.
RETENTION_SECONDS = 30 * 24 * 3600
#: A heartbeat extends a lease to at most this many times TaskTimeLimitSeconds after it was claimed.
MAX_LEASE_FACTOR = 3
#: Queue shards: one per this many screens, at most MAX_SHARDS (a hot GSI partition takes ~1,000 writes/s).
SCREENS_PER_SHARD = 64
MAX_SHARDS = 16

# --- keys --------------------------------------------------------------------------------------------------

META = "META"
OPEN_PK = "OPEN"


def job_pk(job: str) -> str:
    return f"JOB#{job}"


def screen_pk(job: str, seq: int) -> str:
    return f"JOB#{job}#T#{seq}"


def slot_sk(k: int) -> str:
    return f"S#{k}"


def marker_sk(reviewer: str) -> str:
    return f"R#{reviewer}"


def progress_sk(reviewer: str) -> str:
    return f"REV#{reviewer}"


def lease_pk(reviewer: str) -> str:
    return f"REV#{reviewer}"


def lease_sk(job: str) -> str:
    return f"LEASE#{job}"


def open_sk(job: str) -> str:
    return f"JOB#{job}"


def shard_pk(job: str, shard: int) -> str:
    return f"Q#{job}#{shard:02d}"


def queue_pk(job: str, seq: int, shards: int) -> str:
    """The queue shard of a screen's slots."""
    return shard_pk(job, seq % shards)


def queue_sk(k: int, available_at: float, seq: int) -> str:
    return f"{k}#{math.ceil(available_at):012d}#{seq:08d}"


def available_at(q_sk: str | None) -> int:
    """The ``available_at`` part of a queue sort key (0: never leased)."""
    parts = (q_sk or "").split("#")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def pending_pk(job: str) -> str:
    return f"P#{job}"


def pending_sk(seq: int, k: int) -> str:
    return f"{seq:08d}#{k}"


def shard_count(screens: int) -> int:
    return max(1, min(MAX_SHARDS, math.ceil(screens / SCREENS_PER_SHARD)))


# --- task ids ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskRef:
    """One slot: ``task_id`` = ``<job>.<seq>.<k>``."""

    job: str
    seq: int
    k: int

    @property
    def task_id(self) -> str:
        return f"{self.job}.{self.seq}.{self.k}"


def task_id(job: str, seq: int, k: int) -> str:
    return TaskRef(job, seq, k).task_id


def parse_task_id(value: str) -> TaskRef:
    """``<job>.<seq>.<k>`` -> TaskRef; UnknownTask if it is not one."""
    parts = value.rsplit(".", 2) if isinstance(value, str) else []
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 8 for p in parts[1:]):
        raise UnknownTask(f"task id {str(value)[:80]!r} is not <job>.<screen>.<turn>; ask for a task with /next")
    try:
        job = keys.job_name(*_job_parts(parts[0]))
    except ValueError:
        raise UnknownTask(f"task id {value[:80]!r} names no review job; ask for a task with /next") from None
    return TaskRef(job, int(parts[1]), int(parts[2]))


def is_job_name(name: str) -> bool:
    """A name ``keys.job_name`` could have made (anything else names no job: no need to look it up)."""
    try:
        _job_parts(name)
    except ValueError:
        return False
    return True


def _job_parts(name: str) -> tuple[str, int]:
    """``bulkqa-<run>-pNN`` -> (run, part): checked by rebuilding the name with ``keys.job_name``."""
    if not name.startswith("bulkqa-") or "-p" not in name:
        raise ValueError(name)
    run, part = name[len("bulkqa-") :].rsplit("-p", 1)
    if not part.isdigit() or keys.job_name(run, int(part)) != name:
        raise ValueError(name)
    return run, int(part)


# --- items -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Meta:
    """The job item. Counters: ``done`` answered slots, ``expired`` slots that ran out of availability,
    ``tallied`` answered slots whose answer is in the labels table."""

    job: str
    run_id: str
    part: int
    manifest: str
    status: str
    workers: int  # K
    lease_seconds: int
    availability_seconds: int
    created: float
    screens: int = 0
    shards: int = 1
    available_until: float = 0.0
    done: int = 0
    expired: int = 0
    tallied: int = 0
    delivered: bool = False
    delivering_until: float = 0.0
    ended_at: float = 0.0
    arn: str = ""

    @property
    def slots(self) -> int:
        return self.screens * self.workers

    @property
    def remaining(self) -> int:
        """Slots neither answered nor expired (open or leased)."""
        return max(0, self.slots - self.done - self.expired)

    @property
    def all_in(self) -> bool:
        """Every slot is answered or expired and every answer is in the labels table: the job is complete."""
        return self.status in (IN_PROGRESS, COMPLETED) and self.remaining == 0 and self.tallied >= self.done

    @property
    def ended(self) -> bool:
        return self.status in (COMPLETED, STOPPED)

    def effective_status(self) -> str:
        """The status the workflow sees: a job whose last answer is in but whose end was not yet written
        (its writer died) is Completed already."""
        return COMPLETED if self.status == IN_PROGRESS and self.all_in else self.status

    def accepting(self, now: float) -> bool:
        return self.status == IN_PROGRESS and now < self.available_until

    def counters(self) -> dict[str, int]:
        """Ground Truth's LabelCounters in reviewer turns (a screen counts K times), plus the job's shape."""
        return {
            "TotalLabeled": self.done,
            "HumanLabeled": self.done,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": self.remaining + self.expired,
            "Expired": self.expired,
            "Screens": self.screens,
            "WorkersPerObject": self.workers,
        }


@dataclass(frozen=True, slots=True)
class Slot:
    """One reviewer turn of one screen."""

    job: str
    seq: int
    k: int
    batch: str  # the batch file's s3:// URI
    state: str
    q_sk: str | None = None
    lease_owner: str | None = None
    lease_id: str | None = None
    lease_until: float | None = None
    leased_at: float | None = None
    answer: str | None = None  # the verdicts as canonical JSON {"<item id>": bool}
    answer_hash: str | None = None
    tallied: bool = False

    @property
    def ref(self) -> TaskRef:
        return TaskRef(self.job, self.seq, self.k)

    def claimable_by(self, reviewer: str, now: float) -> bool:
        """Open, or leased with a lapsed lease (by anyone: a lapsed lease of the reviewer's own is retaken)."""
        if self.state == OPEN:
            return True
        return self.state == LEASED and self.lease_until is not None and self.lease_until < now

    def held_by(self, reviewer: str, lease_id: str) -> bool:
        return self.state == LEASED and self.lease_owner == reviewer and self.lease_id == lease_id


@dataclass(frozen=True, slots=True)
class LeaseRef:
    """A reviewer's lease item: which slot of the job they hold, under which lease id."""

    reviewer: str
    job: str
    seq: int
    k: int
    lease_id: str


@dataclass(frozen=True, slots=True)
class ReviewerCount:
    reviewer: str
    claims: int
    done: int


class Outcome(enum.Enum):
    """What a claim or an answer came to."""

    DONE = "done"  # written
    JOB_CLOSED = "job closed"  # the job is not in progress (stopped, ended, not started)
    LOST = "lost"  # the slot is not in the state the caller saw (someone else was faster; not the caller's)
    BUSY = "busy"  # claim: the reviewer's own lease item changed meanwhile (a concurrent /next of theirs)
    SEEN = "seen"  # claim: the reviewer has a turn of this screen already


# --- rules ------------------------------------------------------------------------------------------------


def canonical_answer(verdicts: Mapping[str, bool]) -> str:
    """The verdicts as stored: compact JSON, ids sorted (the same answer always gives the same text)."""
    return json.dumps(dict(sorted(verdicts.items())), separators=(",", ":"))


def answer_hash(verdicts: Mapping[str, bool]) -> str:
    return hashlib.sha256(canonical_answer(verdicts).encode("utf-8")).hexdigest()


def lease_until(now: float, leased_at: float, lease_seconds: int, available_until: float) -> float:
    """A lease (or its renewal) lasts ``lease_seconds`` from now, never past MAX_LEASE_FACTOR leases after it
    was claimed nor past the job's availability."""
    return min(now + lease_seconds, leased_at + MAX_LEASE_FACTOR * lease_seconds, available_until)


def tally(slots: Iterable[Slot]) -> tuple[int, dict[str, ImageTally]]:
    """The screen's answered slots -> (how many, every image's tally). The number is the version of the
    tallies: answers only accumulate, so more answers means a newer tally."""
    tallies: dict[str, ImageTally] = {}
    answered = 0
    for slot in slots:
        if slot.state != DONE or slot.answer is None or slot.lease_owner is None:
            continue
        answered += 1
        verdicts: dict[str, bool] = json.loads(slot.answer)
        for item, confirmed in verdicts.items():
            tallies.setdefault(item, ImageTally(item)).reviewers[slot.lease_owner] = CONFIRM if confirmed else REJECT
    return answered, tallies
