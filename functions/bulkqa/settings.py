"""Typed settings read from the function's environment variables.

Each handler asks for the settings it needs; every missing or invalid variable is reported in one
``SettingsError`` that names them all. Nothing is read at import time.

Every value a stack parameter sets is declared once, in :data:`PARAMETERS`: its kind and its range. The
functions accept exactly what :meth:`Setting.problem` accepts, ``template.yaml`` carries the same
constraints (:meth:`Setting.template_constraints`; tests/static/test_template.py checks that the two agree
value for value), and ``bulkqa demo`` / ``bulkqa analyze`` check their flags with the same rule. A bad
setting therefore fails when the stack is deployed or the command starts, never at the last step.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .errors import SettingsError

Kind = Literal["integer", "decimal", "choice", "pattern"]

#: The ReviewBackend parameter's values: who reviews the screens.
GROUND_TRUTH = "GroundTruth"
SELF_HOSTED = "SelfHosted"


def _pieces(low: int, high: int, digits: int) -> list[tuple[int, int, int]]:
    """[low, high], numbers of ``digits`` digits, as blocks (start, end, k): a fixed prefix, one digit
    range, then k free digits."""
    out = []
    start = low
    while start <= high:
        k = 0
        while k + 1 < digits and start % 10 ** (k + 1) == 0 and start + 10 ** (k + 1) - 1 <= high:
            k += 1
        step = 10**k
        end = start + step - 1
        while end + step <= high and (end + 1) // (step * 10) == start // (step * 10):
            end += step
        out.append((start, end, k))
        start = end + 1
    return out


def integer_regex(low: int, high: int) -> str:
    """A regular expression matching exactly the whole numbers low..high written in plain digits
    (no sign, no leading zero, no spaces): what a CloudFormation AllowedPattern can say about a range."""
    if not 0 <= low <= high:
        raise ValueError(f"bad range {low}..{high}")
    alternatives = []
    digits = len(str(low))
    while low <= high:
        top = min(high, 10**digits - 1)
        for start, end, k in _pieces(low, top, digits):
            prefix = str(start // 10 ** (k + 1)) if start >= 10 ** (k + 1) else ""
            first, last = start // 10**k % 10, end // 10**k % 10
            body = prefix + (str(first) if first == last else f"[{first}-{last}]")
            body += "" if k == 0 else "[0-9]" if k == 1 else f"[0-9]{{{k}}}"
            alternatives.append(body)
        low, digits = top + 1, digits + 1
    return "|".join(alternatives)


@dataclass(frozen=True, slots=True)
class Setting:
    """One stack parameter as the functions read it: the parameter, its variable, what it accepts."""

    parameter: str  # the template.yaml parameter
    env: str  # the function's environment variable
    kind: Kind
    default: str
    low: int = 0  # integer and decimal: the inclusive range
    high: int = 0
    choices: tuple[str, ...] = ()  # choice
    regex: str = ""  # pattern
    meaning: str = ""  # pattern: what the value is, for messages
    required: bool = False  # the parameter has no default: the stack cannot be deployed without it

    @property
    def pattern(self) -> str:
        """The whole value must match this (the template's AllowedPattern); '' for a choice."""
        if self.kind == "integer":
            return f"^({integer_regex(self.low, self.high)})$"
        if self.kind == "decimal":
            below = integer_regex(self.low, self.high - 1)
            return f"^({self.high}(\\.0+)?|({below})(\\.[0-9]+)?)$"
        if self.kind == "pattern":
            return self.regex
        return ""

    @property
    def rule(self) -> str:
        """What a valid value is, in words (the template's ConstraintDescription)."""
        if self.kind == "integer":
            return f"must be a whole number from {self.low} to {self.high}, in plain digits"
        if self.kind == "decimal":
            return (
                f"must be a number from {self.low} to {self.high}, in plain decimal notation "
                "(digits and at most one decimal point)"
            )
        if self.kind == "choice":
            return "must be one of " + ", ".join(self.choices)
        return f"must be {self.meaning}"

    def problem(self, raw: str) -> str | None:
        """None if ``raw`` is accepted, else why not (starting with a verb: "is outside ...")."""
        if self.kind == "choice":
            return None if raw in self.choices else f"is not accepted: {self.rule}"
        if re.fullmatch(self.pattern, raw):
            return None
        if self.kind in ("integer", "decimal") and re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw):
            if self.kind == "integer" and "." in raw:
                return f"is not a whole number: {self.rule}"
            if not Decimal(self.low) <= Decimal(raw) <= Decimal(self.high):
                return f"is outside {self.low}..{self.high}: {self.rule}"
        return f"is not accepted: {self.rule}"

    def template_constraints(self) -> dict[str, object]:
        """The parameter's declaration in template.yaml, Description aside."""
        out: dict[str, object] = {"Type": "String"} if self.required else {"Type": "String", "Default": self.default}
        if self.kind == "choice":
            out["AllowedValues"] = list(self.choices)
        else:
            out["AllowedPattern"] = self.pattern
        out["ConstraintDescription"] = self.rule
        return out


PARAMETERS: tuple[Setting, ...] = (
    Setting("ReviewBackend", "REVIEW_BACKEND", "choice", GROUND_TRUTH, choices=(GROUND_TRUTH, SELF_HOSTED)),
    # empty is accepted here; labeling_settings requires it with Ground Truth (the template's Rules entry
    # WorkteamForGroundTruth says the same at deployment)
    Setting(
        "WorkteamArn",
        "WORKTEAM_ARN",
        "pattern",
        "",
        regex="^$|^arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:workteam/.+$",
        meaning="empty or the ARN of a SageMaker work team (arn:aws:sagemaker:<region>:<account>:workteam/...)",
    ),
    Setting("BatchSize", "BATCH_SIZE", "integer", "25", 1, 100),
    Setting("WorkersPerObject", "WORKERS_PER_OBJECT", "integer", "1", 1, 9),
    Setting("MinConfidence", "MIN_CONFIDENCE", "decimal", "0", 0, 100),
    Setting("ConfidenceScale", "CONFIDENCE_SCALE", "choice", "auto", choices=("auto", "percent", "fraction")),
    Setting(
        "ImageBucketName",
        "IMAGE_BUCKET_NAME",
        "pattern",
        "",
        regex="^$|^[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]$",
        meaning="empty or an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)",
    ),
    Setting("TaskTimeLimitSeconds", "TASK_TIME_LIMIT_SECONDS", "integer", "600", 30, 28_800),
    Setting("TaskAvailabilitySeconds", "TASK_AVAILABILITY_SECONDS", "integer", "864000", 60, 2_592_000),
    Setting("MaxConcurrentTasks", "MAX_CONCURRENT_TASKS", "integer", "1000", 1, 1_000),  # 5,000 with a quota increase
    Setting("MaxObjectsPerJob", "MAX_OBJECTS_PER_JOB", "integer", "100000", 1, 100_000),
    Setting("CompletionCheckSeconds", "COMPLETION_CHECK_SECONDS", "integer", "3600", 1, 86_400),
    Setting("MaxFpRatio", "MAX_FP_RATIO", "decimal", "0.1", 0, 100),
    Setting("IngestChunkBytes", "INGEST_CHUNK_BYTES", "integer", "4194304", 1024, 256 * 1024 * 1024),
)
BY_PARAMETER: dict[str, Setting] = {s.parameter: s for s in PARAMETERS}
BY_ENV: dict[str, Setting] = {s.env: s for s in PARAMETERS}


def parameter_problems(values: Mapping[str, object]) -> dict[str, str]:
    """Parameter name -> why its value is refused, for every refused value among ``values``."""
    out = {}
    for name, value in values.items():
        reason = BY_PARAMETER[name].problem(str(value))
        if reason:
            out[name] = reason
    return out


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

    def setting(self, name: str) -> str:
        """The variable's value as the template's parameter would pass it; unset means the default."""
        spec = BY_ENV[name]
        raw = self._environ.get(name)
        if raw is None:
            if spec.required:
                self.problems.append(f"{name} is not set")
            return spec.default
        reason = spec.problem(raw)
        if reason:
            self.problems.append(
                f"{name}={raw!r} {reason}" if spec.kind in ("pattern", "choice") else f"{name}={raw} {reason}"
            )
            return spec.default
        return raw

    def integer(self, name: str) -> int:
        return int(self.setting(name))

    def number(self, name: str) -> float:
        return float(self.setting(name))

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
    #: the job's title for the reviewers; "" = derived from ``batch_size`` (:func:`bulkqa.labeling.task_title`)
    task_title: str
    batch_size: int = 25
    review_backend: str = GROUND_TRUTH  # GroundTruth | SelfHosted (bulkqa.deps.review_backend)
    review_table: str = ""  # the self-hosted backend's table (REVIEW_TABLE_NAME); "" with Ground Truth


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    """What the self-hosted review functions (the API, the sweeper) know."""

    stack: StackSettings
    review_table: str
    user_pool_id: str
    user_pool_client_id: str
    cognito_endpoint: str
    image_bucket: str  # an extra bucket images may live in; "" for none
    workers_per_object: int
    task_time_limit: int
    task_availability: int
    region: str
    review_backend: str = SELF_HOSTED


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
        min_confidence=env.number("MIN_CONFIDENCE"),
        image_bucket=env.setting("IMAGE_BUCKET_NAME"),
        chunk_bytes=env.integer("INGEST_CHUNK_BYTES"),
        confidence_scale=env.setting("CONFIDENCE_SCALE"),
    )
    env.done()
    return settings


def batch_settings(environ: Mapping[str, str] | None = None) -> BatchSettings:
    env = _Env(environ)
    settings = BatchSettings(
        stack=_stack(env),
        batch_size=env.integer("BATCH_SIZE"),
        max_objects_per_job=env.integer("MAX_OBJECTS_PER_JOB"),
        completion_check_seconds=env.integer("COMPLETION_CHECK_SECONDS"),
    )
    env.done()
    return settings


def labeling_settings(environ: Mapping[str, str] | None = None) -> LabelingSettings:
    env = _Env(environ)
    settings = LabelingSettings(
        stack=_stack(env),
        workteam_arn=env.setting("WORKTEAM_ARN"),
        labeling_role_arn=env.text("LABELING_ROLE_ARN"),
        pre_labeling_arn=env.text("PRE_LABELING_FUNCTION_ARN"),
        post_labeling_arn=env.text("POST_LABELING_FUNCTION_ARN"),
        workers_per_object=env.integer("WORKERS_PER_OBJECT"),
        task_time_limit=env.integer("TASK_TIME_LIMIT_SECONDS"),
        task_availability=env.integer("TASK_AVAILABILITY_SECONDS"),
        max_concurrent_tasks=env.integer("MAX_CONCURRENT_TASKS"),
        task_title=env.text("TASK_TITLE", default=""),
        batch_size=env.integer("BATCH_SIZE"),
        review_backend=env.setting("REVIEW_BACKEND"),
        review_table=env.text("REVIEW_TABLE_NAME", default=""),
    )
    if settings.review_backend == GROUND_TRUTH and not settings.workteam_arn:
        env.problems.append(
            "WORKTEAM_ARN is empty: the GroundTruth review backend needs a work team "
            "(set WorkteamArn, or ReviewBackend=SelfHosted)"
        )
    if settings.review_backend == SELF_HOSTED and not settings.review_table:
        env.problems.append("REVIEW_TABLE_NAME is not set: the SelfHosted review backend keeps its queue there")
    env.done()
    return settings


def review_settings(environ: Mapping[str, str] | None = None) -> ReviewSettings:
    """The review API's and the sweeper's settings (every variable is required but IMAGE_BUCKET_NAME)."""
    env = _Env(environ)
    settings = ReviewSettings(
        stack=_stack(env),
        review_table=env.text("REVIEW_TABLE_NAME"),
        user_pool_id=env.text("USER_POOL_ID"),
        user_pool_client_id=env.text("USER_POOL_CLIENT_ID"),
        cognito_endpoint=env.text("COGNITO_ENDPOINT"),
        image_bucket=env.setting("IMAGE_BUCKET_NAME"),
        workers_per_object=env.integer("WORKERS_PER_OBJECT"),
        task_time_limit=env.integer("TASK_TIME_LIMIT_SECONDS"),
        task_availability=env.integer("TASK_AVAILABILITY_SECONDS"),
        region=env.text("AWS_REGION", default="us-east-1"),
        review_backend=env.setting("REVIEW_BACKEND"),
    )
    env.done()
    return settings


def analysis_settings(environ: Mapping[str, str] | None = None) -> AnalysisSettings:
    env = _Env(environ)
    settings = AnalysisSettings(
        stack=_stack(env),
        min_confidence=env.number("MIN_CONFIDENCE"),
        max_fp_ratio=env.number("MAX_FP_RATIO"),
    )
    env.done()
    return settings
