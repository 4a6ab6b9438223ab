"""Bank reconciliation in one set-based pass (DuckDB): the statement's lines against
what we expect to reach the account (payouts of the marketplace nights, anticipations).

1. By reference: a line names the payouts it carries (the provider writes the night in
   the transfer's memo). Lines naming the same set of references form a group; a group
   whose lines add up to what its references expect (within the amount tolerance) is
   matched whole: one payout split over many lines, or many payouts in one line.
2. By amount and date: what is left pairs one line with one expected item of the same
   amount (within the tolerance) posted within the date tolerance, nearest date first.
3. Lines left are `unmatched_line`; expected items left are `unmatched_expected`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from domain.reconciliation import BankClass
from integrations.finance.marketplace_match import MatchOutcome, _quoted, write_chunks

STATEMENT_COLUMNS = {
    "fitid": "VARCHAR", "posted_on": "DATE", "amount": "DECIMAL(14,2)", "memo": "VARCHAR",
}  # fmt: skip
EXPECTED_COLUMNS = {
    "ref": "VARCHAR", "what": "VARCHAR", "expected_on": "DATE", "amount": "DECIMAL(14,2)",
}  # fmt: skip


def _csv(path: Path, columns: dict[str, str]) -> str:
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    return f"read_csv('{_quoted(path)}', header=true, columns={{{spec}}}, auto_detect=false)"


SQL = """
CREATE TEMP TABLE l AS SELECT * FROM {statement};
CREATE TEMP TABLE e AS SELECT * FROM {expected};
CREATE TEMP TABLE mention AS
    SELECT l.fitid, e.ref FROM l JOIN e ON contains(coalesce(l.memo, ''), e.ref);
CREATE TEMP TABLE line_group AS
    SELECT fitid, string_agg(ref, '+' ORDER BY ref) AS grp FROM mention GROUP BY fitid;
CREATE TEMP TABLE ref_group AS
    SELECT DISTINCT m.ref, g.grp FROM mention m JOIN line_group g USING (fitid);
CREATE TEMP TABLE matched_group AS
    SELECT g.grp, x.expected FROM
        (SELECT grp, sum(l.amount) AS got FROM line_group JOIN l USING (fitid) GROUP BY grp) g
    JOIN (SELECT grp, sum(e.amount) AS expected FROM ref_group JOIN e USING (ref) GROUP BY grp) x
        USING (grp)
    WHERE abs(g.got - x.expected) <= {tol};
CREATE TEMP TABLE left_lines AS
    SELECT * FROM l WHERE fitid NOT IN (
        SELECT fitid FROM line_group WHERE grp IN (SELECT grp FROM matched_group));
CREATE TEMP TABLE left_expected AS
    SELECT * FROM e WHERE ref NOT IN (
        SELECT ref FROM ref_group WHERE grp IN (SELECT grp FROM matched_group));
CREATE TEMP TABLE pairs AS
    SELECT fitid, ref, expected FROM (
        SELECT l.fitid, e.ref, e.amount AS expected,
            row_number() OVER (PARTITION BY l.fitid
                ORDER BY abs(date_diff('day', e.expected_on, l.posted_on)), e.ref) AS by_line,
            row_number() OVER (PARTITION BY e.ref
                ORDER BY abs(date_diff('day', e.expected_on, l.posted_on)), l.fitid) AS by_ref
        FROM left_lines l JOIN left_expected e
            ON abs(l.amount - e.amount) <= {tol}
           AND abs(date_diff('day', e.expected_on, l.posted_on)) <= {days}
    ) WHERE by_line = 1 AND by_ref = 1;
CREATE TEMP TABLE classified AS
    SELECT CASE WHEN m.grp IS NOT NULL OR p.ref IS NOT NULL THEN 'matched'
                ELSE 'unmatched_line' END AS class,
        l.fitid AS key, left(coalesce(l.memo, ''), 200) AS description,
        coalesce(m.grp, p.ref, '') AS reference, l.amount,
        coalesce(m.expected, p.expected) AS expected_net
    FROM l
    LEFT JOIN line_group g USING (fitid)
    LEFT JOIN matched_group m ON m.grp = g.grp
    LEFT JOIN pairs p ON p.fitid = l.fitid
    UNION ALL
    SELECT 'unmatched_expected', e.ref, e.what, '', NULL, e.amount
    FROM left_expected e WHERE e.ref NOT IN (SELECT ref FROM pairs);
CREATE TEMP TABLE results AS
    SELECT 'bank' AS kind, DATE '{day}' AS day,
        row_number() OVER (ORDER BY key, description, reference, class) AS seq,
        class, key, NULL AS order_id, description, reference, amount,
        NULL AS line_gross, NULL AS line_fees, NULL AS expected_gross, NULL AS expected_fees,
        expected_net
    FROM classified;
"""


def match_bank(
    statement: Path,
    expected: Path,
    day: date,
    out_dir: Path,
    *,
    tolerance: Decimal = Decimal("0.00"),
    date_tolerance_days: int = 2,
    chunk_rows: int = 250_000,
) -> MatchOutcome:
    con = duckdb.connect(config={"threads": 2, "memory_limit": "500MB"})
    try:
        con.execute(
            SQL.format(
                statement=_csv(statement, STATEMENT_COLUMNS),
                expected=_csv(expected, EXPECTED_COLUMNS),
                tol=f"{Decimal(tolerance):.2f}",
                days=int(date_tolerance_days),
                day=day.isoformat(),
            )
        )
        counts, chunks = write_chunks(con, out_dir, chunk_rows)
    finally:
        con.close()
    classified = {c.value: int(counts.get(c.value, 0)) for c in BankClass}
    return MatchOutcome(lines=sum(classified.values()), classified=classified, chunks=chunks)
