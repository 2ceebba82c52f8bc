"""bulk-label-qa: the shared package behind every Lambda function of the stack.

Layout (see docs/architecture.md):
- domain modules (csvfile, ingest, batching, labeling, prelabel, consolidation, analysis, reports)
  are typed functions with no boto3 and no event shapes;
- ``adapters`` holds one adapter per AWS service, each taking its boto3 client;
- ``aws`` builds clients lazily (nothing happens at import time);
- the handlers in ``functions/<name>/app.py`` are a few lines each.
"""
