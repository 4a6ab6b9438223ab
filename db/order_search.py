"""Finding orders the way ops ask for them: by our order id or the channel's number, the
customer's name or CPF, a SKU, the NF-e key or the tracking code, within dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import OrderRow
from db.orders import OrderView, _view
from db.session import read_session

MAX_QUERY = 100


@dataclass(frozen=True, slots=True)
class SearchResult:
    orders: list[OrderView]
    total: int  # every match, not only this page


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def match(query: str) -> ColumnElement[bool]:
    """The condition for one search box: digits are tried as a CPF, an NF-e key (spaces
    and dots of a printed key ignored) or the channel's number; text as the customer's
    name (any case), a SKU, a tracking code or an order id."""
    text = query.strip()[:MAX_QUERY]
    digits = re.sub(r"[\s.\-/]", "", text)
    found: list[ColumnElement[bool]] = [
        OrderRow.order_id == text,
        OrderRow.external_id == text,
        OrderRow.tracking_code == text.upper(),
        func.lower(OrderRow.customer_name).like(_like(text.lower()), escape="\\"),
        cast(OrderRow.items, String).like(_like(f'"sku": "{text}"'), escape="\\"),
    ]
    if digits.isdigit():
        if len(digits) == 11:
            found.append(OrderRow.customer_cpf == digits)
        if len(digits) == 44:
            found.append(OrderRow.invoice_key == digits)
        found.append(OrderRow.external_id == digits)
    return or_(*found) if text else false()


class OrderSearch:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def search(
        self,
        query: str = "",
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        status: str | None = None,
        channel: str | None = None,
        needs_attention: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> SearchResult:
        """Newest first, with the count of every match."""
        where: list[ColumnElement[bool]] = []
        if query.strip():
            where.append(match(query))
        if since is not None:
            where.append(OrderRow.created_at >= since)
        if until is not None:
            where.append(OrderRow.created_at < until)
        if status:
            where.append(OrderRow.status == status)
        if channel:
            where.append(OrderRow.channel == channel)
        if needs_attention is not None:
            where.append(OrderRow.needs_attention.is_(needs_attention))
        async with read_session(self._sessionmaker) as s:
            total = await s.scalar(select(func.count()).select_from(OrderRow).where(*where))
            rows = await s.scalars(
                select(OrderRow)
                .where(*where)
                .order_by(OrderRow.created_at.desc(), OrderRow.order_id)
                .limit(limit)
                .offset(offset)
            )
            return SearchResult([_view(r) for r in rows], int(total or 0))
