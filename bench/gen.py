"""Synthetic label files for the benchmarks: N rows, deterministic for a given seed.

    .venv/bin/python bench/gen.py N [--seed S] [--out PATH]

Rows look like the 2019 sample (``image_local_path,label,confidence``): Caltech-101 style paths
``<folder>/image_NNNN.jpg``, the labels of ``local/bulkqa_local/data/caltech_truth.json`` (so the
demo's simulated reviewers know which labels are right), confidences on the 0-100 scale that are
higher, on average, for right labels. A handful of bad rows (one of each kind the ingest rejects:
empty label, non-numeric/negative/too-high confidence, URL, absolute path, missing field, duplicate)
are spread through the file; :func:`bad_row_count` says how many.

Files go to ``bench/data/`` (git-ignored) and are reused when they already exist.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import sys
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
TRUTH_FILE = ROOT / "local" / "bulkqa_local" / "data" / "caltech_truth.json"
HEADER = "image_local_path,label,confidence"

#: Caltech-101 folders that are no label's truth: where wrong labels point (as in sample.csv).
DISTRACTORS = (
    "BACKGROUND_Google",
    "binocular",
    "brain",
    "chandelier",
    "cougar_body",
    "crocodile_head",
    "euphonium",
    "gramophone",
    "helicopter",
    "nautilus",
    "panda",
    "platypus",
    "rhino",
    "sea_horse",
    "snoopy",
    "yin_yang",
)

#: Rows the ingest must reject (one of each kind); ``{dup}`` is replaced by the file's first data row.
BAD_ROWS = (
    "dalmatian/image_bad1.jpg,,93.5",  # empty label
    "dalmatian/image_bad2.jpg,Dog,ninety",  # not a number
    "dalmatian/image_bad3.jpg,Dog,-4",  # negative
    "dalmatian/image_bad4.jpg,Dog,140.5",  # above 100
    "https://example.com/image_bad5.jpg,Dog,88",  # a URL, not a key
    "/data/caltech/dalmatian/image_bad6.jpg,Dog,77",  # absolute path
    "dalmatian/image_bad7.jpg,Dog",  # a missing field
    "{dup}",  # duplicate of the first data row
)


def truth() -> dict[str, list[str]]:
    """Label -> the Caltech folders that truly show it (the simulated reviewers' knowledge)."""
    return dict(json.loads(TRUTH_FILE.read_text(encoding="utf-8"))["labels"])


def bad_row_count(n: int) -> int:
    """How many of the n rows of a generated file are bad (the ingest rejects exactly these)."""
    return len(BAD_ROWS) if n >= 10 * len(BAD_ROWS) else 0


def rows(n: int, seed: int = 2019) -> Iterator[str]:
    """The n data lines (no header, no line ends) of the file for ``seed``."""
    rng = random.Random(seed)
    labels_truth = truth()
    labels = sorted(labels_truth)
    folders = sorted({f for fs in labels_truth.values() for f in fs} | set(DISTRACTORS))
    # a label's share of the rows and how often the model is right for it differ by label
    weights = [0.3 + rng.random() for _ in labels]
    precision = {label: 0.55 + 0.4 * rng.random() for label in labels}
    wrong_folders = {label: [f for f in folders if f not in labels_truth[label]] for label in labels}
    counters = dict.fromkeys(folders, 0)
    bad = bad_row_count(n)
    # bad rows at fixed fractions of the file, never the first row (the duplicate needs it)
    bad_at = {max(1, (k + 1) * n // (bad + 1)): BAD_ROWS[k] for k in range(bad)}
    first = ""
    choices = rng.choices
    rand = rng.random
    for i in range(n):
        if i in bad_at:
            yield bad_at[i].replace("{dup}", first)
            continue
        label = choices(labels, weights)[0]
        right = labels_truth[label]
        correct = bool(right) and rand() < precision[label]
        if correct:
            folder = right[int(rand() * len(right))]
        else:
            wrong = wrong_folders[label]
            folder = wrong[int(rand() * len(wrong))]
        counters[folder] += 1
        # right labels mostly score high, wrong ones spread lower; never in (0, 1), which would be
        # read as the 0-1 scale
        confidence = 100.0 - 45.0 * rand() ** 3 if correct else 100.0 - 99.0 * rand() ** 0.7
        line = f"{folder}/image_{counters[folder]:04d}.jpg,{label},{confidence:.8g}"
        if i == 0:
            first = line
        yield line


def csv_bytes(n: int, seed: int = 2019) -> bytes:
    """The whole file (header and n rows, LF line ends) in memory."""
    return ("\n".join([HEADER, *rows(n, seed)]) + "\n").encode("utf-8")


def generate(n: int, seed: int = 2019, out: pathlib.Path | None = None) -> pathlib.Path:
    """Write the file (unless it already exists) and return its path."""
    path = out or DATA_DIR / f"labels-{n}-seed{seed}.csv"
    if path.exists() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(csv_bytes(n, seed))
    tmp.replace(path)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("rows must be at least 1")
    path = generate(args.rows, args.seed, args.out)
    print(f"{path} ({args.rows:,} rows, {bad_row_count(args.rows)} bad, {path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
