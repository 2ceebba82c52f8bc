"""Simulated and scripted reviewers for the local Ground Truth.

A reviewer sees a rendered page: a label and, per checkbox, the image shown next to it. Simulated
reviewers know the true class of the embedded sample images from their Caltech-101 folder; every
decision is a pure function of (seed, image, label, reviewer), so duplicated or retried calls and
fault injection never change an answer.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol


class Reviewers(Protocol):
    def worker_ids(self, count: int) -> list[str]: ...

    def confirms(self, worker: str, image_key: str, label: str) -> bool: ...


def caltech_truth() -> dict[str, list[str]]:
    """Label -> Caltech-101 folders that truly show it (shipped as project data)."""
    data = resources.files("bulkqa_local").joinpath("data/caltech_truth.json").read_text(encoding="utf-8")
    return dict(json.loads(data)["labels"])


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class SimulatedReviewers:
    error_rate: float = 0.02
    seed: int = 0
    truth: Mapping[str, list[str]] = field(default_factory=caltech_truth)

    def worker_ids(self, count: int) -> list[str]:
        return [
            f"private.us-east-1.{hashlib.sha256(f'{self.seed}:{n}'.encode()).hexdigest()[:16]}" for n in range(count)
        ]

    def correct(self, image_key: str, label: str) -> bool | None:
        """Is the label right for the image? None when the truth is unknown (a label the sample data lacks).

        docs/interfaces.md: for a CSV without known truth the simulated reviewers confirm with probability
        ``1 - error-rate``, whatever folder the image sits in.
        """
        if label not in self.truth:
            return None
        folder = image_key.split("/")[-2] if "/" in image_key else ""
        return folder in self.truth[label]

    def confirms(self, worker: str, image_key: str, label: str) -> bool:
        truth = self.correct(image_key, label)
        wrong = _unit(self.seed, worker, image_key, label) < self.error_rate
        if truth is None:
            return not wrong
        return truth != wrong


@dataclass
class ScriptedReviewers:
    """``--answers FILE``: CSV image,label,worker,verdict (docs/interfaces.md).

    ``image`` is the input CSV's value as written: an image_local_path key or an ``s3://bucket/key`` URI.
    The page shows reviewers the object, so answers are matched by the object's key. A (image, label,
    worker) without a line leaves the box pre-checked (confirm).
    """

    answers: dict[tuple[str, str, str], bool]
    workers: list[str]

    @classmethod
    def from_csv(cls, path: Path) -> ScriptedReviewers:
        answers: dict[tuple[str, str, str], bool] = {}
        workers: list[str] = []
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"image", "label", "worker", "verdict"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(
                    f"{path}: the answers file needs the columns image,label,worker,verdict "
                    f"(missing {', '.join(sorted(missing))})"
                )
            for line, row in enumerate(reader, start=2):
                verdict = (row["verdict"] or "").strip().lower()
                if verdict not in ("confirm", "reject"):
                    raise ValueError(f"{path}, line {line}: verdict must be confirm or reject, not {verdict!r}")
                worker = row["worker"].strip()
                if worker not in workers:
                    workers.append(worker)
                answers[(_object_key(row["image"].strip()), row["label"].strip(), worker)] = verdict == "confirm"
        if not workers:
            raise ValueError(f"{path}: the answers file has no answers")
        return cls(answers, workers)

    def worker_ids(self, count: int) -> list[str]:
        return list(self.workers)

    def confirms(self, worker: str, image_key: str, label: str) -> bool:
        verdict = self.answers.get((_object_key(image_key), label, worker))
        return True if verdict is None else verdict


def _object_key(image: str) -> str:
    """The S3 key an image reference names: ``s3://bucket/key`` -> ``key``; ``./key`` -> ``key``."""
    if image.startswith("s3://"):
        return image.split("/", 3)[-1]
    return image[2:] if image.startswith("./") else image
