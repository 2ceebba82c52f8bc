"""The workflow's steps as typed functions over ports. Handlers only parse and wire.

Data flows one way: CSV -> chunk results -> batches + manifests -> labeling jobs -> verdicts ->
reports. Only counts and S3 pointers travel between states (Step Functions' 256 KiB limit). Each
step takes the raw event, parses it into its typed input (``bulkqa.model``) at once and returns its
typed output; it reaches storage, tables, the review backend and the workflow only through the
``bulkqa.ports`` protocols.

- :mod:`.ingest_steps`: register the run, check the file and plan the chunks, validate one chunk;
- :mod:`.batch_step`: make the batches and the manifests;
- :mod:`.labeling_steps`: start a labeling job and wait, the job's state-change event;
- :mod:`.gt_hooks`: Ground Truth's pre-labeling and annotation-consolidation calls;
- ``bulkqa.analyze_step``: the reports (kept apart: it loads the analysis code only when it runs).
"""

from .batch_step import make_batches
from .gt_hooks import post_labeling, pre_labeling
from .ingest_steps import HEAD_BYTES, ingest_chunk, plan_ingest, register_run
from .labeling_steps import deliver, on_labeling_job_event, start_labeling_job, worker_template

__all__ = [
    "HEAD_BYTES",
    "deliver",
    "ingest_chunk",
    "make_batches",
    "on_labeling_job_event",
    "plan_ingest",
    "post_labeling",
    "pre_labeling",
    "register_run",
    "start_labeling_job",
    "worker_template",
]
