"""Fixtures shared by the test modules (pytest finds this file; tests do not import it).

- ``cloud``: one local stack (moto + the real template and handlers) per test module. A module that
  needs it set up differently overrides it by name and asks for this one, e.g. to keep uploads from
  starting the workflow::

      @pytest.fixture(scope="module")
      def cloud(cloud: LocalCloud) -> LocalCloud:
          cloud.client("s3").put_bucket_notification_configuration(Bucket=cloud.bucket, NotificationConfiguration={})
          return cloud

- ``invoke``: run one function of that stack by its logical id in ``template.yaml``, as Lambda would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bulkqa_local.cloud import LocalCloud

#: ``invoke("RegisterRunFunction", event)``: the handler's JSON result; a failure raises HandlerError
Invoke = Callable[[str, Any], Any]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    """The local stack built from ``template.yaml``, shared by the tests of one module."""
    with LocalCloud() as local:
        yield local


@pytest.fixture(scope="module")
def invoke(cloud: LocalCloud) -> Invoke:
    """Call a function of the stack by its logical id (``"PreLabelingFunction"``) with an event."""

    def call(logical_id: str, event: Any) -> Any:
        return cloud.invoke(cloud.function_by_logical_id(logical_id).name, event)

    return call


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (tests/support/browser.py's settings), one per test module; without it the test
    is skipped, or under CI=true fails saying what to install (tests/support/browser.py: sync_api)."""
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sync_api

    api = sync_api()
    with api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true no test may pass by skipping (a skip, e.g. from a module-level importorskip, fails)."""
    outcome = yield
    from tests.support.browser import in_ci

    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"CI=true: tests must run, not skip: {reason}"
