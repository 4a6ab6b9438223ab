"""What follows an NF-e's authorisation, stored: the voiding of unused numbers at SEFAZ,
the return NF-e that undoes a sale, and the correction letters (CC-e)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import InvoiceCorrectionRow, InvoiceNumber, InvoiceRow, ReturnInvoiceRow
from db.session import dialect_insert, read_session
from domain.fiscal import InvoiceStatus
from domain.fiscal_lifecycle import (
    Correction,
    CorrectionRequest,
    CorrectionStatus,
    ReturnInvoice,
)


@dataclass(frozen=True, slots=True)
class NumberHeld:
    """An order's allocated number and what became of it."""

    order_id: str
    series: int
    number: int
    in_use: bool  # an NF-e was authorised with it
    voided_at: datetime | None
    sefaz_voided_at: datetime | None
    voiding_protocol: str | None


@dataclass(frozen=True, slots=True)
class CorrectionView:
    access_key: str
    sequence: int
    order_id: str
    text: str
    status: CorrectionStatus
    protocol: str | None
    message: str
    requested_by: str
    requested_at: datetime
    registered_at: datetime | None


class FiscalLifecycleRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    # -- voiding ---------------------------------------------------------------------------

    async def number_held(self, order_id: str, series: int) -> NumberHeld | None:
        async with read_session(self._sessionmaker) as s:
            return await _held(s, order_id, series)

    async def numbers_of(self, order_id: str) -> list[NumberHeld]:
        """Every number the order was given, in each series, and what became of it."""
        async with read_session(self._sessionmaker) as s:
            series = await s.scalars(
                select(InvoiceNumber.series)
                .where(InvoiceNumber.order_id == order_id)
                .order_by(InvoiceNumber.series)
            )
            held = [await _held(s, order_id, number_series) for number_series in series.all()]
        return [h for h in held if h is not None]

    async def give_up_number(self, order_id: str, series: int, at: datetime) -> NumberHeld | None:
        """Mark the order's number given up unless an NF-e holds it (idempotent)."""
        async with self._sessionmaker() as s:
            held = await _held(s, order_id, series)
            if held is None or held.in_use or held.voided_at is not None:
                await s.rollback()
                return held
            await s.execute(
                update(InvoiceNumber)
                .where(
                    InvoiceNumber.order_id == order_id,
                    InvoiceNumber.series == series,
                    InvoiceNumber.voided_at.is_(None),
                )
                .values(voided_at=at)
            )
            held = await _held(s, order_id, series)
            await s.commit()
        return held

    async def record_voided_at_sefaz(
        self, order_id: str, series: int, protocol: str | None, at: datetime
    ) -> None:
        async with self._sessionmaker() as s:
            await s.execute(
                update(InvoiceNumber)
                .where(
                    InvoiceNumber.order_id == order_id,
                    InvoiceNumber.series == series,
                    InvoiceNumber.sefaz_voided_at.is_(None),
                )
                .values(sefaz_voided_at=at, voiding_protocol=protocol)
            )
            await s.commit()

    # -- return NF-e ----------------------------------------------------------------------

    async def record_return(self, invoice: ReturnInvoice, xml: str) -> None:
        """Store the return NF-e once and mark the sale NF-e it undoes `returned`."""
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, ReturnInvoiceRow)
                .values(
                    order_id=invoice.order_id,
                    refers_to=invoice.refers_to,
                    series=invoice.series,
                    number=invoice.number,
                    access_key=invoice.access_key,
                    protocol=invoice.protocol,
                    authorised_at=invoice.authorised_at,
                    xml=xml,
                )
                .on_conflict_do_nothing(index_elements=["order_id"])
            )
            await s.execute(
                update(InvoiceRow)
                .where(
                    InvoiceRow.order_id == invoice.order_id,
                    InvoiceRow.access_key == invoice.refers_to,
                )
                .values(status=InvoiceStatus.RETURNED.value)
            )
            await s.commit()

    async def get_return(self, order_id: str) -> ReturnInvoice | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.get(ReturnInvoiceRow, order_id)
            if row is None:
                return None
            return ReturnInvoice(
                order_id=row.order_id,
                refers_to=row.refers_to,
                access_key=row.access_key,
                number=row.number,
                series=row.series,
                protocol=row.protocol,
                authorised_at=row.authorised_at,
            )

    # -- correction letters ---------------------------------------------------------------

    async def next_correction_sequence(self, access_key: str) -> int:
        """nSeqEvento of the next CC-e: one past the last registered (a rejected one's
        number is used again)."""
        async with read_session(self._sessionmaker) as s:
            last = await s.scalar(
                select(func.max(InvoiceCorrectionRow.sequence)).where(
                    InvoiceCorrectionRow.access_key == access_key,
                    InvoiceCorrectionRow.status == CorrectionStatus.REGISTERED.value,
                )
            )
        return int(last or 0) + 1

    async def claim_correction(self, request: CorrectionRequest) -> str | None:
        """Hold the letter's number before it is sent (`sending`), or take back a number
        SEFAZ rejected. None when it is this request's (asking again with the same text
        is the same letter); else the text that holds the number: two people asking at
        once get a refusal, never one text silently sent in place of the other."""
        async with self._sessionmaker() as s:
            values = {
                "order_id": request.order_id,
                "text": request.text,
                "status": CorrectionStatus.SENDING.value,
                "protocol": None,
                "message": "",
                "requested_by": request.requested_by[:100],
                "requested_at": request.requested_at,
                "registered_at": None,
            }
            statement = dialect_insert(s, InvoiceCorrectionRow).values(
                access_key=request.access_key, sequence=request.sequence, **values
            )
            result = await s.execute(
                statement.on_conflict_do_update(
                    index_elements=["access_key", "sequence"],
                    set_=values,
                    where=InvoiceCorrectionRow.status == CorrectionStatus.REJECTED.value,
                )
            )
            held = None
            if not getattr(result, "rowcount", 0):
                row = await s.get(
                    InvoiceCorrectionRow,
                    (request.access_key, request.sequence),
                    populate_existing=True,
                )
                if row is not None and row.text != request.text:
                    held = row.text
            await s.commit()
        return held

    async def record_correction(self, request: CorrectionRequest, result: Correction) -> None:
        async with self._sessionmaker() as s:
            values = {
                "order_id": request.order_id,
                "text": request.text,
                "status": result.status.value,
                "protocol": result.protocol,
                "message": result.message[:2000],
                "requested_by": request.requested_by[:100],
                "requested_at": request.requested_at,
                "registered_at": result.registered_at,
            }
            statement = dialect_insert(s, InvoiceCorrectionRow).values(
                access_key=request.access_key, sequence=request.sequence, **values
            )
            await s.execute(
                statement.on_conflict_do_update(
                    index_elements=["access_key", "sequence"],
                    set_=values,
                    where=InvoiceCorrectionRow.status != CorrectionStatus.REGISTERED.value,
                )
            )
            await s.commit()

    async def corrections(self, order_id: str) -> list[CorrectionView]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(InvoiceCorrectionRow)
                .where(InvoiceCorrectionRow.order_id == order_id)
                .order_by(InvoiceCorrectionRow.sequence)
            )
            return [
                CorrectionView(
                    access_key=r.access_key,
                    sequence=r.sequence,
                    order_id=r.order_id,
                    text=r.text,
                    status=CorrectionStatus(r.status),
                    protocol=r.protocol,
                    message=r.message,
                    requested_by=r.requested_by,
                    requested_at=r.requested_at,
                    registered_at=r.registered_at,
                )
                for r in rows
            ]


async def _held(s: AsyncSession, order_id: str, series: int) -> NumberHeld | None:
    row = await s.get(InvoiceNumber, (order_id, series), populate_existing=True)
    if row is None:
        return None
    used = await s.scalar(
        select(InvoiceRow.order_id).where(
            InvoiceRow.series == series, InvoiceRow.number == row.number
        )
    )
    return NumberHeld(
        order_id=order_id,
        series=series,
        number=row.number,
        in_use=used is not None,
        voided_at=row.voided_at,
        sefaz_voided_at=row.sefaz_voided_at,
        voiding_protocol=row.voiding_protocol,
    )
