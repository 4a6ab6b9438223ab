"""The order read model: what the API and the ops console list and show.

Written by activities that run anyway (no extra workflow steps). Every write is an upsert
that can be repeated: ``phase_times`` keeps the first time each status was reached, a
stale write (older ``at``) never moves the status or ``updated_at`` backwards.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import OrderRow
from db.session import dialect_insert, read_session
from domain.attention import StepFailure
from domain.ids import parse_order_workflow_id
from domain.money import cents
from domain.orders import Channel, OrderStatus
from domain.steps import StatusChange

FIELDS = frozenset(
    {"customer_name", "customer_cpf", "total", "items", "invoice_key", "tracking_code", "carrier"}
)
# Statuses whose first time the KPIs read, each in its own column (epoch seconds).
KPI_PHASES = frozenset(
    {
        OrderStatus.RECEIVED,
        OrderStatus.PAID,
        OrderStatus.INVOICED,
        OrderStatus.PICKED,
        OrderStatus.PACKED,
        OrderStatus.CHECKED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
    }
)


class OrderView(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    channel: Channel
    external_id: str
    status: OrderStatus
    customer_name: str | None
    total: Decimal | None
    items: builtins.list[dict[str, Any]]
    needs_attention: bool
    stuck_step: str | None
    failure: StepFailure | None
    invoice_key: str | None
    tracking_code: str | None
    carrier: str | None
    phase_times: dict[str, datetime]
    created_at: datetime
    updated_at: datetime
    customer_cpf: str | None = None
    check_mismatches: int = 0


def _view(row: OrderRow) -> OrderView:
    return OrderView(
        order_id=row.order_id,
        channel=Channel(row.channel),
        external_id=row.external_id,
        status=OrderStatus(row.status),
        customer_name=row.customer_name,
        total=row.total,
        items=list(row.items),
        needs_attention=row.needs_attention,
        stuck_step=row.stuck_step,
        failure=None if row.failure is None else StepFailure.model_validate(row.failure),
        invoice_key=row.invoice_key,
        tracking_code=row.tracking_code,
        carrier=row.carrier,
        phase_times={k: datetime.fromisoformat(v) for k, v in row.phase_times.items()},
        created_at=row.created_at,
        updated_at=row.updated_at,
        customer_cpf=row.customer_cpf,
        check_mismatches=row.check_mismatches or 0,
    )


def _json_items(items: Any) -> builtins.list[dict[str, Any]]:
    """Accept OrderItem models or dicts; store plain JSON (Decimals as strings)."""
    out = []
    for item in items:
        data = item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)
        out.append({k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()})
    return out


class OrderReadModel:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def upsert(
        self,
        order_id: str,
        channel: Channel | str,
        external_id: str,
        *,
        status: OrderStatus | str | None = None,
        at: datetime,
        **fields: Any,
    ) -> OrderView:
        """Create the order if new, then apply ``status`` (if not stale) and ``fields``
        (customer_name, total, items, invoice_key, tracking_code, carrier)."""
        unknown = set(fields) - FIELDS
        if unknown:
            raise TypeError(f"unknown order read-model fields: {sorted(unknown)}")
        first = OrderStatus(status or OrderStatus.RECEIVED)
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, OrderRow)
                .values(
                    order_id=order_id,
                    channel=Channel(channel).value,
                    external_id=external_id,
                    status=first.value,
                    items=[],
                    needs_attention=False,
                    phase_times={first.value: _iso(at)},
                    **({f"t_{first.value}": int(at.timestamp())} if first in KPI_PHASES else {}),
                    created_at=at,
                    updated_at=at,
                )
                .on_conflict_do_nothing(index_elements=["order_id"])
            )
            row = await s.scalar(
                select(OrderRow).where(OrderRow.order_id == order_id).with_for_update()
            )
            assert row is not None
            if status is not None:
                _apply_status(row, OrderStatus(status), at)
            for name, value in fields.items():
                if name == "items":
                    value = _json_items(value)
                elif name == "total" and value is not None:
                    value = cents(value)
                setattr(row, name, value)
            view = _view(row)
            await s.commit()
        return view

    async def record(self, change: StatusChange) -> OrderView:
        """The one way a status reaches the read model: the workflow's status, stamped
        with workflow time. Each status reached keeps its first time; a stale change
        (older than the row) never moves the status back; `clear_attention` lowers a
        needs-attention flag raised before the change (one the workflow has left)."""
        channel, external_id = parse_order_workflow_id(change.order_id)
        entries = [*((e.status, e.at) for e in change.reached), (change.status, change.at)]
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, OrderRow)
                .values(
                    order_id=change.order_id,
                    channel=channel.value,
                    external_id=external_id,
                    status=entries[0][0].value,
                    items=[],
                    needs_attention=False,
                    phase_times={},
                    created_at=entries[0][1],
                    updated_at=entries[0][1],
                )
                .on_conflict_do_nothing(index_elements=["order_id"])
            )
            row = await s.scalar(
                select(OrderRow).where(OrderRow.order_id == change.order_id).with_for_update()
            )
            assert row is not None
            for status, at in sorted(entries, key=lambda e: e[1]):
                _apply_status(row, status, at)
            if change.clear_attention and row.needs_attention and _raised_before(row, change.at):
                row.needs_attention, row.stuck_step, row.failure = False, None, None
            view = _view(row)
            await s.commit()
        return view

    async def set_status(
        self, order_id: str, status: OrderStatus | str, at: datetime, **fields: Any
    ) -> OrderView:
        channel, external_id = parse_order_workflow_id(order_id)
        return await self.upsert(order_id, channel, external_id, status=status, at=at, **fields)

    async def record_failure(self, order_id: str, failure: StepFailure) -> OrderView:
        return await self._attention(order_id, failure, failure.at)

    async def clear_attention(
        self, order_id: str, *, at: datetime | None = None
    ) -> OrderView | None:
        async with self._sessionmaker() as s:
            row = await s.scalar(
                select(OrderRow).where(OrderRow.order_id == order_id).with_for_update()
            )
            if row is not None and row.needs_attention:
                row.needs_attention = False
                row.stuck_step = None
                row.failure = None
                if at is not None and at > row.updated_at:
                    row.updated_at = at
            view = None if row is None else _view(row)
            await s.commit()
        return view

    async def _attention(self, order_id: str, failure: StepFailure, at: datetime) -> OrderView:
        channel, external_id = parse_order_workflow_id(order_id)
        await self.upsert(order_id, channel, external_id, at=at)
        async with self._sessionmaker() as s:
            row = await s.scalar(
                select(OrderRow).where(OrderRow.order_id == order_id).with_for_update()
            )
            assert row is not None
            row.needs_attention = True
            row.stuck_step = failure.step
            row.failure = failure.model_dump(mode="json")
            row.updated_at = max(row.updated_at, at)
            view = _view(row)
            await s.commit()
        return view

    async def get(self, order_id: str) -> OrderView | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.get(OrderRow, order_id)
            return None if row is None else _view(row)

    async def list(
        self,
        status: OrderStatus | str | None = None,
        needs_attention: bool | None = None,
        channel: Channel | str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[OrderView]:
        """Newest first."""
        stmt = select(OrderRow)
        if status is not None:
            stmt = stmt.where(OrderRow.status == OrderStatus(status).value)
        if needs_attention is not None:
            stmt = stmt.where(OrderRow.needs_attention.is_(needs_attention))
        if channel is not None:
            stmt = stmt.where(OrderRow.channel == Channel(channel).value)
        stmt = stmt.order_by(OrderRow.created_at.desc(), OrderRow.order_id)
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(stmt.limit(limit).offset(offset))
            return [_view(r) for r in rows]

    async def count_by_status(self) -> dict[str, int]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(select(OrderRow.status, func.count()).group_by(OrderRow.status))
            return {status: int(n) for status, n in rows}


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: times must be timezone-aware")
    return at.astimezone(UTC).isoformat()


def _raised_before(row: OrderRow, at: datetime) -> bool:
    if row.failure is None:
        return True
    return StepFailure.model_validate(row.failure).at <= at


def _apply_status(row: OrderRow, status: OrderStatus, at: datetime) -> None:
    times = dict(row.phase_times)
    seen = times.get(status.value)
    if seen is None or at < datetime.fromisoformat(seen):
        times[status.value] = _iso(at)
        row.phase_times = times
        if status in KPI_PHASES:
            setattr(row, f"t_{status.value}", int(at.timestamp()))
    if at >= row.updated_at:
        row.status = status.value
        row.updated_at = at
