"""The workflow's error vocabulary.

Lambda reports an unhandled exception's class name as the Step Functions error name, so each class
name here is also an ``ErrorEquals`` value in ``statemachine/bulk_qa.asl.json``. Every message says
what happened and what to do about it.
"""

from __future__ import annotations


class BulkQAError(Exception):
    """Base class: an expected failure with a message meant for the user."""


class InvalidLabelFile(BulkQAError):
    """The uploaded file cannot be read as a label CSV at all (file-level problem)."""


class NoRowsAccepted(BulkQAError):
    """Every row of the file was rejected or below the minimum confidence: nothing to review."""


class InvalidEvent(BulkQAError):
    """A function received an event it cannot interpret."""


class SettingsError(BulkQAError):
    """The function's environment variables are missing or invalid (a deployment problem)."""


class MalformedBatch(BulkQAError):
    """A batch file given to the pre-labeling function is not what make_batches writes."""


class MalformedAnswer(BulkQAError):
    """A reviewer's answer cannot be mapped back to the images of its batch."""


class LabelingJobFailed(BulkQAError):
    """Ground Truth reported the labeling job as Failed; the message carries its FailureReason."""


class LabelingJobStopped(BulkQAError):
    """The labeling job was stopped before every task was done; the report is marked partial."""


class LabelingJobNotFound(BulkQAError):
    """A labeling job that the run expects does not exist."""


class RowsDoNotAddUp(RuntimeError):
    """The rows of the chunk results do not add up after duplicates were settled (a bug, never bad input)."""


class UnknownJob(BulkQAError):
    """A review job that this stack's review table does not hold (the self-hosted backend; HTTP 404)."""


class UnknownTask(BulkQAError):
    """A review task id that does not parse or names no task of an existing job (HTTP 404)."""


class LeaseConflict(BulkQAError):
    """The caller does not hold this task's lease (another reviewer's, expired and taken, or answered
    differently already; HTTP 409). Nothing was written."""
