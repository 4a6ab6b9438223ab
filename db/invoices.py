"""NF-e numbers and authorised invoices.

A number is allocated once per (order, series) and kept: a retried emission reuses it, so
SEFAZ sees the same nNF and answers "duplicity" instead of authorising a second invoice.
The per-series counter row serialises allocations (SQLite: the write lock; PostgreSQL: the
row lock of ``UPDATE invoice_series``); UNIQUE(series, number) backs it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import InvoiceNumber, InvoiceRow, InvoiceSeries
from db.session import dialect_insert, read_session
from db.types import utcnow
from domain.fiscal import Invoice, InvoiceStatus


@dataclass(frozen=True, slots=True)
class InvoiceView:
    order_id: str
    number: int
    series: int
    access_key: str | None
    protocol: str | None
    status: InvoiceStatus
    authorised_at: datetime | None
    cancelled_at: datetime | None

    def to_invoice(self) -> Invoice:
        if self.access_key is None or self.protocol is None or self.authorised_at is None:
            raise ValueError(f"{self.order_id}: invoice was never authorised")
        return Invoice(
            order_id=self.order_id,
            access_key=self.access_key,
            number=self.number,
            series=self.series,
            protocol=self.protocol,
            authorised_at=self.authorised_at,
            status=self.status,
        )


def _view(row: InvoiceRow) -> InvoiceView:
    return InvoiceView(
        order_id=row.order_id,
        number=row.number,
        series=row.series,
        access_key=row.access_key,
        protocol=row.protocol,
        status=InvoiceStatus(row.status),
        authorised_at=row.authorised_at,
        cancelled_at=row.cancelled_at,
    )


class InvoiceRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def allocate_number(self, order_id: str, series: int) -> int:
        """The order's number in ``series``: the same on every call, never another order's."""
        for _ in range(3):
            try:
                return await self._allocate(order_id, series)
            except IntegrityError:
                continue  # PostgreSQL: the same order allocated concurrently; read it back
        return await self._allocate(order_id, series)

    async def _allocate(self, order_id: str, series: int) -> int:
        async with self._sessionmaker() as s:
            mine = await _number(s, order_id, series)
            if mine is not None:
                return mine
            await s.execute(
                dialect_insert(s, InvoiceSeries)
                .values(series=series, last_number=0)
                .on_conflict_do_nothing(index_elements=["series"])
            )
            number = await s.scalar(
                update(InvoiceSeries)
                .where(InvoiceSeries.series == series)
                .values(last_number=InvoiceSeries.last_number + 1)
                .returning(InvoiceSeries.last_number)
            )
            assert number is not None
            # Re-check under the counter lock: a concurrent call for this order may have won.
            mine = await _number(s, order_id, series)
            if mine is not None:
                await s.rollback()
                return mine
            s.add(
                InvoiceNumber(
                    order_id=order_id, series=series, number=number, allocated_at=utcnow()
                )
            )
            await s.commit()
        return int(number)

    async def void_number(self, order_id: str, series: int, at: datetime) -> int | None:
        """Give up the order's number when no NF-e was authorised with it (the number
        stays taken: NF-e numbers are never reused). Returns the number voided, None when
        there is none or it is in use. Idempotent."""
        async with self._sessionmaker() as s:
            used = await s.scalar(
                select(InvoiceRow.order_id).where(
                    InvoiceRow.order_id == order_id, InvoiceRow.series == series
                )
            )
            if used is not None:
                await s.rollback()
                return None
            number: int | None = await s.scalar(
                update(InvoiceNumber)
                .where(
                    InvoiceNumber.order_id == order_id,
                    InvoiceNumber.series == series,
                    InvoiceNumber.voided_at.is_(None),
                )
                .values(voided_at=at)
                .returning(InvoiceNumber.number)
            )
            await s.commit()
        return number

    async def numbers(self) -> list[tuple[str, int, int, datetime | None]]:
        """Every allocated number: (order_id, series, number, voided_at)."""
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(
                    InvoiceNumber.order_id,
                    InvoiceNumber.series,
                    InvoiceNumber.number,
                    InvoiceNumber.voided_at,
                ).order_by(InvoiceNumber.series, InvoiceNumber.number)
            )
            return [(r.order_id, r.series, r.number, r.voided_at) for r in rows]

    async def record_authorised(self, invoice: Invoice, xml: str) -> InvoiceView:
        """Store the authorised invoice once; a repeat returns what was stored first."""
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, InvoiceRow)
                .values(
                    order_id=invoice.order_id,
                    number=invoice.number,
                    series=invoice.series,
                    access_key=invoice.access_key,
                    protocol=invoice.protocol,
                    status=invoice.status.value,
                    authorised_at=invoice.authorised_at,
                    xml=xml,
                )
                .on_conflict_do_nothing(index_elements=["order_id"])
            )
            row = await s.get(InvoiceRow, invoice.order_id)
            assert row is not None
            view = _view(row)
            await s.commit()
        return view

    async def record_cancelled(
        self, order_id: str, status: InvoiceStatus, at: datetime
    ) -> InvoiceView | None:
        """Move an authorised invoice to ``cancelled`` (or ``needs_return_invoice`` when the
        24 h window has passed). Cancelled is final; repeating changes nothing."""
        if status is InvoiceStatus.AUTHORISED:
            raise ValueError("record_cancelled needs cancelled or needs_return_invoice")
        values: dict[str, object] = {"status": status.value}
        if status is InvoiceStatus.CANCELLED:
            values["cancelled_at"] = at
        async with self._sessionmaker() as s:
            await s.execute(
                update(InvoiceRow)
                .where(
                    InvoiceRow.order_id == order_id,
                    InvoiceRow.status.not_in(
                        (InvoiceStatus.CANCELLED.value, InvoiceStatus.RETURNED.value, status.value)
                    ),
                )
                .values(values)
            )
            row = await s.get(InvoiceRow, order_id, populate_existing=True)
            view = None if row is None else _view(row)
            await s.commit()
        return view

    async def get(self, order_id: str) -> InvoiceView | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.get(InvoiceRow, order_id)
            return None if row is None else _view(row)

    async def get_xml(self, order_id: str) -> str | None:
        async with read_session(self._sessionmaker) as s:
            xml: str | None = await s.scalar(
                select(InvoiceRow.xml).where(InvoiceRow.order_id == order_id)
            )
            return xml

    async def list_authorised(self) -> list[InvoiceView]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(InvoiceRow)
                .where(InvoiceRow.status == InvoiceStatus.AUTHORISED.value)
                .order_by(InvoiceRow.series, InvoiceRow.number)
            )
            return [_view(r) for r in rows]


async def _number(s: AsyncSession, order_id: str, series: int) -> int | None:
    number: int | None = await s.scalar(
        select(InvoiceNumber.number).where(
            InvoiceNumber.order_id == order_id, InvoiceNumber.series == series
        )
    )
    return number
