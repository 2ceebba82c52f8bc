"""A file of a million rows with a handful of bad ones: planned, validated chunk by chunk, nothing lost.

This runs the same planning and validation code as the workflow's plan_ingest and ingest_labels steps
(the Distributed Map's children), without the AWS calls, so that it fits in `make test`; the whole
workflow runs on 100,000 rows in `make bench`.
"""

from __future__ import annotations

import pytest

from bulkqa import csvfile, ingest

pytestmark = pytest.mark.slow

ROWS = 1_000_000
BAD = {
    17: "x.jpg,,90",
    123_456: "../etc/passwd,Dog,90",
    500_000: "a.jpg,Dog,NaN",
    777_777: 'b.jpg,"Dog, unterminated,90',
    999_999: "c.jpg,Dog,101",
}


def _file() -> bytes:
    lines = ["image_local_path,label,confidence"]
    for n in range(ROWS):
        lines.append(BAD.get(n) or f"folder{n % 101}/image_{n:07d}.jpg,Label{n % 37},{50 + (n % 5000) / 100}")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_million_rows_with_a_handful_of_bad_ones() -> None:
    data = _file()
    # the unterminated quote at row 777,777 swallows the rest of the file: a file problem, said clearly
    with pytest.raises(csvfile.InvalidLabelFile, match=r"line 777779 opens a quoted field"):
        header = csvfile.read_header(data[:65536])
        csvfile.plan_chunks([data[header.data_start :]], header.data_start, 4 * 1024 * 1024)

    fixed = data.replace(b'b.jpg,"Dog, unterminated,90', b'b.jpg,"Dog, terminated",90')
    header = csvfile.read_header(fixed[:65536])
    blocks = [fixed[i : i + 8 * 1024 * 1024] for i in range(header.data_start, len(fixed), 8 * 1024 * 1024)]
    chunks, records = csvfile.plan_chunks(blocks, header.data_start, 4 * 1024 * 1024)
    assert records == ROWS
    assert len(chunks) > 10
    rules = ingest.Rules("bucket", "", 0.0, "percent")
    accepted = rejected = 0
    reasons: dict[int, str] = {}
    for chunk in chunks:
        result = ingest.validate_chunk(fixed[chunk.start : chunk.end], chunk.index, chunk.first_line, header, rules)
        accepted += len(result.accepted)
        rejected += len(result.rejected)
        reasons.update({row[0]: row[1] for row in result.rejected})
    assert accepted + rejected == ROWS
    assert sorted(reasons) == [n + 2 for n in sorted(BAD) if n != 777_777]
    assert "label is empty" in reasons[19]
    assert "'..'" in reasons[123_458]
    assert "finite" in reasons[500_002]
    assert "above 100" in reasons[1_000_001]
