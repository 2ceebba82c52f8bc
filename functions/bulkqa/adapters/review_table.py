"""DynamoDB: the self-hosted review backend's table (``ReviewTable`` in template.yaml).

The item layout and the queue index are described in :mod:`bulkqa.review.queue`. Every state change of a
slot is one conditional write or one transaction (TransactWriteItems), so concurrent reviewers, retries
and the sweeper never count an answer twice or hand a screen to two reviewers at once. The ``ports.ReviewTable``
of :class:`bulkqa.review.service.ReviewService` and :class:`bulkqa.adapters.selfhosted.SelfHostedJobs`.

Expressions name every attribute as ``#<name>`` and every value as ``:<name>``; :func:`_expression` fills in
ExpressionAttributeNames / Values from the expression text, so none is unused or missing.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from ..review import queue
from ..review.queue import LeaseRef, Meta, Outcome, ReviewerCount, Slot, TaskRef
from .dynamodb import _backoff, from_item, to_attr, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputPaginateTypeDef,
        TransactWriteItemTypeDef,
        WriteRequestTypeDef,
    )

QUEUE_INDEX = "queue"
#: Slots written by one BatchWriteItem, and the threads seeding a job's slots at once.
_BATCH = 25
SEED_THREADS = 8
#: Slots expired by one transaction (with the job item's counter): TransactWriteItems takes 100 items.
EXPIRE_PER_TRANSACTION = 50
#: Attempts of a transaction that another one on the same items (the job's counters) interrupted.
CONFLICT_ATTEMPTS = 8

_NAME = re.compile(r"#(\w+)")
_VALUE = re.compile(r":(\w+)")


def _expression(*texts: str, values: Mapping[str, object] | None = None) -> dict[str, Any]:
    """ExpressionAttributeNames / Values for the ``#names`` and ``:values`` the expressions use."""
    joined = " ".join(texts)
    out: dict[str, Any] = {}
    names = {f"#{n}": n for n in _NAME.findall(joined)}
    if names:
        out["ExpressionAttributeNames"] = names
    used = set(_VALUE.findall(joined))
    if used:
        source = values or {}
        missing = used - set(source)
        if missing:
            raise ValueError(f"expression values missing: {sorted(missing)}")
        out["ExpressionAttributeValues"] = {f":{n}": to_attr(source[n]) for n in sorted(used)}
    return out


def _reasons(exc: Exception) -> list[str]:
    """A cancelled transaction's reason codes, one per item ("None" for an item that was fine)."""
    response = getattr(exc, "response", {}) or {}
    return [str(r.get("Code", "None")) for r in response.get("CancellationReasons", [])]


def _key(pk: str, sk: str) -> dict[str, AttributeValueTypeDef]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _slot_key(ref: TaskRef) -> dict[str, AttributeValueTypeDef]:
    return _key(queue.screen_pk(ref.job, ref.seq), queue.slot_sk(ref.k))


def _meta_key(job: str) -> dict[str, AttributeValueTypeDef]:
    return _key(queue.job_pk(job), queue.META)


def _num(raw: Mapping[str, object], name: str, default: float = 0) -> float:
    value = raw.get(name, default)
    return float(value) if isinstance(value, (int, float)) else float(default)


def _int(raw: Mapping[str, object], name: str, default: int = 0) -> int:
    value = raw.get(name, default)
    return int(value) if isinstance(value, (int, float)) else default


def _str(raw: Mapping[str, object], name: str) -> str | None:
    value = raw.get(name)
    return value if isinstance(value, str) else None


def meta_from_item(raw: Mapping[str, object]) -> Meta:
    return Meta(
        job=str(raw["job"]),
        run_id=str(raw["run_id"]),
        part=_int(raw, "part"),
        manifest=str(raw.get("manifest", "")),
        status=str(raw["status"]),
        workers=_int(raw, "workers", 1),
        lease_seconds=_int(raw, "lease_seconds", 600),
        availability_seconds=_int(raw, "availability_seconds"),
        created=_num(raw, "created"),
        screens=_int(raw, "screens"),
        shards=_int(raw, "shards", 1),
        available_until=_num(raw, "available_until"),
        done=_int(raw, "done"),
        expired=_int(raw, "expired"),
        tallied=_int(raw, "tallied"),
        delivered=bool(raw.get("delivered", False)),
        delivering_until=_num(raw, "delivering_until"),
        ended_at=_num(raw, "ended_at"),
        arn=str(raw.get("arn", "")),
    )


def slot_from_item(raw: Mapping[str, object]) -> Slot:
    lease_until = raw.get("lease_until")
    leased_at = raw.get("leased_at")
    return Slot(
        job=str(raw["job"]),
        seq=_int(raw, "seq"),
        k=_int(raw, "k"),
        batch=str(raw["batch"]),
        state=str(raw["state"]),
        q_sk=_str(raw, "q_sk"),
        lease_owner=_str(raw, "lease_owner"),
        lease_id=_str(raw, "lease_id"),
        lease_until=float(lease_until) if isinstance(lease_until, (int, float)) else None,
        leased_at=float(leased_at) if isinstance(leased_at, (int, float)) else None,
        answer=_str(raw, "answer"),
        answer_hash=_str(raw, "answer_hash"),
        tallied=bool(raw.get("tallied", False)),
    )


class ReviewTable:
    """The review table (see :mod:`bulkqa.review.queue` for its items)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self.table = table

    # --- small helpers -----------------------------------------------------------------------------------

    def _update(
        self, key: dict[str, AttributeValueTypeDef], update: str, condition: str = "", **values: object
    ) -> TransactWriteItemTypeDef:
        op: dict[str, Any] = {"TableName": self.table, "Key": key, "UpdateExpression": update}
        if condition:
            op["ConditionExpression"] = condition
        op.update(_expression(update, condition, values=values))
        return cast("TransactWriteItemTypeDef", {"Update": op})

    def _put(self, item: Mapping[str, object], condition: str = "", **values: object) -> TransactWriteItemTypeDef:
        op: dict[str, Any] = {"TableName": self.table, "Item": to_item(item)}
        if condition:
            op["ConditionExpression"] = condition
            op.update(_expression(condition, values=values))
        return cast("TransactWriteItemTypeDef", {"Put": op})

    def _delete(self, key: dict[str, AttributeValueTypeDef]) -> TransactWriteItemTypeDef:
        return cast("TransactWriteItemTypeDef", {"Delete": {"TableName": self.table, "Key": key}})

    def _check(
        self, key: dict[str, AttributeValueTypeDef], condition: str, **values: object
    ) -> TransactWriteItemTypeDef:
        op: dict[str, Any] = {"TableName": self.table, "Key": key, "ConditionExpression": condition}
        op.update(_expression(condition, values=values))
        return cast("TransactWriteItemTypeDef", {"ConditionCheck": op})

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> list[str] | None:
        """Run the transaction; None if written, else the cancellation reasons (conflicts are retried)."""
        attempt = 0
        while True:
            try:
                self._ddb.transact_write_items(TransactItems=items)
                return None
            except self._ddb.exceptions.TransactionCanceledException as exc:
                reasons = _reasons(exc)
                if "ConditionalCheckFailed" in reasons or attempt + 1 >= CONFLICT_ATTEMPTS:
                    if "ConditionalCheckFailed" not in reasons:
                        raise
                    return reasons
                # TransactionConflict (another transaction on the job's counters) or throttling: again
                _backoff(attempt)
                attempt += 1

    def _conditional_update(
        self, key: dict[str, AttributeValueTypeDef], update: str, condition: str, **values: object
    ) -> bool:
        op = self._update(key, update, condition, **values)["Update"]
        try:
            self._ddb.update_item(**cast("Any", op))
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _get(self, key: dict[str, AttributeValueTypeDef]) -> dict[str, object] | None:
        item = self._ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _query(self, request: QueryInputPaginateTypeDef) -> Iterator[dict[str, object]]:
        for page in self._ddb.get_paginator("query").paginate(**request):
            for raw in page.get("Items", []):
                yield from_item(raw)

    def _batch_get(self, keys: list[dict[str, AttributeValueTypeDef]], consistent: bool) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for start in range(0, len(keys), 100):
            pending: Any = {self.table: {"Keys": keys[start : start + 100], "ConsistentRead": consistent}}
            attempt = 0
            while pending:
                response = self._ddb.batch_get_item(RequestItems=pending)
                out.extend(from_item(raw) for raw in response.get("Responses", {}).get(self.table, []))
                pending = response.get("UnprocessedKeys") or {}
                if pending:
                    _backoff(attempt)
                    attempt += 1
        return out

    # --- jobs ---------------------------------------------------------------------------------------------

    def create_job(self, meta: Meta, ttl: int) -> bool:
        """The job item (Initializing) and its entry in the open-job index; False if the job exists."""
        item = {
            "pk": queue.job_pk(meta.job),
            "sk": queue.META,
            "job": meta.job,
            "run_id": meta.run_id,
            "part": meta.part,
            "manifest": meta.manifest,
            "status": meta.status,
            "workers": meta.workers,
            "lease_seconds": meta.lease_seconds,
            "availability_seconds": meta.availability_seconds,
            "created": meta.created,
            "arn": meta.arn,
            "screens": 0,
            "done": 0,
            "expired": 0,
            "tallied": 0,
            "ttl": ttl,
        }
        index = {"pk": queue.OPEN_PK, "sk": queue.open_sk(meta.job), "job": meta.job, "run_id": meta.run_id, "ttl": ttl}
        reasons = self._transact([self._put(item, "attribute_not_exists(#pk)"), self._put(index)])
        return reasons is None

    def meta(self, job: str) -> Meta | None:
        raw = self._get(_meta_key(job))
        return meta_from_item(raw) if raw else None

    def metas(self, jobs: list[str]) -> list[Meta]:
        found = self._batch_get([_meta_key(job) for job in jobs], consistent=True)
        return sorted((meta_from_item(raw) for raw in found), key=lambda m: m.job)

    def open_jobs(self) -> list[str]:
        """Every job not yet delivered (in progress, or ended and not yet handed to the workflow)."""
        request: QueryInputPaginateTypeDef = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk",
            **_expression("#pk = :pk", values={"pk": queue.OPEN_PK}),  # type: ignore[typeddict-item]
            "ConsistentRead": True,
        }
        return [str(raw["job"]) for raw in self._query(request)]

    def put_slots(self, slots: Iterable[Slot], shards: int, ttl: int) -> int:
        """Write (or overwrite) OPEN slots, 25 per BatchWriteItem, SEED_THREADS requests at once. Only while
        the job is Initializing: nothing can be claimed yet, so overwriting is harmless. Returns the slots."""

        def item(slot: Slot) -> WriteRequestTypeDef:
            data = {
                "pk": queue.screen_pk(slot.job, slot.seq),
                "sk": queue.slot_sk(slot.k),
                "job": slot.job,
                "seq": slot.seq,
                "k": slot.k,
                "batch": slot.batch,
                "state": queue.OPEN,
                "q_pk": queue.queue_pk(slot.job, slot.seq, shards),
                "q_sk": queue.queue_sk(slot.k, 0, slot.seq),
                "ttl": ttl,
            }
            return cast("WriteRequestTypeDef", {"PutRequest": {"Item": to_item(data)}})

        def write(batch: list[WriteRequestTypeDef]) -> None:
            attempt = 0
            while batch:
                response = self._ddb.batch_write_item(RequestItems={self.table: batch})
                batch = cast("list[WriteRequestTypeDef]", response.get("UnprocessedItems", {}).get(self.table, []))
                if batch:
                    _backoff(attempt)
                    attempt += 1

        count = 0
        lock = threading.Lock()
        source = iter(slots)

        def chunks() -> Iterator[list[WriteRequestTypeDef]]:
            nonlocal count
            while True:
                with lock:
                    batch = [item(s) for _, s in zip(range(_BATCH), source, strict=False)]
                    count += len(batch)
                if not batch:
                    return
                yield batch

        with ThreadPoolExecutor(max_workers=SEED_THREADS) as pool:
            for future in [pool.submit(write, batch) for batch in chunks()]:
                future.result()
        return count

    def begin(self, job: str, screens: int, shards: int, available_until: float) -> bool:
        """Initializing -> InProgress once every slot is written; False if the job is not Initializing."""
        return self._conditional_update(
            _meta_key(job),
            "SET #status = :ip, #screens = :screens, #shards = :shards, #available_until = :until",
            "#status = :init",
            ip=queue.IN_PROGRESS,
            init=queue.INITIALIZING,
            screens=screens,
            shards=shards,
            until=available_until,
        )

    def end_job(self, job: str, status: str, now: float, from_statuses: tuple[str, ...]) -> bool:
        """``from_statuses`` -> ``status`` (Completed or Stopped), with the caller's claim on delivering it.
        One conditional write: of concurrent callers exactly one gets True."""
        values: dict[str, object] = {"to": status, "now": now, "claim": now + queue.DELIVERY_CLAIM_SECONDS}
        values |= {f"from{n}": s for n, s in enumerate(from_statuses)}
        allowed = ", ".join(f":from{n}" for n in range(len(from_statuses)))
        return self._conditional_update(
            _meta_key(job),
            "SET #status = :to, #ended_at = :now, #delivering_until = :claim",
            f"#status IN ({allowed})",
            **values,
        )

    def claim_delivery(self, job: str, now: float) -> bool:
        """The right to deliver an ended job whose first deliverer did not finish (its claim has lapsed)."""
        return self._conditional_update(
            _meta_key(job),
            "SET #delivering_until = :claim",
            "#status IN (:completed, :stopped) AND attribute_not_exists(#delivered) "
            "AND (attribute_not_exists(#delivering_until) OR #delivering_until < :now)",
            claim=now + queue.DELIVERY_CLAIM_SECONDS,
            completed=queue.COMPLETED,
            stopped=queue.STOPPED,
            now=now,
        )

    def mark_delivered(self, job: str) -> None:
        """The workflow has the job's outcome: the job leaves the open-job index."""
        self._transact(
            [
                self._update(_meta_key(job), "SET #delivered = :yes REMOVE #delivering_until", yes=True),
                self._delete(_key(queue.OPEN_PK, queue.open_sk(job))),
            ]
        )

    def reviewers(self, job: str) -> list[ReviewerCount]:
        request: QueryInputPaginateTypeDef = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :rev)",
            **_expression(  # type: ignore[typeddict-item]
                "#pk = :pk AND begins_with(#sk, :rev)", values={"pk": queue.job_pk(job), "rev": "REV#"}
            ),
        }
        return [
            ReviewerCount(str(raw["reviewer"]), _int(raw, "claims"), _int(raw, "done")) for raw in self._query(request)
        ]

    # --- slots and leases ------------------------------------------------------------------------------------

    def slot(self, ref: TaskRef) -> Slot | None:
        raw = self._get(_slot_key(ref))
        return slot_from_item(raw) if raw and raw.get("state") else None

    def screen_slots(self, job: str, seq: int) -> list[Slot]:
        """Every slot of a screen (a consistent Query)."""
        request: QueryInputPaginateTypeDef = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :s)",
            "ConsistentRead": True,
            **_expression(  # type: ignore[typeddict-item]
                "#pk = :pk AND begins_with(#sk, :s)", values={"pk": queue.screen_pk(job, seq), "s": "S#"}
            ),
        }
        return [slot_from_item(raw) for raw in self._query(request)]

    def lease_of(self, reviewer: str, job: str) -> tuple[LeaseRef, float] | None:
        """The reviewer's lease item in the job and its recorded expiry (the slot has the last word)."""
        raw = self._get(_key(queue.lease_pk(reviewer), queue.lease_sk(job)))
        if not raw:
            return None
        ref = LeaseRef(reviewer, job, _int(raw, "seq"), _int(raw, "k"), str(raw["lease_id"]))
        return ref, _num(raw, "lease_until")

    def leases(self, job: str, reviewers: list[str]) -> dict[str, float]:
        """Reviewer -> the recorded expiry of their lease item in the job (reviewers without one left out)."""
        found = self._batch_get([_key(queue.lease_pk(r), queue.lease_sk(job)) for r in reviewers], consistent=False)
        return {str(raw["pk"])[len("REV#") :]: _num(raw, "lease_until") for raw in found}

    def candidates(
        self, job: str, shard: int, k: int, now: float, start: Mapping[str, Any] | None = None, limit: int = 25
    ) -> tuple[list[Slot], Mapping[str, Any] | None]:
        """One page of turn-k slots of a shard that may be claimable now (the index proposes, the claim decides)."""
        condition = "#q_pk = :q AND #q_sk BETWEEN :low AND :high"
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": QUEUE_INDEX,
            "KeyConditionExpression": condition,
            "Limit": limit,
            **_expression(
                condition,
                values={"q": queue.shard_pk(job, shard), "low": f"{k}#", "high": f"{k}#{int(now):012d}#99999999"},
            ),
        }
        if start:
            request["ExclusiveStartKey"] = start
        response = self._ddb.query(**request)
        slots = [slot_from_item(from_item(raw)) for raw in response.get("Items", [])]
        return slots, response.get("LastEvaluatedKey")

    def markers(self, job: str, reviewer: str, seqs: Iterable[int]) -> set[int]:
        """The screens among ``seqs`` where the reviewer has (or holds) a turn."""
        wanted = sorted(set(seqs))
        found = self._batch_get(
            [_key(queue.screen_pk(job, seq), queue.marker_sk(reviewer)) for seq in wanted], consistent=False
        )
        return {int(str(raw["pk"]).rsplit("#", 1)[1]) for raw in found}

    def queued(self, job: str, shards: int) -> Iterator[Slot]:
        """Every slot still in the queue index (open or leased), shard after shard."""
        condition = "#q_pk = :q"
        for shard in range(shards):
            request: QueryInputPaginateTypeDef = {
                "TableName": self.table,
                "IndexName": QUEUE_INDEX,
                "KeyConditionExpression": condition,
                **_expression(condition, values={"q": queue.shard_pk(job, shard)}),  # type: ignore[typeddict-item]
            }
            for raw in self._query(request):
                yield slot_from_item(raw)

    def pending(self, job: str) -> list[TaskRef]:
        """Answered slots whose answer is not yet in the labels table (from the index: may lag a moment)."""
        condition = "#q_pk = :q"
        request: QueryInputPaginateTypeDef = {
            "TableName": self.table,
            "IndexName": QUEUE_INDEX,
            "KeyConditionExpression": condition,
            **_expression(condition, values={"q": queue.pending_pk(job)}),  # type: ignore[typeddict-item]
        }
        return [TaskRef(str(raw["job"]), _int(raw, "seq"), _int(raw, "k")) for raw in self._query(request)]

    def claim(
        self,
        slot: Slot,
        reviewer: str,
        lease_id: str,
        until: float,
        now: float,
        seen_lease: str | None,
        ttl: int,
        workers: int = 1,
    ) -> Outcome:
        """One transaction: the slot becomes the reviewer's lease (if it is still as ``slot`` shows it and
        claimable), the reviewer's marker on the screen is created (K distinct reviewers), the previous
        holder's marker goes (their lapsed turn is someone else's now), the reviewer's lease item points here
        (unless a concurrent /next of theirs changed it), their claim is counted, and none of the screen's
        other ``workers - 1`` turns is held by a live lease: a screen is in one reviewer's hands at a time."""
        ref = slot.ref
        previous = slot.lease_owner if slot.state == queue.LEASED else None
        items = [
            self._update(
                _slot_key(ref),
                "SET #state = :leased, #lease_owner = :me, #lease_id = :lid, #lease_until = :until, "
                "#leased_at = :now, #q_sk = :new_q",
                "#q_sk = :seen_q AND ((#state = :open AND attribute_not_exists(#lease_owner)) OR "
                "(#state = :leased AND #lease_until < :now AND #lease_owner = :previous))",
                leased=queue.LEASED,
                open=queue.OPEN,
                me=reviewer,
                lid=lease_id,
                until=until,
                now=now,
                new_q=queue.queue_sk(ref.k, until, ref.seq),
                seen_q=slot.q_sk or "",
                previous=previous or "",
            ),
        ]
        marker = _key(queue.screen_pk(ref.job, ref.seq), queue.marker_sk(reviewer))
        if previous != reviewer:
            marker_item = {**{k: v["S"] for k, v in marker.items()}, "reviewer": reviewer, "k": ref.k, "ttl": ttl}
            items.append(self._put(marker_item, "attribute_not_exists(#pk)"))
        if previous and previous != reviewer:
            items.append(self._delete(_key(queue.screen_pk(ref.job, ref.seq), queue.marker_sk(previous))))
        lease_item = {
            "pk": queue.lease_pk(reviewer),
            "sk": queue.lease_sk(ref.job),
            "job": ref.job,
            "seq": ref.seq,
            "k": ref.k,
            "lease_id": lease_id,
            "lease_until": until,
            "ttl": ttl,
        }
        items.append(self._put(lease_item, "attribute_not_exists(#pk) OR #lease_id = :seen", seen=seen_lease or ""))
        items.append(
            self._update(
                _key(queue.job_pk(ref.job), queue.progress_sk(reviewer)),
                "SET #reviewer = :me ADD #claims :one",
                me=reviewer,
                one=1,
            )
        )
        siblings = len(items)
        for other in range(workers):
            if other != ref.k:
                items.append(
                    self._check(
                        _slot_key(TaskRef(ref.job, ref.seq, other)),
                        "attribute_not_exists(#pk) OR #state <> :leased OR #lease_until < :now",
                        leased=queue.LEASED,
                        now=now,
                    )
                )
        reasons = self._transact(items)
        if reasons is None:
            return Outcome.DONE
        if reasons[0] == "ConditionalCheckFailed":
            return Outcome.LOST
        if previous != reviewer and reasons[1] == "ConditionalCheckFailed":
            return Outcome.SEEN
        if any(reason == "ConditionalCheckFailed" for reason in reasons[siblings:]):
            return Outcome.LOST  # another reviewer holds a turn of this screen right now: try another screen
        return Outcome.BUSY

    def heartbeat(self, ref: TaskRef, reviewer: str, lease_id: str, until: float) -> bool:
        """Renew the lease (False: not the caller's); the reviewer's lease item follows when it is this lease."""
        renewed = self._conditional_update(
            _slot_key(ref),
            "SET #lease_until = :until, #q_sk = :q",
            "#state = :leased AND #lease_owner = :me AND #lease_id = :lid",
            until=until,
            q=queue.queue_sk(ref.k, until, ref.seq),
            leased=queue.LEASED,
            me=reviewer,
            lid=lease_id,
        )
        if renewed:
            self._conditional_update(
                _key(queue.lease_pk(reviewer), queue.lease_sk(ref.job)),
                "SET #lease_until = :until",
                "#lease_id = :lid",
                until=until,
                lid=lease_id,
            )
        return renewed

    def release(self, ref: TaskRef, reviewer: str, lease_id: str, now: float) -> bool:
        """The slot is open again (behind the never-leased ones of its turn) and the reviewer's marker goes:
        they may take this screen again later. False: not the caller's lease."""
        reasons = self._transact(
            [
                self._update(
                    _slot_key(ref),
                    "SET #state = :open, #q_sk = :q REMOVE #lease_owner, #lease_id, #lease_until, #leased_at",
                    "#state = :leased AND #lease_owner = :me AND #lease_id = :lid",
                    open=queue.OPEN,
                    q=queue.queue_sk(ref.k, now, ref.seq),
                    leased=queue.LEASED,
                    me=reviewer,
                    lid=lease_id,
                ),
                self._delete(_key(queue.screen_pk(ref.job, ref.seq), queue.marker_sk(reviewer))),
            ]
        )
        if reasons is not None:
            return False
        self.drop_lease(reviewer, ref.job, lease_id)
        return True

    def answer(self, ref: TaskRef, reviewer: str, lease_id: str, answer: str, digest: str, now: float) -> Outcome:
        """One transaction: the slot LEASED -> DONE with the answer (if the caller holds its lease), the job's
        ``done`` +1 (if it is in progress), the reviewer's ``done`` +1. The slot waits in the index for its
        tally (``P#<job>``). The reviewer's lease item is deleted after the transaction, and only if it still
        names this lease: a late answer may come when the reviewer holds a newer lease, which must survive,
        and a conditional delete inside the transaction would cancel the answer instead. A lease item left
        behind is harmless: /next trusts the slot, not the lease item."""
        reasons = self._transact(
            [
                self._update(
                    _slot_key(ref),
                    "SET #state = :done, #answer = :answer, #answer_hash = :hash, #answered_at = :now, "
                    "#q_pk = :p, #q_sk = :psk",
                    "#state = :leased AND #lease_owner = :me AND #lease_id = :lid",
                    done=queue.DONE,
                    answer=answer,
                    hash=digest,
                    now=now,
                    p=queue.pending_pk(ref.job),
                    psk=queue.pending_sk(ref.seq, ref.k),
                    leased=queue.LEASED,
                    me=reviewer,
                    lid=lease_id,
                ),
                self._update(_meta_key(ref.job), "ADD #done :one", "#status = :ip", one=1, ip=queue.IN_PROGRESS),
                self._update(
                    _key(queue.job_pk(ref.job), queue.progress_sk(reviewer)),
                    "SET #reviewer = :me ADD #done :one",
                    me=reviewer,
                    one=1,
                ),
            ]
        )
        if reasons is None:
            self.drop_lease(reviewer, ref.job, lease_id)
            return Outcome.DONE
        return Outcome.LOST if reasons[0] == "ConditionalCheckFailed" else Outcome.JOB_CLOSED

    def drop_lease(self, reviewer: str, job: str, lease_id: str) -> None:
        """Delete the reviewer's lease item if it is still this lease (a stale one is harmless: /next checks
        the slot)."""
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.delete_item(
                TableName=self.table,
                Key=_key(queue.lease_pk(reviewer), queue.lease_sk(job)),
                ConditionExpression="#lease_id = :lid",
                **_expression("#lease_id = :lid", values={"lid": lease_id}),
            )

    def mark_tallied(self, ref: TaskRef) -> bool:
        """The slot's answer is in the labels table: it leaves the index and the job's ``tallied`` +1
        (once: False if it was marked already)."""
        reasons = self._transact(
            [
                self._update(
                    _slot_key(ref),
                    "SET #tallied = :yes REMOVE #q_pk, #q_sk",
                    "#state = :done AND attribute_not_exists(#tallied)",
                    yes=True,
                    done=queue.DONE,
                ),
                self._update(_meta_key(ref.job), "ADD #tallied :one", one=1),
            ]
        )
        return reasons is None

    def expire(self, job: str, slots: list[Slot]) -> int:
        """Open or leased slots -> EXPIRED, the job's ``expired`` counting each once; returns how many."""
        count = 0
        for start in range(0, len(slots), EXPIRE_PER_TRANSACTION):
            group = slots[start : start + EXPIRE_PER_TRANSACTION]
            if self._expire_group(job, group):
                count += len(group)
                continue
            # one of them changed meanwhile (answered, or expired by another sweep): one by one
            count += sum(1 for slot in group if self._expire_group(job, [slot]))
        return count

    def _expire_group(self, job: str, slots: list[Slot]) -> bool:
        items = [
            self._update(
                _slot_key(slot.ref),
                "SET #state = :expired REMOVE #q_pk, #q_sk",
                "#state IN (:open, :leased)",
                expired=queue.EXPIRED,
                open=queue.OPEN,
                leased=queue.LEASED,
            )
            for slot in slots
        ]
        items.append(self._update(_meta_key(job), "ADD #expired :n", n=len(slots)))
        return self._transact(items) is None

    def scan_all(self) -> list[dict[str, object]]:
        """Every item (tests compare the table before and after a refused request)."""
        out: list[dict[str, object]] = []
        for page in self._ddb.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            out.extend(from_item(raw) for raw in page.get("Items", []))
        return sorted(out, key=lambda item: (str(item["pk"]), str(item["sk"])))
