"""Every request the functions make in a whole local run is allowed by their roles, for both review backends.

moto enforces no IAM, so the local cloud records each function's requests as (IAM action, resource ARN)
(``LocalCloud.record_requests``) and this test matches them against the function's role as the template
resolves it for that stack (its ``!If`` statements included). tests/static/test_template.py checks the
other direction (every grant is used) from a reading of the code; this one catches code that changed
without its role.
"""

from __future__ import annotations

import fnmatch
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bulkqa_local.cloud import LocalCloud
from bulkqa_local.demo import run_demo

DATA = Path(__file__).resolve().parents[2] / "local" / "bulkqa_local" / "data"


def role_grants(cloud: LocalCloud, function: str) -> set[tuple[str, str]]:
    """(action, resource pattern) pairs the function's role allows in this stack."""
    role = cloud.stack.resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    out: set[tuple[str, str]] = set()
    for policy in cloud.stack.resources[role]["Properties"]["Policies"]:
        document: dict[str, Any] = cloud.stack.resolve(policy["PolicyDocument"])
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        for st in statements:
            assert st["Effect"] == "Allow"
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out |= {(a, r) for a in actions for r in resources}
    return out


@pytest.mark.parametrize("backend", ["ground-truth", "self-hosted"])
def test_every_request_of_a_run_is_allowed_by_the_functions_role(backend: str) -> None:
    recorded: list[dict[str, set[tuple[str, str]]]] = []
    clouds: list[LocalCloud] = []

    def record(cloud: LocalCloud) -> None:
        clouds.append(cloud)
        recorded.append(cloud.record_requests())

    with tempfile.TemporaryDirectory() as out:
        result = run_demo(csv_path=DATA / "smallsample.csv", out=Path(out), cloud_hook=record, backend=backend)
    assert result.status == "SUCCEEDED"
    (requests,) = recorded
    functions = {"StartLabelingJobFunction", "AnalyzeResultsFunction", "MakeBatchesFunction"}
    functions |= {"ReviewApiFunction"} if backend == "self-hosted" else {"PreLabelingFunction", "PostLabelingFunction"}
    assert functions <= set(requests), "the run's functions made requests"
    refused = {}
    for function, made in requests.items():
        granted = role_grants(clouds[0], function)
        missing = sorted(
            (action, resource)
            for action, resource in made
            # the callback's token names no resource: its state machine is checked in tests/static
            if not any(a == action and (resource == "*" or fnmatch.fnmatchcase(resource, r)) for a, r in granted)
        )
        if missing:
            refused[function] = missing
    assert not refused, f"requests the roles would refuse on AWS: {refused}"
