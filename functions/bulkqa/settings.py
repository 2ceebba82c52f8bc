"""Typed settings read from the function's environment variables.

Each handler asks for the settings it needs; every missing or invalid variable is reported in one
``SettingsError`` that names them all. Nothing is read at import time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SettingsError


class _Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str:
        value = self._environ.get(name, "").strip()
        if value:
            return value
        if default is not None:
            return default
        self.problems.append(f"{name} is not set")
        return ""

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int:
        raw = self._environ.get(name, "").strip()
        if not raw and default is not None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a whole number")
            return low
        if not low <= value <= high:
            self.problems.append(f"{name}={value} is outside {low}..{high}")
        return value

    def number(self, name: str, low: float, high: float, default: float | None = None) -> float:
        raw = self._environ.get(name, "").strip()
        if not raw and default is not None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a number")
            return low
        if not math.isfinite(value) or not low <= value <= high:
            self.problems.append(f"{name}={raw} is outside {low}..{high}")
        return value

    def done(self) -> None:
        if self.problems:
            raise SettingsError(
                "invalid function configuration: "
                + "; ".join(self.problems)
                + ". Fix the stack parameters (template.yaml) and redeploy."
            )


@dataclass(frozen=True, slots=True)
class StackSettings:
    """What every function of the stack knows: where things are."""

    bucket: str
    labels_table: str
    runs_table: str


@dataclass(frozen=True, slots=True)
class IngestSettings:
    stack: StackSettings
    min_confidence: float
    image_bucket: str  # an extra bucket that s3_image_url may point at; "" for none
    chunk_bytes: int
    confidence_scale: str  # auto | percent | fraction


@dataclass(frozen=True, slots=True)
class BatchSettings:
    stack: StackSettings
    batch_size: int
    max_objects_per_job: int
    completion_check_seconds: int


@dataclass(frozen=True, slots=True)
class LabelingSettings:
    stack: StackSettings
    workteam_arn: str
    labeling_role_arn: str
    pre_labeling_arn: str
    post_labeling_arn: str
    workers_per_object: int
    task_time_limit: int
    task_availability: int
    max_concurrent_tasks: int
    task_title: str


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    stack: StackSettings
    min_confidence: float
    max_fp_ratio: float


def _stack(env: _Env) -> StackSettings:
    return StackSettings(
        bucket=env.text("BUCKET_NAME"),
        labels_table=env.text("LABELS_TABLE_NAME"),
        runs_table=env.text("RUNS_TABLE_NAME"),
    )


def stack_settings(environ: Mapping[str, str] | None = None) -> StackSettings:
    env = _Env(environ)
    settings = _stack(env)
    env.done()
    return settings


def ingest_settings(environ: Mapping[str, str] | None = None) -> IngestSettings:
    env = _Env(environ)
    settings = IngestSettings(
        stack=_stack(env),
        min_confidence=env.number("MIN_CONFIDENCE", 0.0, 100.0, default=0.0),
        image_bucket=env.text("IMAGE_BUCKET_NAME", default=""),
        chunk_bytes=env.integer("INGEST_CHUNK_BYTES", 1024, 512 * 1024 * 1024, default=4 * 1024 * 1024),
        confidence_scale=env.text("CONFIDENCE_SCALE", default="auto"),
    )
    if settings.confidence_scale not in ("auto", "percent", "fraction"):
        env.problems.append(f"CONFIDENCE_SCALE={settings.confidence_scale!r} is not auto, percent or fraction")
    env.done()
    return settings


def batch_settings(environ: Mapping[str, str] | None = None) -> BatchSettings:
    env = _Env(environ)
    settings = BatchSettings(
        stack=_stack(env),
        batch_size=env.integer("BATCH_SIZE", 1, 100, default=25),
        max_objects_per_job=env.integer("MAX_OBJECTS_PER_JOB", 1, 100_000, default=100_000),
        completion_check_seconds=env.integer("COMPLETION_CHECK_SECONDS", 1, 86_400, default=3_600),
    )
    env.done()
    return settings


def labeling_settings(environ: Mapping[str, str] | None = None) -> LabelingSettings:
    env = _Env(environ)
    settings = LabelingSettings(
        stack=_stack(env),
        workteam_arn=env.text("WORKTEAM_ARN"),
        labeling_role_arn=env.text("LABELING_ROLE_ARN"),
        pre_labeling_arn=env.text("PRE_LABELING_FUNCTION_ARN"),
        post_labeling_arn=env.text("POST_LABELING_FUNCTION_ARN"),
        workers_per_object=env.integer("WORKERS_PER_OBJECT", 1, 9, default=1),
        task_time_limit=env.integer("TASK_TIME_LIMIT_SECONDS", 30, 28_800, default=600),
        task_availability=env.integer("TASK_AVAILABILITY_SECONDS", 60, 2_592_000, default=864_000),
        max_concurrent_tasks=env.integer("MAX_CONCURRENT_TASKS", 1, 5_000, default=1_000),
        task_title=env.text("TASK_TITLE", default="Confirm the labels of 25 images"),
    )
    env.done()
    return settings


def analysis_settings(environ: Mapping[str, str] | None = None) -> AnalysisSettings:
    env = _Env(environ)
    settings = AnalysisSettings(
        stack=_stack(env),
        min_confidence=env.number("MIN_CONFIDENCE", 0.0, 100.0, default=0.0),
        max_fp_ratio=env.number("MAX_FP_RATIO", 0.0, 100.0, default=0.1),
    )
    env.done()
    return settings
