"""Reconciliation results: one run row per kind and night, its classified lines written
in bulk, chunk by chunk (COPY on PostgreSQL, executemany on SQLite).

Each chunk is a range of line numbers replaced whole in its own transaction, so storing a
chunk twice changes nothing and a run killed between chunks resumes where it stopped;
the run row turns `done` only after the last chunk."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AnticipationRow, PayableRow, ReconciliationLine, ReconciliationRun
from db.session import dialect_insert, read_session

LINE_COLUMNS = (
    "kind", "day", "seq", "class", "key", "order_id", "description", "reference", "amount",
    "line_gross", "line_fees", "expected_gross", "expected_fees", "expected_net",
)  # fmt: skip
MONEY = frozenset(
    {"amount", "line_gross", "line_fees", "expected_gross", "expected_fees", "expected_net"}
)
SQLITE_BATCH = 5000


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
        """How many chunks are worth loading at once: SQLite takes one writer at a time
        (a second only waits on the lock, and a cancelled one can leave it held)."""
        bind = self._sessionmaker.kw.get("bind")
        return 1 if bind is not None and bind.dialect.name == "sqlite" else 8

    async def begin(self, kind: str, day: date, source: str) -> None:
        """Mark the night's run as running (again): readers know its lines may change."""
        now = datetime.now(UTC)
        async with self._sessionmaker() as s:
            stmt = dialect_insert(s, ReconciliationRun).values(
                kind=kind, day=day, status="running", source=source, lines=0, classified={},
                alerts=0, started_at=now, finished_at=None,
            )  # fmt: skip
            await s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["kind", "day"],
                    set_={"status": "running", "source": source, "started_at": now},
                )
            )
            await s.commit()

    async def store_chunk(self, kind: str, day: date, path: Path, first: int, last: int) -> int:
        """Replace lines `first`..`last` (seq) of the night with the rows of `path` (a CSV
        of LINE_COLUMNS holding exactly that range). Returns the rows stored."""
        async with self._sessionmaker() as s:
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
                stored = 0
                for batch in _batches(_read_rows(path, kind, day), SQLITE_BATCH):
                    await s.execute(insert(ReconciliationLine), batch)
                    stored += len(batch)
            await s.commit()
        return stored

    async def finish(
        self, kind: str, day: date, lines: int, classified: dict[str, int], alerts: int
    ) -> None:
        """Drop lines past the last (a rerun with fewer lines) and mark the run done."""
        async with self._sessionmaker() as s:
            await s.execute(
                delete(ReconciliationLine).where(
                    ReconciliationLine.kind == kind,
                    ReconciliationLine.day == day,
                    ReconciliationLine.seq > lines,
                )
            )
            run = await s.get(ReconciliationRun, (kind, day))
            assert run is not None, "finish() before begin()"
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
            select(ReconciliationLine)
            .where(ReconciliationLine.kind == kind, ReconciliationLine.day == day)
            .order_by(ReconciliationLine.seq)
            .limit(limit)
            .offset(offset)
        )
        if cls:
            query = query.where(ReconciliationLine.cls == cls)
        async with read_session(self._sessionmaker) as s:
            return [
                LineView.model_validate(r, from_attributes=True) for r in await s.scalars(query)
            ]

    async def alerts(
        self, kind: str, day: date, classes: frozenset[str], limit: int = 200
    ) -> list[LineView]:
        """The night's lines of `classes` (those that need a person), in line order."""
        query = (
            select(ReconciliationLine)
            .where(
                ReconciliationLine.kind == kind,
                ReconciliationLine.day == day,
                ReconciliationLine.cls.in_(sorted(classes)),
            )
            .order_by(ReconciliationLine.seq)
            .limit(limit)
        )
        async with read_session(self._sessionmaker) as s:
            return [
                LineView.model_validate(r, from_attributes=True) for r in await s.scalars(query)
            ]

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

    async def fingerprint(self, kind: str, day: date) -> list[tuple[Any, ...]]:
        """Every stored line of the night as plain tuples (tests compare two runs)."""
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(*(c for c in ReconciliationLine.__table__.columns))
                .where(ReconciliationLine.kind == kind, ReconciliationLine.day == day)
                .order_by(ReconciliationLine.seq)
            )
            return [tuple(r) for r in rows]


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _read_rows(path: Path, kind: str, day: date) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out: dict[str, Any] = {"kind": kind, "day": day}
            for name in LINE_COLUMNS[2:]:
                value = row.get(name, "")
                if name in MONEY:
                    out[name] = Decimal(value) if value else None
                elif name == "seq":
                    out[name] = int(value)
                elif name == "order_id":
                    out[name] = value or None
                elif name == "class":
                    out["cls"] = value
                else:
                    out[name] = value
            yield out


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _copy_in(s: AsyncSession, kind: str, day: date, path: Path) -> int:
    """COPY the chunk's CSV (LINE_COLUMNS, kind and day included) into the table, in the
    session's transaction: no row passes through Python."""
    connection = await s.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    status: str = await driver.copy_to_table(
        "reconciliation_lines",
        source=str(path),
        columns=list(LINE_COLUMNS),
        format="csv",
        header=True,
    )
    return int(status.rsplit(" ", 1)[-1])
