"""Marketplace reconciliation in one set-based pass: the provider's release report (CSV)
against our receivables (CSV), joined and classified by DuckDB, written as one CSV of
results ready for a bulk load (COPY on PostgreSQL). No Python loop touches a row.

Why DuckDB and why files: docs/finance.md ("The matching engine")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from domain.errors import ProviderRejected
from domain.reconciliation import LineClass

# Mercado Pago's release report columns this engine reads (others are ignored).
REPORT_COLUMNS = {
    "DATE": "VARCHAR",
    "SOURCE_ID": "VARCHAR",
    "EXTERNAL_REFERENCE": "VARCHAR",
    "RECORD_TYPE": "VARCHAR",
    "DESCRIPTION": "VARCHAR",
    "NET_CREDIT_AMOUNT": "DECIMAL(14,2)",
    "NET_DEBIT_AMOUNT": "DECIMAL(14,2)",
    "GROSS_AMOUNT": "DECIMAL(14,2)",
    "MP_FEE_AMOUNT": "DECIMAL(14,2)",
    "FINANCING_FEE_AMOUNT": "DECIMAL(14,2)",
    "SHIPPING_FEE_AMOUNT": "DECIMAL(14,2)",
    "TAXES_AMOUNT": "DECIMAL(14,2)",
    "COUPON_AMOUNT": "DECIMAL(14,2)",
    "INSTALLMENTS": "VARCHAR",
    "PAYMENT_METHOD": "VARCHAR",
    "ORDER_ID": "VARCHAR",
    "SHIPPING_ID": "VARCHAR",
}
# Our receivables as the repository exports them (an empty order_id: `order:<key>`).
RECEIVABLE_COLUMNS = {
    "key": "VARCHAR",
    "order_id": "VARCHAR",
    "gross": "DECIMAL(14,2)",
    "fees": "DECIMAL(14,2)",
    "net": "DECIMAL(14,2)",
    "refunded": "DECIMAL(14,2)",
    "expected_release": "DATE",
    "anticipated": "BOOLEAN",
}
# The results, in the column order of the `reconciliation_lines` table.
RESULT_COLUMNS = (
    "kind", "day", "seq", "class", "key", "order_id", "description", "reference", "amount",
    "line_gross", "line_fees", "expected_gross", "expected_fees", "expected_net",
)  # fmt: skip


class ReportInvalid(ProviderRejected):
    """The report is not the provider's documented CSV; the message names what is wrong."""


@dataclass(frozen=True)
class Chunk:
    path: Path
    first: int  # seq of its first line
    last: int


@dataclass(frozen=True)
class MatchOutcome:
    lines: int  # report lines classified (release records) plus receivables missing
    classified: dict[str, int]
    chunks: list[Chunk]


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _csv(path: Path, columns: dict[str, str]) -> str:
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    return (
        f"read_csv('{_quoted(path)}', header=true, delim=',', quote='\"', columns={{{spec}}}, "
        "auto_detect=false, null_padding=false)"
    )


def check_report_header(path: Path, provider: str = "payments") -> None:
    """Refuse a report whose header lacks a column this engine reads, naming it."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        header = fh.readline().strip().lstrip("\ufeff")
    present = {name.strip().strip('"') for name in header.split(",")}
    missing = [name for name in REPORT_COLUMNS if name not in present]
    if missing:
        raise ReportInvalid(
            f"the release report {path.name} lacks column(s) {', '.join(missing)} "
            f"(header: {header[:200]!r})",
            provider=provider,
        )
    if header.split(",")[: len(REPORT_COLUMNS)] != list(REPORT_COLUMNS):
        raise ReportInvalid(
            f"the release report {path.name} has its columns in another order than "
            f"Mercado Pago's ({', '.join(REPORT_COLUMNS)})",
            provider=provider,
        )


REPORT_SQL = """
CREATE TEMP TABLE report AS
SELECT
    CASE WHEN coalesce(EXTERNAL_REFERENCE, '') <> '' THEN EXTERNAL_REFERENCE
         WHEN coalesce(ORDER_ID, '') <> '' THEN 'marketplace:' || ORDER_ID
         ELSE 'source:' || coalesce(SOURCE_ID, '') END AS key,
    coalesce(DESCRIPTION, '') AS description,
    coalesce(SOURCE_ID, '') AS reference,
    coalesce(NET_CREDIT_AMOUNT, 0) - coalesce(NET_DEBIT_AMOUNT, 0) AS amount,
    coalesce(NET_DEBIT_AMOUNT, 0) AS debit,
    coalesce(GROSS_AMOUNT, 0) AS gross,
    -(coalesce(MP_FEE_AMOUNT, 0) + coalesce(FINANCING_FEE_AMOUNT, 0)
      + coalesce(SHIPPING_FEE_AMOUNT, 0) + coalesce(TAXES_AMOUNT, 0)) AS fees
FROM {report}
WHERE RECORD_TYPE = 'release'
"""
# The report's lines keep the file's order (DuckDB preserves insertion order), so a
# line's `rowid` + 1 is its number among the release lines: a line is numbered by where
# it stands in the provider's report (stable: a rerun of the same report numbers every
# line the same), and the receivables that got no line come after, by key. No global sort.
SQL = """
CREATE TEMP TABLE r AS
SELECT * FROM {receivables};  -- order_id empty where it is `order:<key>`, and so stored

CREATE TEMP TABLE advanced AS
SELECT DISTINCT key FROM report WHERE description = 'fee_release_in_advance';

-- Every line against its receivable in one join (a payment line's receivable is expected
-- that night by definition), then the receivables due that night that got no payment.
CREATE TEMP TABLE classified AS
SELECT
    CASE
        WHEN l.description = 'payment' THEN CASE
            WHEN r.key IS NULL THEN 'unexpected_payout'
            WHEN r.anticipated OR l.key IN (SELECT key FROM advanced) THEN 'anticipated'
            WHEN abs(l.gross - r.gross) > {tol} THEN 'amount_divergence'
            WHEN abs(l.fees - r.fees) > {tol} THEN 'fee_divergence'
            ELSE 'matched'
        END
        WHEN l.description = 'chargeback' OR l.description LIKE 'reserve%' THEN 'chargeback'
        WHEN l.description = 'fee_release_in_advance' THEN 'anticipated'
        WHEN r.key IS NULL THEN 'unexpected_payout'
        WHEN l.description = 'refund' AND abs(f.refunds - r.refunded) > {tol}
            THEN 'amount_divergence'
        ELSE 'matched'
    END AS class,
    l.seq, l.key, r.order_id, l.description, l.reference,
    l.amount, l.gross AS line_gross, l.fees AS line_fees,
    r.gross AS expected_gross, r.fees AS expected_fees, r.net - r.refunded AS expected_net
FROM (SELECT rowid + 1 AS seq, * FROM report) l
LEFT JOIN r ON l.key = r.key
LEFT JOIN (
    SELECT key, sum(debit) AS refunds FROM report WHERE description = 'refund' GROUP BY key
) f ON l.description = 'refund' AND f.key = l.key
UNION ALL
SELECT
    CASE WHEN r.anticipated THEN 'anticipated' ELSE 'missing_payout' END,
    (SELECT count(*) FROM report) + row_number() OVER (ORDER BY r.key),
    r.key, r.order_id, 'payment', '', NULL, NULL, NULL,
    r.gross, r.fees, r.net - r.refunded
FROM r
WHERE r.expected_release = DATE '{day}'
  AND NOT EXISTS (SELECT 1 FROM report q WHERE q.description = 'payment' AND q.key = r.key);
"""

# One chunk of lines, in the order they were classified: nearly line order (DuckDB keeps
# the report's order but for a swapped block or two), enough for the table's BRIN index,
# which keeps each block range's lowest and highest seq; a sort per chunk cost more. And
# compact: what a reader can tell from the line itself is left empty, a fifth less for
# the database to parse. A matched line's expected figures are left out where they equal
# its own, and an order id that is `order:<key>` (empty as exported); db/reconciliation.py
# reads them back.
CHUNK_LINES = """
COPY (
    SELECT
        'marketplace' AS kind, DATE '{day}' AS day, seq,
        class, key, order_id, description, reference, amount, line_gross, line_fees,
        CASE WHEN class <> 'matched' OR expected_gross <> line_gross
             THEN expected_gross END AS expected_gross,
        CASE WHEN class <> 'matched' OR expected_fees <> line_fees
             THEN expected_fees END AS expected_fees,
        CASE WHEN class <> 'matched' OR expected_net <> amount
             THEN expected_net END AS expected_net
    FROM classified WHERE seq BETWEEN {first} AND {last}
) TO '{out}' (FORMAT csv, HEADER)
"""
# What the night took back per order (money lost to disputes: `chargeback` debits; a
# `reserve-…` line only holds money), for the receivables (db/receivables.py).
CHARGEBACKS_FILE = "chargebacks.csv"
CHARGEBACKS = (
    "COPY (SELECT key, sum(debit) AS amount FROM report WHERE description = 'chargeback' "
    "GROUP BY key ORDER BY key) TO '{out}' (HEADER, DELIMITER ',')"
)


def read_chargebacks(path: Path) -> dict[str, Decimal]:
    """The file CHARGEBACKS wrote (a handful of lines): key -> amount."""
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        next(fh, None)
        pairs = (line.rstrip("\n").rsplit(",", 1) for line in fh if line.strip())
        return {key.strip('"'): Decimal(amount) for key, amount in pairs}


CHUNK = (
    "COPY (SELECT * FROM results WHERE seq BETWEEN {first} AND {last} ORDER BY seq) "
    "TO '{out}' (HEADER, DELIMITER ',')"
)


# What `marketplace_steps` yields, in order: READ once the report is read (the receivables
# file may still be on its way), then the outcome without its chunks (the counts), then
# each chunk as soon as its file is in place.
READ = "read"
MatchStep = str | MatchOutcome | Chunk


def marketplace_steps(
    report: Path,
    receivables: Path,
    day: date,
    out_dir: Path,
    *,
    chunk_rows: int = 250_000,
    tolerance: Decimal = Decimal("0.00"),
    threads: int = 2,
    memory_limit: str = "500MB",
) -> Iterator[MatchStep]:
    """Classify every release line of `report` and every receivable expected on `day`
    without a payout; write the results to `out_dir` as CSV chunks of `chunk_rows` lines
    (RESULT_COLUMNS), numbered in a stable order so a rerun writes the same files. A
    generator, so that the caller can export the receivables while the report is read and
    store each chunk while the next is written."""
    check_report_header(report)
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
    try:
        _run(con, REPORT_SQL.format(report=_csv(report, REPORT_COLUMNS)), report)
        yield READ
        script = SQL.format(
            receivables=_csv(receivables, RECEIVABLE_COLUMNS),
            day=day.isoformat(),
            tol=f"{Decimal(tolerance):.2f}",
        )
        _run(con, script, report)
        # before the chunks: a resumed run that finds its chunks finds this too
        con.execute(CHARGEBACKS.format(out=_quoted(out_dir / CHARGEBACKS_FILE)))
        rows = con.execute("SELECT class, count(*) FROM classified GROUP BY 1").fetchall()
        counts = {str(cls): int(n) for cls, n in rows}
        classified = {c.value: int(counts.get(c.value, 0)) for c in LineClass}
        total = sum(classified.values())
        yield MatchOutcome(lines=total, classified=classified, chunks=[])
        partial = out_dir / "tmp"
        partial.mkdir(parents=True, exist_ok=True)
        for index, first in enumerate(range(1, total + 1, chunk_rows)):
            last = min(first + chunk_rows - 1, total)
            name = f"results-{index:04d}.csv"
            sql = CHUNK_LINES.format(
                day=day.isoformat(), first=first, last=last, out=_quoted(partial / name)
            )
            con.execute(sql)
            (partial / name).replace(out_dir / name)  # whole or absent (resume counts them)
            yield Chunk(out_dir / name, first, last)
    finally:
        con.close()


def _run(con: duckdb.DuckDBPyConnection, script: str, report: Path) -> None:
    try:
        con.execute(script)
    except duckdb.Error as exc:  # a value of the wrong type, a broken quote, ...
        raise ReportInvalid(
            f"the release report {report.name} does not parse: {exc}".splitlines()[0],
            provider="payments",
        ) from exc


def as_steps(match: Callable[[], MatchOutcome]) -> Iterator[MatchStep]:
    """A matcher that does everything in one call, as steps (READ, counts, chunks)."""
    yield READ
    outcome = match()
    yield MatchOutcome(outcome.lines, outcome.classified, [])
    yield from outcome.chunks


def match_marketplace(
    report: Path, receivables: Path, day: date, out_dir: Path, **options: Any
) -> MatchOutcome:
    """`marketplace_steps` run to the end: the outcome with every chunk."""
    steps = list(marketplace_steps(report, receivables, day, out_dir, **options))
    counted = steps[1]
    assert isinstance(counted, MatchOutcome)
    chunks = [step for step in steps if isinstance(step, Chunk)]
    return MatchOutcome(counted.lines, counted.classified, chunks)


def write_chunks(
    con: duckdb.DuckDBPyConnection, out_dir: Path, chunk_rows: int
) -> tuple[dict[str, int], list[Chunk]]:
    """The temp table `results` (RESULT_COLUMNS, seq 1..n) as CSV chunks of `chunk_rows`
    lines; the count per class."""
    rows = con.execute("SELECT class, count(*) FROM results GROUP BY 1").fetchall()
    counts = {str(cls): int(n) for cls, n in rows}
    total = sum(counts.values())
    chunks = []
    for index, first in enumerate(range(1, total + 1, chunk_rows)):
        last = min(first + chunk_rows - 1, total)
        path = out_dir / f"results-{index:04d}.csv"
        con.execute(CHUNK.format(first=first, last=last, out=_quoted(path)))
        chunks.append(Chunk(path, first, last))
    return counts, chunks
