"""Invoice numbers: one per order and series, never shared; invoices stored once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from db.fiscal_lifecycle import FiscalLifecycleRepository
from db.invoices import InvoiceRepository
from domain.fiscal import Invoice, InvoiceStatus, access_key

pytestmark = pytest.mark.integration

T0 = datetime(2024, 11, 29, 12, 0, tzinfo=UTC)


def invoice(order_id: str, number: int) -> Invoice:
    key = access_key(
        uf="SP", issued_at=T0, cnpj="11222333000181", series=1, number=number, cnf="12345678"
    )
    return Invoice(
        order_id=order_id,
        access_key=key,
        number=number,
        series=1,
        protocol="135240000000001",
        authorised_at=T0,
    )


async def test_allocating_twice_for_one_order_returns_the_same_number(sessionmaker) -> None:
    invoices = InvoiceRepository(sessionmaker)
    first = await invoices.allocate_number("order:store:1", 1)
    again = await invoices.allocate_number("order:store:1", 1)
    other = await invoices.allocate_number("order:store:2", 1)
    other_series = await invoices.allocate_number("order:store:1", 2)

    assert first == again == 1
    assert other == 2
    assert other_series == 1


async def test_concurrent_allocations_never_share_a_number(sessionmaker) -> None:
    invoices = InvoiceRepository(sessionmaker)
    order_ids = [f"order:store:{n % 6}" for n in range(18)]  # each order asks three times

    numbers = await asyncio.gather(*(invoices.allocate_number(oid, 1) for oid in order_ids))

    by_order: dict[str, set[int]] = {}
    for oid, number in zip(order_ids, numbers, strict=True):
        by_order.setdefault(oid, set()).add(number)
    assert all(len(n) == 1 for n in by_order.values())
    assert len({next(iter(n)) for n in by_order.values()}) == 6


async def test_an_authorised_invoice_is_recorded_once(sessionmaker) -> None:
    invoices = InvoiceRepository(sessionmaker)
    number = await invoices.allocate_number("order:store:1", 1)

    first = await invoices.record_authorised(invoice("order:store:1", number), "<nfeProc/>")
    again = await invoices.record_authorised(invoice("order:store:1", number), "<other/>")

    assert first == again
    assert first.to_invoice() == invoice("order:store:1", number)
    assert await invoices.get_xml("order:store:1") == "<nfeProc/>"
    assert [i.order_id for i in await invoices.list_authorised()] == ["order:store:1"]


async def test_cancellation_is_final_and_repeatable(sessionmaker) -> None:
    invoices = InvoiceRepository(sessionmaker)
    await invoices.record_authorised(invoice("order:store:1", 1), "<nfeProc/>")
    at = T0 + timedelta(hours=2)

    cancelled = await invoices.record_cancelled("order:store:1", InvoiceStatus.CANCELLED, at)
    again = await invoices.record_cancelled(
        "order:store:1", InvoiceStatus.CANCELLED, at + timedelta(hours=1)
    )
    late = await invoices.record_cancelled(
        "order:store:1", InvoiceStatus.NEEDS_RETURN_INVOICE, at + timedelta(days=2)
    )

    assert cancelled is not None
    assert cancelled.status is InvoiceStatus.CANCELLED
    assert cancelled == again == late
    assert cancelled.cancelled_at == at
    assert await invoices.list_authorised() == []
    assert await invoices.record_cancelled("order:store:404", InvoiceStatus.CANCELLED, at) is None


async def test_an_orders_numbers_are_listed_with_their_voiding(sessionmaker) -> None:
    invoices, lifecycle = InvoiceRepository(sessionmaker), FiscalLifecycleRepository(sessionmaker)
    sold = await invoices.allocate_number("order:store:1", 1)
    await invoices.record_authorised(invoice("order:store:1", sold), "<nfeProc/>")
    unused = await invoices.allocate_number("order:store:1", 2)
    await lifecycle.give_up_number("order:store:1", 2, T0)
    await lifecycle.record_voided_at_sefaz("order:store:1", 2, "135240000000099", T0)

    held = await lifecycle.numbers_of("order:store:1")

    assert [(h.series, h.number, h.in_use) for h in held] == [(1, sold, True), (2, unused, False)]
    assert held[1].voided_at == held[1].sefaz_voided_at == T0
    assert held[1].voiding_protocol == "135240000000099"
    assert await lifecycle.numbers_of("order:store:404") == []
