"""One adapter per AWS service; each takes its boto3 client in ``__init__``."""
