"""The self-hosted reviewer page end to end: two reviewers in headless Chromium, the real review API.

``bulkqa serve`` (local/bulkqa_local/serve.py) runs in a thread: the local stack with
ReviewBackend=SelfHosted, the review API function behind the local server (routes and JWT authorizer as
the template declares them), Cognito's JSON API at /_local/cognito-idp, images as local placeholders.
Alice and Bob sign in on the real page (first sign-in: a new password), review every screen with
overlap 2; Alice unchecks two images of her first screen. Bob is never given a screen Alice holds (nor
Alice one Bob holds), neither gets a screen twice, and each screen's two turns go to the two of them. A
reviewer told "nothing left" while the other holds the last screen starts again later. After the
last answer the workflow resumes and the report shows exactly those two images with one rejecting vote
(split: Bob confirmed them). One label is ``<img src=x onerror=alert(1)>``: it shows literally and no
dialog ever opens.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE = "<img src=x onerror=alert(1)>"
SAMPLE = REPO / "local" / "bulkqa_local" / "data" / "sample.csv"
ARTIFACTS = REPO / "tests" / "artifacts"


def _csv(tmp_path: Path) -> Path:
    """Three screens at BatchSize 5: five Sea Turtles, five Dogs, four images labelled with markup."""
    rows = list(csv.DictReader(SAMPLE.read_text("utf-8-sig").splitlines()))
    turtles = [r for r in rows if r["label"] == "Sea Turtle"][:5]
    dogs = [r for r in rows if r["label"] == "Dog"][:5]
    hostile = [{**r, "label": HOSTILE} for r in rows if r["label"] == "Dinosaur"][:4]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["image_local_path", "label", "confidence"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(turtles + dogs + hostile)
    path = tmp_path / "e2e.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


class Served:
    """serve() in a thread (as ``bulkqa serve`` runs it, minus the terminal)."""

    def __init__(self, tmp_path: Path, **kwargs: Any) -> None:
        from bulkqa_local.serve import serve

        self.out = tmp_path / "out"
        self._ready: queue.Queue[Any] = queue.Queue()
        self.result: Any = None
        self.error: BaseException | None = None

        def work() -> None:
            try:
                self.result = serve(out=self.out, on_ready=self._ready.put, timeout=600, **kwargs)
            except BaseException as exc:
                self.error = exc
                self._ready.put(None)

        self.thread = threading.Thread(target=work, name="bulkqa-serve", daemon=True)
        self.thread.start()

    def info(self) -> dict[str, Any]:
        info = self._ready.get(timeout=300)
        if info is None:
            raise AssertionError(f"serve failed before it was ready: {self.error!r}") from self.error
        return dict(info)

    def finish(self, timeout: float = 300) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "serve did not end after the last answer"
        if self.error:
            raise AssertionError(f"serve failed: {self.error!r}") from self.error
        return self.result


class Person:
    """One reviewer's browser page on the served site."""

    def __init__(self, browser: Any, url: str, username: str, password: str) -> None:
        self.name = username
        self.context = browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", self._console)
        self.page.on("dialog", self._dialog)
        self.response = self.page.goto(url, wait_until="load")
        self.password = password
        self.task: dict[str, Any] | None = None
        self.tasks: list[str] = []  # task ids (<job>.<seq>.<k>: screen seq, reviewer turn k) given, in order
        self.screens: list[str] = []  # <job>.<seq> of every screen given, in order

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def sign_in(self) -> None:
        page = self.page
        page.wait_for_selector("#signin-username:focus")
        page.fill("#signin-username", self.name)
        page.fill("#signin-password", self.password)
        page.click("#signin-submit")
        page.wait_for_selector("#newpw-password:focus")
        new = "Chosen-" + self.password
        page.fill("#newpw-password", new)
        page.fill("#newpw-confirm", new)
        page.click("#newpw-submit")
        page.wait_for_selector("#view-jobs:visible")

    def jobs(self, timeout: float = 300) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            names = [str(n) for n in self.page.locator(".app-job-name").all_inner_texts()]
            if names:
                return names
            time.sleep(1)
            self.page.click("#jobs-refresh")
            self.page.wait_for_timeout(300)
        raise AssertionError("no review job opened")

    def _expect_next(self, action: Any) -> dict[str, Any] | None:
        def is_next(r: Any) -> bool:
            return bool(r.request.method == "POST" and r.url.endswith("/next"))

        with self.page.expect_response(is_next, timeout=60_000) as info:
            action()
        response = info.value
        if response.status == 204:
            self.page.wait_for_selector("#view-jobs:visible")
            self.task = None
            return None
        assert response.status == 200, response.status
        task: dict[str, Any] = response.json()
        self.page.wait_for_function(
            "n => document.querySelectorAll('#bq [data-tile]').length === n", arg=len(task["images"])
        )
        self.task = task
        self.tasks.append(task["task_id"])
        self.screens.append(task["task_id"].rsplit(".", 1)[0])
        return task

    def start(self, job: str) -> dict[str, Any] | None:
        return self._expect_next(lambda: self.page.click(f'button[data-job="{job}"]'))

    def submit(self) -> dict[str, Any] | None:
        return self._expect_next(lambda: self.page.click("#review-submit"))

    def uncheck(self, indexes: list[int]) -> list[str]:
        """Uncheck these tiles by keyboard; the names of their images."""
        assert self.task is not None
        page = self.page
        page.focus("#review-title")
        at = -1
        for index in sorted(indexes):
            for _ in range(index - at):
                page.keyboard.press("Tab")
            at = index
            page.keyboard.press("Space")
        count = f"{len(indexes)} of {len(self.task['images'])} marked wrong"
        page.wait_for_function("t => document.querySelector('[data-qa-count]').textContent === t", arg=count)
        return [self.task["images"][i]["name"] for i in indexes]

    def check_label(self) -> None:
        assert self.task is not None
        label = self.page.locator("[data-qa-label]")
        assert label.inner_text() == self.task["label"]
        assert self.page.locator("[data-qa-label] *").count() == 0


def test_two_reviewers_on_the_real_page(browser: Any, tmp_path: Path) -> None:
    served = Served(tmp_path, csv_path=_csv(tmp_path), reviewers=2, workers=2, batch_size=5)
    info = served.info()
    alice_account, bob_account = info["reviewers"]
    alice = Person(browser, info["url"], alice_account["username"], alice_account["password"])
    bob = Person(browser, info["url"], bob_account["username"], bob_account["password"])
    try:
        assert alice.response is not None
        csp = alice.response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        alice.sign_in()
        bob.sign_in()
        (job,) = alice.jobs()
        assert bob.jobs() == [job]

        alice.start(job)
        assert alice.task is not None
        bob.start(job)
        assert bob.task is not None
        assert bob.screens[-1] != alice.screens[-1]  # never a screen alice holds
        assert bob.task["lease_id"] != alice.task["lease_id"]
        rejected = alice.uncheck([0, 2])
        alice.page.wait_for_timeout(200)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        alice.page.screenshot(path=str(ARTIFACTS / "review-e2e-alice.png"))

        seen_hostile = 0
        people = [alice, bob]
        while True:
            for person in people:
                if person.task is None:
                    continue
                person.check_label()
                if person.task["label"] == HOSTILE:
                    seen_hostile += 1
                other = bob if person is alice else alice
                person.submit()
                if person.task is not None and other.task is not None:
                    assert person.screens[-1] != other.screens[-1], (
                        f"{person.name} was given the screen {other.name} holds: {alice.tasks} {bob.tasks}"
                    )
            if any(p.task is not None for p in people):
                continue
            # both were told "nothing left"; one of them may have been told so while the other held the
            # last screen they had not reviewed: they start again, and only then is nothing left
            for person in people:
                if len(person.screens) < 3:
                    person.start(job)
            if all(p.task is None for p in people):
                break
        assert "Nothing left for you in this job" in alice.page.locator("#status").inner_text()
        assert seen_hostile == 2  # each reviewer saw the markup label, as text

        for person in people:
            assert len(person.screens) == len(set(person.screens)) == 3, person.screens  # never a screen twice
            assert person.dialogs == [] and person.errors == [], (person.name, person.dialogs, person.errors)

        # each screen's two turns went to the two reviewers, one each
        assert sorted(alice.tasks + bob.tasks) == sorted(f"{s}.{k}" for s in set(alice.screens) for k in (0, 1))

        result = served.finish()
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        report = json.loads((served.out / "report.json").read_text("utf-8"))
        assert report["totals"]["split"] == 2
        assert report["totals"]["disconfirmed"] == 0
        assert report["totals"]["unreviewed"] == 0
        rows = list(csv.DictReader((served.out / "disconfirmed.csv").read_text("utf-8").splitlines()))
        assert sorted(r["image"].split("/", 3)[3] for r in rows) == sorted(rejected)  # s3://bucket/<name>
        assert all((r["confirms"], r["rejects"]) == ("1", "1") for r in rows)
        votes: dict[str, int] = defaultdict(int)
        for line in (served.out / "corrected-labels.jsonl").read_text("utf-8").splitlines():
            item = json.loads(line)
            votes[item["image"]] += item["confirms"] + item["rejects"]
        assert set(votes.values()) == {2}  # every image reviewed by both
    finally:
        alice.context.close()
        bob.context.close()
