"""Receivables: accrued from the order read model (and the refunds the audit log holds),
exported for the matching engine, covered by anticipations.

Accrual is a sweep, idempotent and repeatable: every order that changed since its
receivable was computed (or has none yet) is computed again by the domain rule; a
receivable already covered by an anticipation keeps it. The order worker also accrues an
order the moment its workflow records it paid, refunded or cancelled (`accrue_orders`).
Chargebacks come from the nightly report (`record_chargebacks`)."""

from __future__ import annotations

import csv
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    AnticipationRow,
    AuditRow,
    OrderRow,
    ReceivableAdjustment,
    ReceivableRow,
)
from db.session import dialect_insert, read_session
from domain.errors import DomainError
from domain.orders import Channel
from domain.receivables import ChannelTerms, OrderFacts, Receivable, receivable_for
from domain.reconciliation import AccrualResult

EXPORT_COLUMNS = (
    "key", "order_id", "gross", "fees", "net", "refunded", "expected_release", "anticipated",
)  # fmt: skip
BATCH = 1000
CHARGEBACK = "chargeback"
ADJUSTMENT_COLUMNS = ("kind", "day", "key", "amount")


class ReceivableView(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    channel: str
    key: str
    gross: Decimal
    commission: Decimal
    fixed_fee: Decimal
    freight: Decimal
    net: Decimal
    refunded: Decimal
    charged_back: Decimal = Decimal("0")
    paid_at: datetime
    expected_release: date
    status: str
    anticipation_id: int | None


class AnticipationView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    reference: str
    taken_on: date
    gross: Decimal
    discount_rate: Decimal
    fee: Decimal
    net: Decimal
    receivables: int
    created_by: str


class NothingToAnticipate(DomainError):
    pass


def _facts(row: OrderRow, refunds: Mapping[str, tuple[Decimal, datetime]]) -> OrderFacts:
    def at(status: str) -> datetime | None:
        value = row.phase_times.get(status)
        return datetime.fromisoformat(value) if value else None

    refunded, refunded_at = refunds.get(row.order_id, (Decimal("0"), None))
    return OrderFacts(
        order_id=row.order_id,
        channel=Channel(row.channel),
        external_id=row.external_id,
        status=row.status,
        total=row.total,
        paid_at=at("paid"),
        delivered_at=at("delivered"),
        created_at=row.created_at,
        refunded=refunded,
        refunded_at=refunded_at,
    )


def _values(r: Receivable, now: datetime) -> dict[str, Any]:
    return {
        "order_id": r.order_id, "channel": r.channel.value, "key": r.key, "gross": r.gross,
        "commission": r.commission, "fixed_fee": r.fixed_fee, "freight": r.freight,
        "net": r.net, "refunded": r.refunded, "paid_at": r.paid_at,
        "expected_release": r.expected_release, "status": r.status.value,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


class ReceivableRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def accrue(
        self, terms: Mapping[str, ChannelTerms], tz: str, now: datetime | None = None
    ) -> AccrualResult:
        """Compute the receivable of every order changed since its receivable was (or
        that has none yet), store it, and say how many were created and updated."""
        stale = or_(
            ReceivableRow.order_id.is_(None), OrderRow.updated_at >= ReceivableRow.updated_at
        )
        return await self._accrue(stale, terms, tz, now)

    async def accrue_orders(
        self,
        order_ids: Collection[str],
        terms: Mapping[str, ChannelTerms],
        tz: str,
        now: datetime | None = None,
    ) -> AccrualResult:
        """The same for these orders alone, whatever changed: the moment an order is paid,
        refunded or cancelled, its receivable follows (the nightly sweep catches any
        this missed)."""
        return await self._accrue(OrderRow.order_id.in_(list(order_ids)), terms, tz, now)

    async def _accrue(
        self,
        which: ColumnElement[bool],
        terms: Mapping[str, ChannelTerms],
        tz: str,
        now: datetime | None,
    ) -> AccrualResult:
        now = now or datetime.now(UTC)
        async with read_session(self._sessionmaker) as s:
            stale = await s.execute(
                select(OrderRow, ReceivableRow.order_id.is_not(None))
                .outerjoin(ReceivableRow, ReceivableRow.order_id == OrderRow.order_id)
                .where(which)
            )
            pairs = [(order, bool(has)) for order, has in stale]
            orders = [order for order, _ in pairs]
            known = {order.order_id for order, has in pairs if has}
            refunds = await self._refunds(
                s, [o.order_id for o in orders] if len(orders) < 50 else None
            )
        computed = [
            r
            for o in orders
            if o.channel in terms
            and (r := receivable_for(_facts(o, refunds), terms[o.channel], tz)) is not None
        ]
        async with self._sessionmaker() as s:
            for start in range(0, len(computed), BATCH):
                chunk = [_values(r, now) for r in computed[start : start + BATCH]]
                stmt = dialect_insert(s, ReceivableRow).values(chunk)
                excluded = stmt.excluded
                await s.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["order_id"],
                        set_={
                            name: getattr(excluded, name)
                            for name in (
                                "gross",
                                "commission",
                                "fixed_fee",
                                "freight",
                                "net",
                                "refunded",
                                "paid_at",
                                "expected_release",
                                "status",
                                "updated_at",
                            )  # fmt: skip
                        },
                    )
                )
            await s.commit()
        created = sum(1 for r in computed if r.order_id not in known)
        return AccrualResult(created=created, updated=len(computed) - created)

    async def record_chargebacks(self, day: date, amounts: Mapping[str, Decimal]) -> int:
        """What the night `day`'s report took back per key (chargebacks), replacing what
        an earlier run of that night recorded (a receivable's `charged_back` is the sum
        over every night, read with it: no receivable is rewritten). Returns the keys."""
        adj = ReceivableAdjustment
        async with self._sessionmaker() as s:
            await s.execute(delete(adj).where(adj.kind == CHARGEBACK, adj.day == day))
            rows = [(CHARGEBACK, day, k, v) for k, v in amounts.items()]
            if rows and s.get_bind().dialect.name == "postgresql":
                await _copy_records(s, "receivable_adjustments", ADJUSTMENT_COLUMNS, rows)
            elif rows:
                await s.execute(
                    insert(adj),
                    [dict(zip(ADJUSTMENT_COLUMNS, r, strict=True)) for r in rows],
                )
            await s.commit()
        return len(rows)

    async def _refunds(
        self, s: AsyncSession, order_ids: list[str] | None = None
    ) -> dict[str, tuple[Decimal, datetime]]:
        query = select(AuditRow.order_id, AuditRow.details, AuditRow.at).where(
            AuditRow.action == "refund"
        )
        if order_ids is not None:
            query = query.where(AuditRow.order_id.in_(order_ids))
        rows = await s.execute(query)
        out: dict[str, tuple[Decimal, datetime]] = {}
        for order_id, details, at in rows:
            if order_id is None or not details:
                continue
            total, first = out.get(order_id, (Decimal("0"), at))
            out[order_id] = (total + Decimal(str(details.get("amount", "0"))), min(first, at))
        return out

    async def get(self, order_id: str) -> ReceivableView | None:
        found = await self._views(
            select(ReceivableRow, charged_back_of(ReceivableRow.key)).where(
                ReceivableRow.order_id == order_id
            )
        )
        return found[0] if found else None

    async def _views(self, query: Any) -> list[ReceivableView]:
        async with read_session(self._sessionmaker) as s:
            return [_view(row, taken) for row, taken in await s.execute(query)]

    async def between(
        self, *, released_from: date | None = None, released_to: date | None = None,
        limit: int = 500,
    ) -> list[ReceivableView]:  # fmt: skip
        query = select(ReceivableRow, charged_back_of(ReceivableRow.key)).order_by(
            ReceivableRow.expected_release, ReceivableRow.key
        )
        if released_from:
            query = query.where(ReceivableRow.expected_release >= released_from)
        if released_to:
            query = query.where(ReceivableRow.expected_release <= released_to)
        return await self._views(query.limit(limit))

    async def export(self, path: Path, day: date, window_days: int) -> int:
        """Write the receivables released within `window_days` of `day` as CSV
        (EXPORT_COLUMNS) for the matching engine, an order id that is `order:<key>` left
        empty (`_copy_out`); COPY on PostgreSQL. Returns the rows."""
        low, high = day - timedelta(days=window_days), day + timedelta(days=window_days)
        async with read_session(self._sessionmaker) as s:
            if s.get_bind().dialect.name == "postgresql":
                return await _copy_out(s, path, low, high)
            return await _sqlite_out(s, path, low, high)

    async def anticipate(
        self,
        reference: str,
        taken_on: date,
        order_ids: list[str],
        discount_rate: Decimal,
        fee: Decimal,
        actor: str,
        now: datetime | None = None,
    ) -> AnticipationView:
        """Record an advance of the open, not yet anticipated receivables `order_ids`
        (idempotent by `reference`): gross is what they were to release, net what came."""
        now = now or datetime.now(UTC)
        async with self._sessionmaker() as s:
            existing = await s.scalar(
                select(AnticipationRow).where(AnticipationRow.reference == reference)
            )
            if existing is not None:
                view = await _anticipation(s, existing)
                await s.rollback()
                return view
            rows = list(
                await s.scalars(
                    select(ReceivableRow)
                    .where(
                        and_(
                            ReceivableRow.order_id.in_(order_ids),
                            ReceivableRow.anticipation_id.is_(None),
                            ReceivableRow.status == "open",
                        )
                    )
                    .with_for_update()
                )
            )
            if not rows:
                raise NothingToAnticipate(
                    "none of these receivables is open and not yet anticipated: "
                    + ", ".join(order_ids[:10])
                )
            gross = sum((r.net for r in rows), Decimal("0"))
            if fee > gross:
                raise NothingToAnticipate(f"the fee {fee} exceeds the receivables' net {gross}")
            advance = AnticipationRow(
                reference=reference, taken_on=taken_on, gross=gross, discount_rate=discount_rate,
                fee=fee, net=gross - fee, created_by=actor, created_at=now,
            )  # fmt: skip
            s.add(advance)
            await s.flush()
            await s.execute(
                update(ReceivableRow)
                .where(ReceivableRow.order_id.in_([r.order_id for r in rows]))
                .values(anticipation_id=advance.id, updated_at=now)
            )
            view = await _anticipation(s, advance)
            await s.commit()
            return view

    async def anticipations(self, limit: int = 200) -> list[AnticipationView]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(AnticipationRow).order_by(AnticipationRow.taken_on.desc()).limit(limit)
            )
            return [await _anticipation(s, row) for row in rows]


async def _anticipation(s: AsyncSession, row: AnticipationRow) -> AnticipationView:
    covered = await s.scalar(select(func.count()).where(ReceivableRow.anticipation_id == row.id))
    return AnticipationView(
        id=row.id, reference=row.reference, taken_on=row.taken_on, gross=row.gross,
        discount_rate=row.discount_rate, fee=row.fee, net=row.net, receivables=covered or 0,
        created_by=row.created_by,
    )  # fmt: skip


def _view(row: ReceivableRow, charged_back: Any = 0) -> ReceivableView:
    view = ReceivableView.model_validate(row, from_attributes=True)
    return view.model_copy(update={"charged_back": Decimal(str(charged_back or 0))})


def charged_back_of(key: Any) -> Any:
    """What every night's chargebacks took from the receivable with `key` (a scalar
    subquery by the adjustments' key index; the table is small)."""
    return (
        select(func.coalesce(func.sum(ReceivableAdjustment.amount), 0))
        .where(ReceivableAdjustment.kind == CHARGEBACK, ReceivableAdjustment.key == key)
        .scalar_subquery()
    )


# The export as SQLite writes it: the same columns and the same text as PostgreSQL's COPY
# (money stored as REAL is printed to the cent, exact at 12 digits; a day is ISO text).
_SQLITE_EXPORT = (
    "SELECT key, CASE WHEN order_id = 'order:' || key THEN '' ELSE order_id END, "
    "printf('%.2f', gross), printf('%.2f', commission + fixed_fee + freight), "
    "printf('%.2f', net), printf('%.2f', refunded), expected_release, "
    "CASE WHEN anticipation_id IS NULL THEN 'false' ELSE 'true' END FROM receivables "
    "WHERE expected_release BETWEEN ? AND ?"
)
SQLITE_FETCH = 50_000


async def _sqlite_out(s: AsyncSession, path: Path, low: date, high: date) -> int:
    """The SQLite counterpart of `_copy_out`: SQLite formats every field, the rows reach
    the file a block at a time (never the whole export in memory)."""
    connection = await s.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        async with driver.execute(_SQLITE_EXPORT, (low.isoformat(), high.isoformat())) as cur:
            while rows := await cur.fetchmany(SQLITE_FETCH):
                writer.writerows(rows)
                count += len(rows)
    return count


async def _copy_out(s: AsyncSession, path: Path, low: date, high: date) -> int:
    """COPY the export straight from PostgreSQL into the file (no row passes Python). An
    order's id is nearly always `order:<key>` (domain/ids.py): left empty then (a fifth
    less to write and read), the matching engine puts it back."""
    connection = await s.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    query = (
        "SELECT key, nullif(order_id, 'order:' || key) AS order_id, "
        "gross, commission + fixed_fee + freight AS fees, net, refunded, "
        "expected_release, anticipation_id IS NOT NULL AS anticipated FROM receivables "
        f"WHERE expected_release BETWEEN '{low.isoformat()}' AND '{high.isoformat()}'"
    )
    status: str = await driver.copy_from_query(query, output=str(path), format="csv", header=True)
    return int(status.rsplit(" ", 1)[-1])


async def _copy_records(
    s: AsyncSession, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Binary COPY of a few thousand rows (PostgreSQL), in the session's transaction."""
    connection = await s.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(table, records=rows, columns=list(columns))
