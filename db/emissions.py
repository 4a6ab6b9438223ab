"""The emission journal of the contingency (integrations/fiscal/contingency.py): the
authorisers' outages, and what each order's NF-e emission has been through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import InvoiceNumber, SefazOutage
from db.session import dialect_insert, read_session
from domain.fiscal_lifecycle import EmissionFacts, Outage


class EmissionJournalRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def outage(self, authoriser: str) -> Outage | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.get(SefazOutage, authoriser)
            return None if row is None or row.cleared_at is not None else _outage(row)

    async def record_unavailable(
        self, authoriser: str, cstat: int, reason: str, at: datetime
    ) -> Outage:
        """The authoriser answered 108/109: an outage since the first such answer after
        it last worked (concurrent workers agree on that first moment)."""
        async with self._sessionmaker() as s:
            row = await s.get(SefazOutage, authoriser, with_for_update=True)
            if row is None:
                await s.execute(
                    dialect_insert(s, SefazOutage)
                    .values(
                        authoriser=authoriser, since=at, last_seen=at, cstat=cstat, reason=reason
                    )
                    .on_conflict_do_nothing(index_elements=["authoriser"])
                )
            elif row.cleared_at is not None:
                row.since, row.cleared_at = at, None
            row = await s.get(SefazOutage, authoriser, populate_existing=True)
            assert row is not None
            row.last_seen, row.cstat, row.reason = max(row.last_seen, at), cstat, reason
            outage = _outage(row)
            await s.commit()
        return outage

    async def record_available(self, authoriser: str, at: datetime) -> None:
        async with self._sessionmaker() as s:
            await s.execute(
                update(SefazOutage)
                .where(SefazOutage.authoriser == authoriser, SefazOutage.cleared_at.is_(None))
                .values(cleared_at=at)
            )
            await s.commit()

    async def facts(self, order_id: str, series: int) -> EmissionFacts:
        async with read_session(self._sessionmaker) as s:
            row = await s.get(InvoiceNumber, (order_id, series))
            if row is None:
                return EmissionFacts()
            return EmissionFacts(
                in_doubt=row.in_doubt,
                contingency=row.contingency,
                contingency_since=row.contingency_since,
                contingency_reason=row.contingency_reason,
            )

    async def mark_in_doubt(self, order_id: str, series: int, in_doubt: bool) -> None:
        async with self._sessionmaker() as s:
            await s.execute(
                update(InvoiceNumber)
                .where(InvoiceNumber.order_id == order_id, InvoiceNumber.series == series)
                .values(in_doubt=in_doubt)
            )
            await s.commit()

    async def mark_contingency(
        self, order_id: str, series: int, emission_type: str, since: datetime, reason: str
    ) -> None:
        """Before the send to the SVC (kept: every later attempt builds the same NF-e)."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(InvoiceNumber)
                .where(
                    InvoiceNumber.order_id == order_id,
                    InvoiceNumber.series == series,
                    InvoiceNumber.contingency.is_(None),
                )
                .values(
                    contingency=emission_type, contingency_since=since, contingency_reason=reason
                )
            )
            await s.commit()


def _outage(row: SefazOutage) -> Outage:
    return Outage(
        authoriser=row.authoriser,
        since=row.since,
        last_seen=row.last_seen,
        cstat=row.cstat,
        reason=row.reason,
    )
