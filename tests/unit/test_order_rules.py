"""The business rules the order workflow used to carry, now in domain/ (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fiscal import (
    MAX_REASON,
    MIN_REASON,
    cancellation_reason,
    invoice_lines,
    within_cancel_window,
)
from domain.freight import parcel_for, parcel_for_order
from domain.orders import CANCELLABLE, Channel, OrderStatus, can_cancel
from domain.saga import ALWAYS_UNDONE, UNDO_ORDER, Compensation, refund_due, undo_plan
from domain.stock import ProductInfo
from domain.warehouse import STATUS_AFTER, WarehouseStep
from tests.workflows.world import make_order

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LEAVING = {
    OrderStatus.DISPATCHING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.RETURNED,
}


@given(st.sampled_from(list(OrderStatus)), st.booleans())
def test_an_order_is_undone_step_by_step_until_its_parcel_starts_leaving(
    status: OrderStatus, known: bool
) -> None:
    if not known:
        assert can_cancel(status, order_known=False)  # nothing was done yet
    elif status in LEAVING or status in {OrderStatus.CANCELLING, OrderStatus.CANCELLED}:
        assert not can_cancel(status)
    else:
        assert can_cancel(status)
        assert status in CANCELLABLE


@given(st.booleans(), st.booleans(), st.sampled_from(list(Channel)), st.booleans())
def test_a_refund_is_owed_only_for_a_known_unrefunded_store_payment(
    paid: bool, known: bool, channel: Channel, refunded: bool
) -> None:
    owed = refund_due(paid=paid, payment_known=known, channel=channel, refunded=refunded)
    assert owed == (paid and known and channel is Channel.STORE and not refunded)


@given(st.text(max_size=600))
def test_the_sefaz_cancellation_reason_is_always_15_to_255_characters(reason: str) -> None:
    text = cancellation_reason(reason)
    assert MIN_REASON <= len(text) <= MAX_REASON
    assert text.startswith("Pedido cancelado:")
    assert "\n" not in text
    assert "  " not in text


@given(st.integers(0, 3 * 24 * 3600), st.integers(1, 2 * 24 * 3600))
def test_the_cancel_window_is_open_up_to_its_last_second(age_s: int, window_s: int) -> None:
    assert within_cancel_window(NOW, NOW + timedelta(seconds=age_s), window_s) == (
        age_s <= window_s
    )


@given(st.lists(st.sampled_from(list(Compensation))), st.booleans())
def test_the_undo_plan_runs_each_undo_once_in_the_fixed_order_with_the_keyed_ones(
    registered: list[Compensation], crash_safe: bool
) -> None:
    always = ALWAYS_UNDONE if crash_safe else frozenset()
    plan = undo_plan(registered, always=always)
    assert len(plan) == len(set(plan))
    assert plan == [c for c in UNDO_ORDER if c in plan]
    assert set(plan) == set(registered) | set(always)


def products(weight: int = 300) -> tuple[ProductInfo, ...]:
    return tuple(
        ProductInfo(sku=sku, name=f"Product {sku}", ncm="61091000", weight_g=weight,
                    height_cm=5, width_cm=20, length_cm=30)
        for sku in ("SKU-A", "SKU-B")
    )  # fmt: skip


def test_each_invoice_line_is_an_order_line_described_by_its_product() -> None:
    order = make_order()
    lines = invoice_lines(order, products())
    assert [(line.sku, line.quantity, line.unit_price) for line in lines] == [
        (i.sku, i.quantity, i.unit_price) for i in order.items
    ]
    assert {line.description for line in lines} == {"Product SKU-A", "Product SKU-B"}
    assert sum(line.unit_price * line.quantity for line in lines) == order.merchandise_total


def test_an_invoice_line_without_product_data_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no product data for SKU-B"):
        invoice_lines(make_order(), products()[:1])


@given(st.integers(1, 20_000))
def test_the_order_parcel_is_the_parcel_of_its_lines(weight: int) -> None:
    order = make_order()
    got = parcel_for_order(
        ((i.sku, i.quantity) for i in order.items), products(weight), Decimal("1")
    )
    assert got == parcel_for(((2, weight, 5, 20, 30), (1, weight, 5, 20, 30)), Decimal("1"))
    assert got.weight_g == 3 * weight


def test_each_warehouse_step_has_the_status_after_it() -> None:
    assert [STATUS_AFTER[s] for s in WarehouseStep] == [
        OrderStatus.PICKED, OrderStatus.PACKED, OrderStatus.CHECKED,
    ]  # fmt: skip
