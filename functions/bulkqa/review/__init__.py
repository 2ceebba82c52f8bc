"""The self-hosted review backend: a lease queue in DynamoDB, its HTTP API and the reviewer page.

Ground Truth closed to new AWS customers on 2026-07-30; this backend runs in any account behind the
same ``ReviewBackend`` seam (``bulkqa.ports``), with the same answer format and consolidation.
"""
