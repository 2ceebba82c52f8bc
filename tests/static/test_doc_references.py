"""Every ``*.md`` reference in the code, its comments and the docs points to a file users have.

A reference is a path-like token ending in ``.md`` (``docs/architecture.md``, ``interfaces.md``,
``../shared/reference/x.md``, a Markdown link target ``(docs/costs.md#cost-per-1000-images)``) in any
text file tracked by git (or untracked and not ignored) under the project's source folders, plus the
top-level files that ship with it. URLs are not references (``https://docs.aws.amazon.com/...md``).

A reference resolves when the file exists inside the repository relative to the repository root, to
the referencing file's folder, or to ``docs/``; an ``#anchor`` must name a heading of that file
(GitHub's heading ids). References that leave the repository (``../shared/...``, absolute paths) are
never accepted: the steering folder next to a developer's clone is not shipped, so users do not have
it. No test reads a ``.md`` file from there, so there is no exception for tests either.

``report.md`` is a file a run writes (docs/interfaces.md lists it), not a document of the
repository: :data:`RUN_OUTPUTS` names such files, and they must be documented in docs/interfaces.md.

The second test checks that every flag of every ``bulkqa`` subcommand, read from the real argparse
parser, appears in that subcommand's section of docs/interfaces.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

THIS_FILE = Path(__file__).resolve()
ROOT = THIS_FILE.parents[2]
DOCS = ROOT / "docs"
INTERFACES = DOCS / "interfaces.md"

#: Folders whose files are scanned, and the top-level files that ship with them.
SCANNED_FOLDERS = ("functions", "local", "tests", "bench", "statemachine", "events", "docs")
SCANNED_FILES = ("README.md", "template.yaml", "Makefile", "pyproject.toml")
#: Never scanned when walking the tree without git.
SKIPPED_PARTS = {
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    ".aws-sam",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "out",
    "artifacts",
    "build",
}
#: Names of files a run writes (not documents of the repository).
RUN_OUTPUTS = frozenset({"report.md"})

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s)\"'<>`]+")
_REFERENCE = re.compile(
    r"(?<![\w./\\-])"  # the start of a token, not the middle of a path or a word
    r"(?P<path>(?:~?/)?(?:\.{1,2}/)*[\w-][\w.-]*(?:/[\w-][\w.-]*)*\.md)"
    r"(?:#(?P<anchor>[\w-]*))?"
    r"(?![\w-])"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def _listed_by_git() -> list[Path] | None:
    try:
        out = subprocess.run(
            [
                "git",
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
                "--",
                *SCANNED_FOLDERS,
                *SCANNED_FILES,
            ],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return sorted({ROOT / name for name in out.decode("utf-8").split("\0") if name})


def _walked() -> list[Path]:
    found = [ROOT / name for name in SCANNED_FILES if (ROOT / name).is_file()]
    for folder in SCANNED_FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT).parts
            if path.is_file() and not SKIPPED_PARTS.intersection(relative) and not relative[-1].endswith(".pyc"):
                found.append(path)
    return sorted(found)


def scanned_files() -> list[Path]:
    """The files whose references are checked (git's view when git is there, else a tree walk)."""
    listed = _listed_by_git()
    return [path for path in (listed if listed is not None else _walked()) if path.is_file()]


def references(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, path, anchor) of each ``*.md`` reference in ``text``; URLs are not references."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _REFERENCE.finditer(_URL.sub(" ", line)):
            yield number, match["path"], match["anchor"] or ""


def github_slug(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading)  # inline HTML tags
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every heading id of a Markdown file (duplicates numbered as GitHub does) and explicit anchors."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code:
            continue
        out.update(_HTML_ANCHOR.findall(line))
        heading = _HEADING.match(line)
        if heading:
            slug = github_slug(heading[2])
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            out.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(out)


def _inside(path: Path) -> bool:
    return path == ROOT or ROOT in path.parents


def problem(source: Path, reference: str, anchor: str) -> str | None:
    """Why a reference does not resolve, or None when it does."""
    if Path(reference).name in RUN_OUTPUTS:
        return None
    if reference.startswith(("/", "~")):
        return "an absolute path: users do not have it; point to a file in the repository"
    candidates = [(base / reference).resolve() for base in (ROOT, source.parent, DOCS)]
    target = next((c for c in candidates if _inside(c) and c.is_file()), None)
    if target is None and not all(_inside(candidate) for candidate in candidates):
        return "outside the repository (users do not have ../shared): point to a file in docs/"
    if target is None:
        return "no such file (looked relative to the repository root, this file's folder and docs/)"
    if anchor and anchor not in anchors(target):
        return f"{target.relative_to(ROOT)} has no heading with the id #{anchor}"
    return None


def unresolved() -> list[str]:
    found = []
    for path in scanned_files():
        if path == THIS_FILE:
            continue  # its references are examples of what the test looks for
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files carry no references
        for number, reference, anchor in references(text):
            why = problem(path, reference, anchor)
            if why:
                shown = reference + (f"#{anchor}" if anchor else "")
                found.append(f"{path.relative_to(ROOT)}:{number}: {shown}: {why}")
    return found


def test_every_md_reference_resolves() -> None:
    missing = unresolved()
    assert not missing, f"{len(missing)} *.md references do not resolve:\n" + "\n".join(missing)


def test_the_docs_are_scanned() -> None:
    scanned = {path.relative_to(ROOT).as_posix() for path in scanned_files()}
    for name in ("README.md", "docs/architecture.md", "docs/interfaces.md", "docs/ground-truth.md", "docs/costs.md"):
        assert name in scanned


_IN_PAGE_LINK = re.compile(r"\]\(#([\w-]+)\)")


def test_in_page_links_resolve() -> None:
    """``[text](#anchor)`` in the Markdown files names a heading of the same file."""
    broken = []
    for path in scanned_files():
        if path.suffix != ".md":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for anchor in _IN_PAGE_LINK.findall(line):
                if anchor not in anchors(path):
                    broken.append(f"{path.relative_to(ROOT)}:{number}: #{anchor}")
    assert not broken, "in-page links without a matching heading:\n" + "\n".join(broken)


def test_run_outputs_are_documented() -> None:
    text = INTERFACES.read_text(encoding="utf-8")
    for name in sorted(RUN_OUTPUTS):
        assert f"`{name}`" in text, f"{name} is treated as a run's output file but docs/interfaces.md does not list it"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see docs/architecture.md.", [(1, "docs/architecture.md", "")]),
        (
            "[costs](docs/costs.md#the-prices) and `interfaces.md`",
            [(1, "docs/costs.md", "the-prices"), (1, "interfaces.md", "")],
        ),
        ("(../shared/reference/limits-and-costs.md §5)", [(1, "../shared/reference/limits-and-costs.md", "")]),
        ("/work/shared/x.md", [(1, "/work/shared/x.md", "")]),
        ("https://docs.aws.amazon.com/sagemaker/latest/dg/sms-create-labeling-job-api.md", []),
        ('"report.json/.csv/.md" and {".md": "text/markdown"}', []),
        ("a.mdx, x.md5, readme", []),
    ],
)
def test_what_counts_as_a_reference(text: str, expected: list[tuple[int, str, str]]) -> None:
    assert list(references(text)) == expected


def test_a_reference_outside_the_repository_is_refused() -> None:
    why = problem(ROOT / "functions" / "bulkqa" / "keys.py", "../../../shared/reference/x.md", "")
    assert why is not None and "outside the repository" in why
    assert problem(ROOT / "README.md", "../shared/reference/style-guide.md", "") is not None


def test_github_slugs() -> None:
    assert github_slug("`bulkqa demo`: run the whole workflow") == "bulkqa-demo-run-the-whole-workflow"
    assert github_slug("Costs per 1,000 images") == "costs-per-1000-images"
    assert github_slug("CreateLabelingJob (fields and limits)") == "createlabelingjob-fields-and-limits"


# ---------------------------------------------------------------- the bulkqa command's flags


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__("parser captured")
        self.parser = parser


def bulkqa_parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The parser ``bulkqa`` really builds (bulkqa_local.cli.main), captured when it starts parsing."""
    from bulkqa_local import cli

    def capture(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> argparse.Namespace:
        raise _Captured(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Captured) as captured:
        cli.main([])
    return captured.value.parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("bulkqa has no subcommands")


def section(markdown: str, command: str) -> str:
    """The text of the heading that names `bulkqa <command>` and its subsections."""
    lines = markdown.splitlines()
    for start, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading and f"`bulkqa {command}`" in heading[2]:
            level = len(heading[1])
            end = next(
                (n for n in range(start + 1, len(lines)) if (h := _HEADING.match(lines[n])) and len(h[1]) <= level),
                len(lines),
            )
            return "\n".join(lines[start:end])
    return ""


def test_every_bulkqa_flag_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    markdown = INTERFACES.read_text(encoding="utf-8")
    commands = subcommands(bulkqa_parser(monkeypatch))
    assert {"demo", "analyze", "invoke"} <= set(commands)
    missing = []
    for name, sub in sorted(commands.items()):
        text = section(markdown, name)
        if not text:
            missing.append(f"`bulkqa {name}`: no heading naming it in docs/interfaces.md")
            continue
        for action in sub._actions:
            for flag in action.option_strings:
                if flag in ("-h", "--help"):
                    continue
                if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text):
                    missing.append(f"`bulkqa {name} {flag}`: not in its section of docs/interfaces.md")
            positional = not action.option_strings and action.dest not in ("help", "command")
            if positional and action.dest.upper() not in text and action.dest not in text:
                missing.append(f"`bulkqa {name}` positional {action.dest}: not in docs/interfaces.md")
    assert not missing, "\n".join(missing)
