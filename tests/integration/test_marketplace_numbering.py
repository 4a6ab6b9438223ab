"""The matching engine's numbering and steps, on files (DuckDB, no database): a report
line is numbered by its place among the report's release lines, the receivables that got
no line come after by key, the chunks are contiguous and in line order, and the report is
read before the receivables file is needed."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from integrations.finance.marketplace_match import (
    READ,
    REPORT_COLUMNS,
    Chunk,
    MatchOutcome,
    marketplace_steps,
)

pytestmark = pytest.mark.integration

DAY = date(2026, 12, 1)


def _report(path: Path, lines: list[tuple[str, str, str, str, str, str]]) -> None:
    """(SOURCE_ID, EXTERNAL_REFERENCE, RECORD_TYPE, DESCRIPTION, NET_CREDIT, GROSS)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(REPORT_COLUMNS)
        for source, ref, record, description, credit, gross in lines:
            fee = "-4.99" if description == "payment" else "0"
            out.writerow(
                [f"{DAY}T12:00:00.000-03:00", source, ref, record, description, credit,
                 "0", gross, fee, "0", "0", "0", "0", "1", "pix", "", ""]
            )  # fmt: skip


def _receivables(path: Path, keys: list[str]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("key,order_id,gross,fees,net,refunded,expected_release,anticipated\n")
        for key in keys:
            fh.write(f"{key},order:{key},100.00,4.99,95.01,0.00,{DAY},false\n")


def test_lines_are_numbered_in_report_order_then_missing_by_key(tmp_path: Path) -> None:
    report, receivables = tmp_path / "report.csv", tmp_path / "receivables.csv"
    _report(
        report,
        [
            ("9", "store:Z", "release", "payment", "95.01", "100.00"),
            ("8", "store:A", "release", "payment", "95.01", "100.00"),
            ("7", "store:Q", "initial_available_balance", "", "0", "0"),  # not a release
            ("6", "store:X", "release", "payment", "95.01", "100.00"),  # no receivable
            ("5", "store:Z", "release", "chargeback", "0", "0"),
        ],
    )
    _receivables(receivables, ["store:Z", "store:A", "store:M", "store:C"])
    steps = marketplace_steps(report, receivables, DAY, tmp_path, chunk_rows=2)
    assert next(steps) == READ
    counted = next(steps)
    assert isinstance(counted, MatchOutcome)
    assert counted.lines == 6
    assert counted.chunks == []
    rest = list(steps)
    chunks = [c for c in rest if isinstance(c, Chunk)]
    assert chunks == rest
    assert [(c.first, c.last) for c in chunks] == [(1, 2), (3, 4), (5, 6)]
    rows = []
    for chunk in chunks:
        with chunk.path.open(encoding="utf-8") as fh:
            rows += [(int(r["seq"]), r["key"], r["description"], r["class"])
                     for r in csv.DictReader(fh)]  # fmt: skip
    assert rows == [
        (1, "store:Z", "payment", "matched"),
        (2, "store:A", "payment", "matched"),
        (3, "store:X", "payment", "unexpected_payout"),
        (4, "store:Z", "chargeback", "chargeback"),
        (5, "store:C", "payment", "missing_payout"),
        (6, "store:M", "payment", "missing_payout"),
    ]
    assert not (tmp_path / "tmp" / "results-0000.csv").exists()  # moved into place whole


def test_the_same_files_are_numbered_the_same_twice(tmp_path: Path) -> None:
    report, receivables = tmp_path / "report.csv", tmp_path / "receivables.csv"
    _report(
        report,
        [(str(n), f"store:B{n % 7}", "release", "payment", "95.01", "100.00") for n in range(50)],
    )
    _receivables(receivables, [f"store:B{n}" for n in range(12)])
    texts = []
    for attempt in ("a", "b"):
        out = tmp_path / attempt
        out.mkdir()
        chunks = [s for s in marketplace_steps(report, receivables, DAY, out, chunk_rows=8)
                  if isinstance(s, Chunk)]  # fmt: skip
        texts.append([c.path.read_text(encoding="utf-8") for c in chunks])
    assert texts[0] == texts[1]
