"""Marketplace reconciliation in one set-based pass: the provider's release report (CSV)
against our receivables (CSV), joined and classified by DuckDB, written as one CSV of
results ready for a bulk load (COPY on PostgreSQL). No Python loop touches a row.

Why DuckDB and why files: docs/finance.md ("The matching engine")."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

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
# Our receivables as the repository exports them.
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


SQL = """
CREATE TEMP TABLE report AS
SELECT
    CASE WHEN coalesce(EXTERNAL_REFERENCE, '') <> '' THEN EXTERNAL_REFERENCE
         WHEN coalesce(ORDER_ID, '') <> '' THEN 'marketplace:' || ORDER_ID
         ELSE 'source:' || coalesce(SOURCE_ID, '') END AS key,
    coalesce(DESCRIPTION, '') AS description,
    coalesce(SOURCE_ID, '') AS reference,
    DATE AS moment,
    coalesce(NET_CREDIT_AMOUNT, 0) - coalesce(NET_DEBIT_AMOUNT, 0) AS amount,
    coalesce(NET_DEBIT_AMOUNT, 0) AS debit,
    coalesce(GROSS_AMOUNT, 0) AS gross,
    -(coalesce(MP_FEE_AMOUNT, 0) + coalesce(FINANCING_FEE_AMOUNT, 0)
      + coalesce(SHIPPING_FEE_AMOUNT, 0) + coalesce(TAXES_AMOUNT, 0)) AS fees
FROM {report}
WHERE RECORD_TYPE = 'release';

CREATE TEMP TABLE r AS SELECT * FROM {receivables};

CREATE TEMP TABLE advanced AS
SELECT DISTINCT key FROM report WHERE description = 'fee_release_in_advance';

CREATE TEMP TABLE expected AS
SELECT * FROM r
WHERE expected_release = DATE '{day}'
   OR key IN (SELECT key FROM report WHERE description = 'payment');

CREATE TEMP TABLE classified AS
SELECT
    CASE
        WHEN p.key IS NULL THEN CASE WHEN e.anticipated THEN 'anticipated'
                                     ELSE 'missing_payout' END
        WHEN e.key IS NULL THEN 'unexpected_payout'
        WHEN e.anticipated OR p.key IN (SELECT key FROM advanced) THEN 'anticipated'
        WHEN abs(p.gross - e.gross) > {tol} THEN 'amount_divergence'
        WHEN abs(p.fees - e.fees) > {tol} THEN 'fee_divergence'
        ELSE 'matched'
    END AS class,
    coalesce(p.key, e.key) AS key,
    e.order_id,
    coalesce(p.description, 'payment') AS description,
    coalesce(p.reference, '') AS reference,
    coalesce(p.moment, '') AS moment,
    p.amount, p.gross AS line_gross, p.fees AS line_fees,
    e.gross AS expected_gross, e.fees AS expected_fees, e.net - e.refunded AS expected_net
FROM (SELECT * FROM report WHERE description = 'payment') p
FULL OUTER JOIN expected e ON p.key = e.key
UNION ALL
SELECT
    CASE
        WHEN o.description = 'chargeback' OR o.description LIKE 'reserve%' THEN 'chargeback'
        WHEN o.description = 'fee_release_in_advance' THEN 'anticipated'
        WHEN r.key IS NULL THEN 'unexpected_payout'
        WHEN o.description = 'refund' AND abs(o.refunds - r.refunded) > {tol}
            THEN 'amount_divergence'
        ELSE 'matched'
    END,
    o.key, r.order_id, o.description, o.reference, o.moment,
    o.amount, o.gross, o.fees, r.gross, r.fees, r.net - r.refunded
FROM (
    SELECT *, sum(debit) OVER (PARTITION BY key, description) AS refunds
    FROM report WHERE description <> 'payment'
) o
LEFT JOIN r ON o.key = r.key;
"""

# Numbered in a stable order (a rerun numbers every line the same) and written in one
# pass, one CSV per chunk of lines: no results table, no scan per chunk.
NUMBERED = """
COPY (
    SELECT
        'marketplace' AS kind, DATE '{day}' AS day, seq,
        class, key, order_id, description, reference, amount, line_gross, line_fees,
        expected_gross, expected_fees, expected_net, (seq - 1) // {rows} AS part
    FROM (
        SELECT row_number() OVER (ORDER BY key, description, reference, amount, moment)
            AS seq, *
        FROM classified
    )
) TO '{out}' (FORMAT csv, HEADER, PARTITION_BY (part), OVERWRITE_OR_IGNORE)
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


def match_marketplace(
    report: Path,
    receivables: Path,
    day: date,
    out_dir: Path,
    *,
    chunk_rows: int = 250_000,
    tolerance: Decimal = Decimal("0.00"),
    threads: int = 2,
    memory_limit: str = "500MB",
) -> MatchOutcome:
    """Classify every release line of `report` and every receivable expected on `day`
    without a payout; write the results to `out_dir` as CSV chunks of `chunk_rows` lines
    (RESULT_COLUMNS), numbered in a stable order so a rerun writes the same files."""
    check_report_header(report)
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
    try:
        script = SQL.format(
            report=_csv(report, REPORT_COLUMNS),
            receivables=_csv(receivables, RECEIVABLE_COLUMNS),
            day=day.isoformat(),
            tol=f"{Decimal(tolerance):.2f}",
        )
        try:
            con.execute(script)
        except duckdb.Error as exc:  # a value of the wrong type, a broken quote, ...
            raise ReportInvalid(
                f"the release report {report.name} does not parse: {exc}".splitlines()[0],
                provider="payments",
            ) from exc
        # before the chunks: a resumed run that finds its chunks finds this too
        con.execute(CHARGEBACKS.format(out=_quoted(out_dir / CHARGEBACKS_FILE)))
        rows = con.execute("SELECT class, count(*) FROM classified GROUP BY 1").fetchall()
        counts = {str(cls): int(n) for cls, n in rows}
        parts = out_dir / "tmp" / "numbered"
        shutil.rmtree(parts, ignore_errors=True)
        parts.parent.mkdir(parents=True, exist_ok=True)
        con.execute(NUMBERED.format(day=day.isoformat(), rows=int(chunk_rows), out=_quoted(parts)))
        chunks = gather_parts(parts, out_dir, sum(counts.values()), chunk_rows)
    finally:
        con.close()
    classified = {c.value: int(counts.get(c.value, 0)) for c in LineClass}
    return MatchOutcome(lines=sum(classified.values()), classified=classified, chunks=chunks)


def gather_parts(parts: Path, out_dir: Path, total: int, chunk_rows: int) -> list[Chunk]:
    """DuckDB's `part=K/` folders as the chunk files `results-KKKK.csv`, each moved into
    place whole (a resumed run counts them: a missing one means match again)."""
    chunks = []
    for index, first in enumerate(range(1, total + 1, chunk_rows)):
        files = sorted((parts / f"part={index}").glob("*.csv"))
        path = out_dir / f"results-{index:04d}.csv"
        if len(files) == 1:
            files[0].replace(path)
        else:  # written by several threads: one file, one header
            partial = path.with_suffix(".partial")
            with partial.open("wb") as out:
                for n, part in enumerate(files):
                    with part.open("rb") as fh:
                        header = fh.readline()
                        if n == 0:
                            out.write(header)
                        shutil.copyfileobj(fh, out)
            partial.replace(path)
        chunks.append(Chunk(path, first, min(first + chunk_rows - 1, total)))
    shutil.rmtree(parts, ignore_errors=True)
    return chunks


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
