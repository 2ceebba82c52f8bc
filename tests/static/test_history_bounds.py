"""Worst cases computed from the state machine definition and the parameters' ranges (#12 points 2 and 4).

Step Functions fails an execution whose history passes 25,000 events, and a state whose input or output
passes 256 KiB. Nothing here runs the workflow: the ASL is walked, each state's events are counted the way
Step Functions writes them (retries included), and the parameters' extremes come from ``settings.PARAMETERS``
(mirrored by template.yaml, see test_template.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bulkqa import settings

ROOT = Path(__file__).resolve().parents[2]
ASL: dict[str, Any] = json.loads((ROOT / "statemachine" / "bulk_qa.asl.json").read_text(encoding="utf-8"))
HISTORY_LIMIT = 25_000
STATE_LIMIT = 256 * 1024
# a labeling job ends at the latest when its tasks' availability has passed: at most 30 days
# (docs/ground-truth.md, "job lifetime"); a day more for Ground Truth to write the output and send the event
JOB_LIFETIME = int(settings.BY_PARAMETER["TaskAvailabilitySeconds"].high) + 86_400
PARENT_PER_MAP_RUN = 6  # MapStateEntered, MapRunStarted, MapRunSucceeded|Failed, MapStateExited + ItemReader/Writer


def _retries(state: dict[str, Any]) -> int:
    """Events the state's retriers can add: each attempt is Scheduled, Started and Failed again."""
    return sum(3 * int(r.get("MaxAttempts", 3)) for r in state.get("Retry", []))


def events(state: dict[str, Any]) -> int:
    """The most history events one pass through ``state`` writes (a Map counts as its parent's share)."""
    kind = state["Type"]
    if kind == "Task":
        # Entered, Scheduled, Started, [Submitted], Succeeded|Failed|TimedOut, Exited
        submitted = 1 if str(state.get("Resource", "")).endswith("WaitForTaskToken}") else 0
        return 5 + submitted + _retries(state)
    if kind == "Map":
        mode = state["ItemProcessor"].get("ProcessorConfig", {}).get("Mode", "INLINE")
        assert mode == "DISTRIBUTED", "an inline Map writes its iterations into the parent's history"
        return PARENT_PER_MAP_RUN
    if kind in ("Succeed", "Fail"):
        return 1
    return 2  # Pass, Choice, Wait: Entered, Exited


def _successors(state: dict[str, Any]) -> list[str]:
    out = [c["Next"] for c in state.get("Catch", [])]
    out += [c["Next"] for c in state.get("Choices", [])]
    out += [state[k] for k in ("Next", "Default") if k in state]
    return out


def longest_acyclic_path(states: dict[str, Any], start: str) -> int:
    """Events of the longest path from ``start`` (the definition's graph must have no cycle here)."""
    memo: dict[str, int] = {}

    def walk(name: str, seen: frozenset[str]) -> int:
        assert name not in seen, f"a loop through {name!r} in the parent: its history would grow with time"
        if name not in memo:
            state = states[name]
            memo[name] = events(state) + max((walk(n, seen | {name}) for n in _successors(state)), default=0)
        return memo[name]

    return walk(start, frozenset())


def loop(states: dict[str, Any], start: str) -> tuple[list[str], int]:
    """The states of the one cycle through ``start``, and the most events one turn of it writes."""
    paths: list[list[str]] = []

    def walk(name: str, path: list[str]) -> None:
        for n in _successors(states[name]):
            if n == start:
                paths.append(path)
            elif n not in path:
                walk(n, [*path, n])

    walk(start, [start])
    assert paths, f"no loop through {start!r}"
    longest = max(paths, key=lambda p: sum(events(states[s]) for s in p))
    return longest, sum(events(states[s]) for s in longest)


def _labeling_map() -> dict[str, Any]:
    (state,) = [s for s in ASL["States"].values() if s["Type"] == "Map" and "ItemsPath" in s]
    return state


def test_the_run_history_does_not_grow_with_the_jobs() -> None:
    """The parent: no loop, each Map is a fixed number of events whatever the jobs or chunks."""
    worst = longest_acyclic_path(ASL["States"], ASL["StartAt"])
    assert worst < HISTORY_LIMIT
    assert worst < 500  # a constant: independent of MaxObjectsPerJob, the task count and the jobs' lifetime


def test_one_jobs_history_stays_under_the_limit_for_the_longest_job_and_shortest_interval() -> None:
    """A child: one job's wait loop, re-checked every CompletionCheckSeconds (doubling up to a floor)."""
    child = _labeling_map()["ItemProcessor"]
    states, wait = child["States"], child["StartAt"]
    turn, per_turn = loop(states, wait)
    # the re-check interval: at least the parameter's lowest value, doubled while below the floor
    (check,) = [states[s] for s in turn if states[s]["Type"] == "Choice"]
    (rule,) = check["Choices"]
    assert rule["Variable"] == "$.check_seconds" and "NumericLessThan" in rule
    floor = int(rule["NumericLessThan"])
    doubles = states[rule["Next"]]
    assert doubles["Parameters"]["check_seconds.$"] == "States.MathAdd($.check_seconds, $.check_seconds)"
    assert states[wait]["TimeoutSecondsPath"] == "$.check_seconds"
    shortest = int(settings.BY_PARAMETER["CompletionCheckSeconds"].low)
    growing = math.ceil(math.log2(floor / shortest)) if shortest < floor else 0
    steady = math.ceil(JOB_LIFETIME / floor) + 1
    turns = growing + steady
    # the way out of the loop (the job's end: callback, failure noted) and the execution's own events
    ending = max(longest_acyclic_path(states, n) for n in _successors(states[wait]) if n not in turn)
    worst = turns * per_turn + events(states[wait]) + ending + 4
    assert per_turn >= 8  # Task (6+), Choice (2): the count is not trivially small
    assert worst < HISTORY_LIMIT, (turns, per_turn, worst)


def test_the_history_bound_fails_for_an_inline_labeling_map() -> None:
    """The check above would catch the old definition: an inline Map puts every job's loop in the parent."""
    state = json.loads(json.dumps(_labeling_map()))
    state["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}
    try:
        events(state)
    except AssertionError:
        return
    raise AssertionError("an inline Map was not refused")


def test_no_map_returns_its_childrens_outputs_to_the_run() -> None:
    """A Distributed Map's result is one entry per child: with enough chunks or jobs it passes 256 KiB.

    The number of children is unbounded by the parameters (IngestChunkBytes' lowest value on a big file,
    MaxObjectsPerJob 1 on many tasks), so each Map must write its children's outputs to S3 (ResultWriter):
    its own result is then the MapRunArn and the manifest's location, a few hundred bytes.
    """
    chunk = int(settings.BY_PARAMETER["IngestChunkBytes"].low)
    per_job = int(settings.BY_PARAMETER["MaxObjectsPerJob"].low)
    assert (5 * 1024**4 // chunk) * 2 > STATE_LIMIT  # a 5 TB upload, "{}" per chunk
    assert per_job == 1  # one job per task is allowed: the jobs are as many as the tasks
    maps = [s for s in ASL["States"].values() if s["Type"] == "Map"]
    assert len(maps) == 2
    for state in maps:
        assert state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        writer = state.get("ResultWriter")
        assert writer and writer["Resource"] == "${S3PutObject}", state.get("Label")
        assert writer["Parameters"] == {"Bucket": "${BucketName}", "Prefix": writer["Parameters"]["Prefix"]}
        assert writer["Parameters"]["Prefix"].startswith("map-runs/")
        assert state["ResultPath"] is None  # the manifest's location is not needed either
