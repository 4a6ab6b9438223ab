"""`retaguarda bench reconcile --lines N`: N release-report lines against N receivables,
matched, classified and stored, the way the nightly run does it (method in
docs/BENCHMARKS.md, "Reconcile").

Untimed preparation: a fresh database (PostgreSQL given by --db-url, else a throwaway
SQLite file) with N receivables inserted by SQL, and a release report of N lines written
by DuckDB with a seeded share of each divergence. Timed, in a child process of its own
(so its peak RSS is the reconciliation's alone): the `reconcile_marketplace` activity
end to end (export, match, chunked bulk store, finish), with the report "downloaded"
from the local file instead of over HTTP. The classes found are checked against the
ones seeded."""

from __future__ import annotations

import asyncio
import json
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from activities.finance import FinanceActivities, FinanceConfig
from db.migrate import upgrade
from db.receivables import ReceivableRepository
from db.reconciliation import ReconciliationRepository
from db.session import create_engine, create_sessionmaker
from domain.receivables import default_terms
from domain.reconciliation import ReconcileRequest, ReconKind
from integrations.payments.client import release_report_name
from sandbox.settlement import COLUMNS

DAY = date(2026, 12, 1)

RECEIVABLES_SQL = """
INSERT INTO receivables (order_id, channel, key, gross, commission, fixed_fee, freight, net,
    refunded, paid_at, expected_release, status, anticipation_id, created_at, updated_at)
SELECT 'order:store:B' || n, 'store', 'store:B' || n, 100.00, 4.99, 0, 0, 95.01, 0,
    {now}, '{day}', 'open', NULL, {now}, {now}
FROM {series}
"""


def _series(dialect: str, lines: int) -> str:
    if dialect == "postgresql":
        return f"generate_series(1, {lines}) AS n"
    return (
        f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {lines}) "
        "SELECT n FROM s)"
    )


async def prepare_database(url: str, lines: int) -> None:
    await upgrade(url)
    engine = create_engine(url)
    dialect = engine.dialect.name
    now = "now()" if dialect == "postgresql" else "'2026-12-01 12:00:00.000000'"
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(RECEIVABLES_SQL.format(now=now, day=DAY, series=_series(dialect, lines)))
            )
        if dialect == "postgresql":  # vacuumed, analysed and checkpointed, as after a quiet
            # day: without it the planner guesses, autovacuum vacuums the fresh rows and
            # the previous run's WAL is flushed during this one (runs varied 6 to 14 s)
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM (ANALYZE) receivables"))
                try:
                    await conn.execute(text("CHECKPOINT"))
                except DBAPIError:
                    pass  # not a superuser: the run takes the server as it is
    finally:
        await engine.dispose()


def write_report(path: Path, lines: int) -> None:
    """About N release lines for receivables 1..N; by n % 100: 0 a higher fee, 1 a
    higher gross, 2 no line, 3 a line for an unknown sale instead, 4 a chargeback beside
    the payment, 5 an advance fee beside the payment, the rest plain payments."""
    select = f"""
    SELECT '{DAY}T12:00:00.000-03:00' AS DATE, CAST(n AS VARCHAR) AS SOURCE_ID,
        CASE WHEN n % 100 = 3 THEN 'store:X' || n ELSE 'store:B' || n END AS EXTERNAL_REFERENCE,
        'release' AS RECORD_TYPE,
        CASE n % 100 WHEN 4 THEN 'chargeback' WHEN 5 THEN 'fee_release_in_advance'
             ELSE 'payment' END AS DESCRIPTION,
        CASE WHEN n % 100 IN (4, 5) THEN 0 WHEN n % 100 = 1 THEN 99.01 ELSE 95.01 END
            AS NET_CREDIT_AMOUNT,
        CASE WHEN n % 100 IN (4, 5) THEN 2.84 ELSE 0 END AS NET_DEBIT_AMOUNT,
        CASE WHEN n % 100 = 1 THEN 104.00 WHEN n % 100 IN (4, 5) THEN 0 ELSE 100.00 END
            AS GROSS_AMOUNT,
        CASE WHEN n % 100 = 0 THEN -5.36 WHEN n % 100 IN (4, 5) THEN 0 ELSE -4.99 END
            AS MP_FEE_AMOUNT,
        0 AS FINANCING_FEE_AMOUNT, 0 AS SHIPPING_FEE_AMOUNT, 0 AS TAXES_AMOUNT,
        0 AS COUPON_AMOUNT, '1' AS INSTALLMENTS, 'pix' AS PAYMENT_METHOD, '' AS ORDER_ID,
        '' AS SHIPPING_ID
    FROM range(1, {lines} + 1) t(n)
    WHERE n % 100 <> 2
    UNION ALL
    SELECT '{DAY}T12:00:00.000-03:00', CAST(n AS VARCHAR) || 'b', 'store:B' || n, 'release',
        'payment', 95.01, 0, 100.00, -4.99, 0, 0, 0, 0, '1', 'pix', '', ''
    FROM range(1, {lines} + 1) t(n) WHERE n % 100 IN (4, 5)
    """
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY ({select}) TO '{path}' (HEADER, DELIMITER ',')"  # noqa: S608
        )
        header = con.execute(f"SELECT * FROM read_csv('{path}') LIMIT 0").description
        assert tuple(c[0] for c in header) == COLUMNS, header
    finally:
        con.close()


class LocalReport:
    """Stands for the payment provider: the report is a file already on disk."""

    def __init__(self, source: Path) -> None:
        self._source = source

    async def release_report(self, day: date, into: Path) -> Path:
        target = into / release_report_name(day)
        await asyncio.to_thread(_copy, self._source, target)
        return target


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


async def timed_run(url: str, report: Path, work: Path) -> dict[str, Any]:
    from temporalio.testing import ActivityEnvironment

    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    activities = FinanceActivities(
        ReceivableRepository(sessions),
        ReconciliationRepository(sessions),
        LocalReport(report),  # type: ignore[arg-type]
        FinanceConfig(terms=default_terms(), timezone="UTC", work_dir=work),
    )
    request = ReconcileRequest(kind=ReconKind.MARKETPLACE, day=DAY)
    try:
        started = time.perf_counter()
        result = await ActivityEnvironment().run(activities.reconcile_marketplace, request)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "stored_lines": result.lines,
        "classified": result.classified,
    }


async def _fresh_postgres(admin_url: str) -> tuple[str, str]:
    name = f"retaguarda_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def _drop_postgres(admin_url: str, name: str) -> None:
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


# Where the bench looks for PostgreSQL when told nothing: the server a local install runs,
# by its maintenance database (the throwaway database is made beside it).
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def choose_database(db_url: str, configured: str) -> tuple[str, str]:
    """The database to measure on, and why: `--db-url` when given (`sqlite` for a
    throwaway SQLite file); else the stack's own database when it is PostgreSQL (what a
    night of a million lines runs on: COPY); else a PostgreSQL answering on this machine;
    else SQLite, said so (fine for demo-sized nights, not the 1 M target)."""
    if db_url == "sqlite":
        return "", "asked for SQLite"
    if db_url:
        if not _is_postgres(db_url):
            raise ValueError(f"--db-url must be a postgresql:// URL or 'sqlite', not {db_url!r}")
        return db_url, "--db-url"
    if configured and _is_postgres(configured):
        return configured, "the stack's database (RETAGUARDA_DB__URL)"
    if asyncio.run(_answers(LOCAL_POSTGRES)):
        return LOCAL_POSTGRES, f"PostgreSQL answering at {make_url(LOCAL_POSTGRES).host}"
    return "", "no PostgreSQL configured or answering on 127.0.0.1:5432"


def _is_postgres(url: str) -> bool:
    try:
        return make_url(url).get_backend_name().startswith("postgres")
    except ArgumentError:  # not a URL at all
        return False


async def _answers(url: str) -> bool:
    from db.session import normalise_url

    engine = create_async_engine(normalise_url(url), connect_args={"timeout": 3})
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except (OSError, DBAPIError, TimeoutError):
        return False
    finally:
        await engine.dispose()


def run_reconcile_bench(lines: int, db_url: str = "") -> dict[str, Any]:
    """Prepare, run the timed part in a child process, check the classes. `db_url`: a
    PostgreSQL server to make a throwaway database on, or "" for a throwaway SQLite file."""
    from db.session import normalise_url

    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp:
        folder = Path(tmp)
        dropped: tuple[str, str] | None = None
        if db_url:
            admin = normalise_url(db_url)
            name, url = asyncio.run(_fresh_postgres(admin))
            dropped = (admin, name)
        else:
            url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        try:
            asyncio.run(prepare_database(url, lines))
            report = folder / "report.csv"
            write_report(report, lines)
            child = subprocess.run(
                [sys.executable, "-m", "retaguarda.bench.reconcile", url, str(report),
                 str(folder / "work")],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if child.returncode != 0:
                raise RuntimeError(f"the timed run failed:\n{child.stderr[-3000:]}")
            measured = json.loads(child.stdout.strip().splitlines()[-1])
        finally:
            if dropped:
                asyncio.run(_drop_postgres(*dropped))
    expected = _expected(lines)
    found = {k: v for k, v in measured["classified"].items() if v}
    return {
        "lines": lines,
        "seconds": measured["seconds"],
        "peak_rss_mb": measured["peak_rss_mb"],
        "stored_lines": measured["stored_lines"],
        "classified": measured["classified"],
        "classified_as_seeded": found == expected,
        "database": make_url(url).get_backend_name(),
    }


KINDS_BY_RESIDUE = {
    0: ("fee_divergence",), 1: ("amount_divergence",), 2: ("missing_payout",),
    3: ("unexpected_payout", "missing_payout"), 4: ("chargeback", "matched"),
    5: ("anticipated", "anticipated"),
}  # fmt: skip


def _expected(lines: int) -> dict[str, int]:
    """The classes `write_report` seeded for `lines` receivables."""
    counts: dict[str, int] = {}
    for residue in range(100):
        many = sum(1 for _ in range(residue or 100, lines + 1, 100))
        for kind in KINDS_BY_RESIDUE.get(residue, ("matched",)):
            counts[kind] = counts.get(kind, 0) + many
    return {k: v for k, v in counts.items() if v}


if __name__ == "__main__":
    out = asyncio.run(timed_run(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
    sys.stdout.write(json.dumps(out) + "\n")
