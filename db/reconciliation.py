"""Reconciliation results: one run row per kind and night, its classified lines written
in bulk, chunk by chunk (COPY on PostgreSQL, the driver's executemany on SQLite).

Each chunk is a range of line numbers replaced whole in its own transaction, so storing a
chunk twice changes nothing and a run killed between chunks resumes where it stopped;
the run row turns `done` only after the last chunk. The table has no unique key (a
B-tree doubled the load: db/models.py); one line per (kind, day, seq) holds because every
write replaces a range whole under a lock on that range, so two attempts storing the
same chunk (a retry while the first still runs) take turns instead of adding up, while
different chunks of a night load side by side (PostgreSQL runs each COPY on a core)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import and_, case, delete, func, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AnticipationRow, PayableRow, ReconciliationLine, ReconciliationRun
from db.session import dialect_insert, read_session
from domain.money import cents

LINE_COLUMNS = (
    "kind", "day", "seq", "class", "key", "order_id", "description", "reference", "amount",
    "line_gross", "line_fees", "expected_gross", "expected_fees", "expected_net",
)  # fmt: skip
MONEY = frozenset(
    {"amount", "line_gross", "line_fees", "expected_gross", "expected_fees", "expected_net"}
)


class RunView(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    day: date
    status: str
    source: str
    lines: int
    classified: dict[str, int]
    alerts: int
    started_at: datetime
    finished_at: datetime | None


class LineView(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    cls: str
    key: str
    order_id: str | None
    description: str
    reference: str
    amount: Decimal | None
    line_gross: Decimal | None
    line_fees: Decimal | None
    expected_gross: Decimal | None
    expected_fees: Decimal | None
    expected_net: Decimal | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def detail(self) -> str:
        """What a person reads first: how the line differs from what was expected."""
        if self.cls == "fee_divergence":
            return f"fees {self.line_fees}, expected {self.expected_fees}"
        if self.cls == "amount_divergence":
            return f"gross {self.line_gross}, expected {self.expected_gross}"
        if self.cls == "missing_payout":
            return f"expected net {self.expected_net} not released"
        if self.cls == "unexpected_payout":
            return f"no receivable for {self.key}"
        return ""


class ReconciliationRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @property
    def concurrent_writers(self) -> int:
        """How many chunks are worth loading at once: PostgreSQL runs each COPY on a core
        of its own; SQLite takes one writer at a time (a second only waits on the lock,
        and a cancelled one can leave it held)."""
        return 1 if self._sessionmaker().get_bind().dialect.name == "sqlite" else 2

    async def begin(self, kind: str, day: date, source: str) -> None:
        """Mark the night's run as running (again): readers know its lines may change."""
        now = datetime.now(UTC)
        async with self._sessionmaker() as s:
            stmt = dialect_insert(s, ReconciliationRun).values(
                kind=kind, day=day, status="running", source=source, lines=0, classified={},
                alerts=0, started_at=now, finished_at=None, totals=None,
            )  # fmt: skip
            await s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["kind", "day"],
                    set_={
                        "status": "running",
                        "source": source,
                        "started_at": now,
                        "totals": None,
                    },  # fmt: skip
                )
            )
            await s.commit()

    async def store_chunk(self, kind: str, day: date, path: Path, first: int, last: int) -> int:
        """Replace lines `first`..`last` (seq) of the night with the rows of `path` (a CSV
        of LINE_COLUMNS holding exactly that range). Returns the rows stored."""
        night = (ReconciliationRun.kind == kind, ReconciliationRun.day == day)
        async with self._sessionmaker() as s:
            await _lock_range(s, kind, day, first)
            through = await s.scalar(select(ReconciliationRun.stored_through).where(*night))
            if through is None or through >= first:  # something may be there: replace it
                await s.execute(
                    delete(ReconciliationLine).where(
                        ReconciliationLine.kind == kind,
                        ReconciliationLine.day == day,
                        ReconciliationLine.seq.between(first, last),
                    )
                )
            if s.get_bind().dialect.name == "postgresql":
                stored = await _copy_in(s, kind, day, path)
            else:
                stored = await _insert_in(s, path)
            higher = case((ReconciliationRun.stored_through < last, last),
                          else_=ReconciliationRun.stored_through)  # fmt: skip
            await s.execute(update(ReconciliationRun).where(*night).values(stored_through=higher))
            await s.commit()
        return stored

    async def finish(
        self, kind: str, day: date, lines: int, classified: dict[str, int], alerts: int
    ) -> None:
        """Drop lines past the last (a rerun with fewer lines) and mark the run done."""
        async with self._sessionmaker() as s:
            run = await s.get(ReconciliationRun, (kind, day), with_for_update=True)
            assert run is not None, "finish() before begin()"
            if run.stored_through > lines:
                await s.execute(
                    delete(ReconciliationLine).where(
                        ReconciliationLine.kind == kind,
                        ReconciliationLine.day == day,
                        ReconciliationLine.seq > lines,
                    )
                )
                run.stored_through = lines
            run.status, run.lines, run.classified, run.alerts = "done", lines, classified, alerts
            run.finished_at = datetime.now(UTC)
            await s.commit()

    async def run(self, kind: str, day: date) -> RunView | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.get(ReconciliationRun, (kind, day))
            return None if row is None else RunView.model_validate(row, from_attributes=True)

    async def runs(self, kind: str | None = None, limit: int = 60) -> list[RunView]:
        query = select(ReconciliationRun).order_by(ReconciliationRun.day.desc()).limit(limit)
        if kind:
            query = query.where(ReconciliationRun.kind == kind)
        async with read_session(self._sessionmaker) as s:
            return [RunView.model_validate(r, from_attributes=True) for r in await s.scalars(query)]

    async def lines(
        self, kind: str, day: date, *, cls: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[LineView]:
        query = (
            select(*_DECODED)
            .where(ReconciliationLine.kind == kind, ReconciliationLine.day == day)
            .order_by(ReconciliationLine.seq)
        )
        if cls:
            query = query.where(ReconciliationLine.cls == cls).limit(limit).offset(offset)
        else:  # a night's lines are numbered 1..n: a page is a range the index finds
            query = query.where(ReconciliationLine.seq.between(offset + 1, offset + limit))
        async with read_session(self._sessionmaker) as s:
            return [LineView.model_validate(r._mapping) for r in await s.execute(query)]

    async def alerts(
        self, kind: str, day: date, classes: frozenset[str], limit: int = 200
    ) -> list[LineView]:
        """The night's lines of `classes` (those that need a person), in line order."""
        query = (
            select(*_DECODED)
            .where(
                ReconciliationLine.kind == kind,
                ReconciliationLine.day == day,
                ReconciliationLine.cls.in_(sorted(classes)),
            )
            .order_by(ReconciliationLine.seq)
            .limit(limit)
        )
        async with read_session(self._sessionmaker) as s:
            return [LineView.model_validate(r._mapping) for r in await s.execute(query)]

    async def count(self, kind: str, day: date) -> dict[str, int]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(ReconciliationLine.cls, func.count())
                .where(ReconciliationLine.kind == kind, ReconciliationLine.day == day)
                .group_by(ReconciliationLine.cls)
            )
            return {cls: int(n) for cls, n in rows}

    async def export_expected(self, path: Path, day: date, tolerance_days: int) -> int:
        """What should reach the bank around `day`, as CSV (ref, what, expected_on, amount):
        the net the provider released each reconciled marketplace night (its transfer
        names the night), the net of each anticipation, and each supplier bill (a debit
        on the day it was paid, else its due date; the bank's memo usually names the
        bill). Returns the rows."""
        low, high = day - timedelta(days=tolerance_days), day + timedelta(days=tolerance_days)
        async with read_session(self._sessionmaker) as s:
            payouts = await s.execute(
                select(ReconciliationLine.day, func.sum(ReconciliationLine.amount))
                .where(
                    ReconciliationLine.kind == "marketplace",
                    ReconciliationLine.day.between(low, high),
                    ReconciliationLine.amount.is_not(None),
                )
                .group_by(ReconciliationLine.day)
            )
            advances = await s.execute(
                select(
                    AnticipationRow.reference, AnticipationRow.taken_on, AnticipationRow.net
                ).where(AnticipationRow.taken_on.between(low, high))
            )
            when = func.coalesce(PayableRow.paid_on, PayableRow.due_on)
            bills = await s.execute(
                select(PayableRow.reference, when, PayableRow.amount).where(when.between(low, high))
            )
            rows = (
                [
                    (night.isoformat(), "payout", night, Decimal(str(total)))
                    for night, total in payouts
                    if total is not None
                ]
                + [(ref, "anticipation", on, net) for ref, on, net in advances]
                + [(ref, "payable", _day(on), -Decimal(str(amount))) for ref, on, amount in bills]
            )
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(("ref", "what", "expected_on", "amount"))
            for ref, what, on, amount in rows:
                writer.writerow((ref, what, on.isoformat(), f"{Decimal(str(amount)):.2f}"))
        return len(rows)

    async def night_totals(self, kind: str, day: date) -> dict[str, dict[str, Any]]:
        """Per class of the night, summed in SQL: lines, the money they moved, and the
        money expected of the class, over the lines that each stand for one expected
        amount: a marketplace payment line (its receivable's net less refunds) and a
        missing payout, a bank amount that never came (compact lines read whole). None
        for a class with no such line: chargebacks, unexpected money and bank lines
        matched in groups expect nothing of their own. Money as text (cents)."""
        line = ReconciliationLine
        expected = _EXPECTED_NET  # as a person reads it (compact lines whole)
        one_to_one = or_(
            and_(line.kind == "marketplace", line.description == "payment"),
            and_(line.kind == "bank", line.cls == "unmatched_expected"),
        )
        query = (
            select(line.cls, func.count(), func.sum(line.amount),
                   func.sum(case((one_to_one, expected))))
            .where(line.kind == kind, line.day == day)
            .group_by(line.cls)
        )  # fmt: skip
        async with read_session(self._sessionmaker) as s:
            return {
                cls: {"lines": int(n), "amount": _cents(amount), "expected": _cents(due)}
                for cls, n, amount, due in await s.execute(query)
            }

    async def keep_totals(
        self, kind: str, day: date, started_at: datetime, totals: dict[str, dict[str, Any]]
    ) -> None:
        """Keep a done night's totals on its run row, unless the night has been run anew
        since they were summed (`started_at` moved on)."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(ReconciliationRun)
                .where(
                    ReconciliationRun.kind == kind, ReconciliationRun.day == day,
                    ReconciliationRun.status == "done",
                    ReconciliationRun.started_at == started_at,
                )
                .values(totals=totals)
            )  # fmt: skip
            await s.commit()

    async def fingerprint(self, kind: str, day: date) -> list[tuple[Any, ...]]:
        """Every line of the night as plain tuples, as read (tests compare two runs)."""
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(*_DECODED)
                .where(ReconciliationLine.kind == kind, ReconciliationLine.day == day)
                .order_by(ReconciliationLine.seq)
            )
            return [tuple(r) for r in rows]


def _decoded() -> tuple[Any, ...]:
    """The line's columns as a person reads them. Marketplace lines are stored compact
    (integrations/finance/marketplace_match.py, CHUNK_LINES): a matched line has a
    receivable whose figures are its own, so its expected gross, fees and net are stored
    only where they differ from the line's gross, fees and amount; and an order id that is
    `order:<key>` (domain/ids.py) is left out where the line has a receivable (matched, or
    an expected net stored). A line stored whole reads the same."""
    line = ReconciliationLine
    matched = and_(line.kind == "marketplace", line.cls == "matched")
    derived = and_(
        line.kind == "marketplace", line.order_id.is_(None),
        or_(line.cls == "matched", line.expected_net.is_not(None)),
    )  # fmt: skip

    def own(expected: Any, figure: Any) -> Any:
        return case((and_(matched, expected.is_(None)), figure), else_=expected)

    return (
        line.seq, line.cls.label("cls"), line.key,
        case((derived, literal("order:") + line.key), else_=line.order_id).label("order_id"),
        line.description, line.reference, line.amount, line.line_gross, line.line_fees,
        own(line.expected_gross, line.line_gross).label("expected_gross"),
        own(line.expected_fees, line.line_fees).label("expected_fees"),
        own(line.expected_net, line.amount).label("expected_net"),
    )  # fmt: skip


_DECODED = _decoded()
_EXPECTED_NET = next(c for c in _DECODED if c.name == "expected_net").element


async def _lock_range(s: AsyncSession, kind: str, day: date, first: int) -> None:
    """Writers of the range starting at `first` take turns (PostgreSQL; SQLite has one
    writer at a time anyway). The lock is the transaction's: it ends with it."""
    if s.get_bind().dialect.name == "postgresql":
        await s.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:range))"),
            {"range": f"reconciliation_lines:{kind}:{day.isoformat()}:{first}"},
        )


def _cents(value: Any) -> str | None:
    return None if value is None else f"{cents(Decimal(str(value)))}"


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# The chunk's columns as SQLite takes them from the CSV, in LINE_COLUMNS' order: an empty
# order id or figure is NULL (DuckDB writes NULL as an empty field), money as REAL (as
# db/types.py MoneyType stores it there), seq as an integer.
_SQLITE_VALUES = ", ".join(
    "CAST(NULLIF(?, '') AS REAL)" if name in MONEY
    else "CAST(? AS INTEGER)" if name == "seq"
    else "NULLIF(?, '')" if name == "order_id"
    else "?"
    for name in LINE_COLUMNS
)  # fmt: skip
_SQLITE_INSERT = (
    f"INSERT INTO reconciliation_lines ({', '.join(LINE_COLUMNS)}) VALUES ({_SQLITE_VALUES})"
)


async def _insert_in(s: AsyncSession, path: Path) -> int:
    """The SQLite counterpart of `_copy_in`: the chunk's CSV rows handed to the driver's
    executemany as the csv module reads them, in the session's transaction; the driver's
    thread reads the file and inserts, no row is turned into Python objects one by one."""
    connection = await s.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = tuple(next(reader, ()))
        if header != LINE_COLUMNS:
            raise ValueError(f"{path.name}: columns {header!r}, expected {LINE_COLUMNS!r}")
        before = await _count_changes(driver)
        await driver.executemany(_SQLITE_INSERT, reader)
        return await _count_changes(driver) - before


async def _count_changes(driver: Any) -> int:
    async with driver.execute("SELECT total_changes()") as cursor:
        row = await cursor.fetchone()
    return int(row[0])


async def _copy_in(s: AsyncSession, kind: str, day: date, path: Path) -> int:
    """COPY the chunk's CSV (LINE_COLUMNS, kind and day included) into the table, in the
    session's transaction: no row passes through Python. The file is opened here, so it
    is closed even when the load is cancelled (asyncpg leaves a path it opened open)."""
    connection = await s.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    with path.open("rb") as source:
        status: str = await driver.copy_to_table(
            "reconciliation_lines",
            source=source,
            columns=list(LINE_COLUMNS),
            format="csv",
            header=True,
        )
    return int(status.rsplit(" ", 1)[-1])
