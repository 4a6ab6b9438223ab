"""Cash flow and contribution margin: pure rules, Decimal, cents never lost."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.cashflow import CashMove, MoveKind, project
from domain.margin import LineFacts, OrderCosts, allocate, order_margin

money = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2)
positive = st.decimals(min_value=Decimal("0"), max_value=Decimal("9999.99"), places=2)
weights = st.lists(positive, min_size=1, max_size=12)
START = date(2026, 12, 1)


@given(money, weights)
def test_allocation_adds_up_to_the_cent(total: Decimal, parts: list[Decimal]) -> None:
    shares = allocate(total, parts)

    assert sum(shares, Decimal("0")) == total
    assert all(s == s.quantize(Decimal("0.01")) for s in shares)
    assert all((s >= 0) if total >= 0 else (s <= 0) for s in shares)


@given(positive, weights)
def test_allocation_follows_the_weights_within_a_cent(total: Decimal, parts: list[Decimal]) -> None:
    shares = allocate(total, parts)
    whole = sum(parts) or Decimal(len(parts))
    used = parts if sum(parts) else [Decimal(1)] * len(parts)
    for share, weight in zip(shares, used, strict=True):
        assert abs(share - total * weight / whole) < Decimal("0.01")


def test_a_zero_weight_line_gets_nothing_while_others_weigh() -> None:
    assert allocate(Decimal("10.00"), [Decimal("0"), Decimal("5"), Decimal("5")]) == [
        Decimal("0.00"), Decimal("5.00"), Decimal("5.00"),
    ]  # fmt: skip


lines = st.lists(
    st.builds(
        LineFacts,
        sku=st.sampled_from(["MUG-1", "TEE-2", "CAP-3"]),
        supplier=st.sampled_from(["", "Acme", "Bravo"]),
        quantity=st.integers(1, 20),
        price=positive,
        unit_cost=positive,
        taxes=positive,
    ),
    min_size=1,
    max_size=8,
)


@given(lines, positive, money, positive)
def test_an_orders_margin_is_price_less_every_cost_to_the_cent(
    facts: list[LineFacts], commission: Decimal, freight: Decimal, returned: Decimal
) -> None:
    costs = OrderCosts(commission=commission, freight=freight, returned=returned)
    out = order_margin("order:store:1", "store", facts, costs)
    price = sum((f.price for f in facts), Decimal("0"))
    kept = price - min(returned, price)

    assert sum(m.commission for m in out) == commission
    assert sum(m.freight for m in out) == freight
    assert sum(m.price for m in out) == kept
    total = sum(m.margin for m in out)
    cost = sum(f.unit_cost * f.quantity for f in facts)
    taxes = sum(f.taxes for f in facts)
    assert total == kept - cost - commission - freight - taxes
    for m in out:
        assert m.margin == m.price - m.cost - m.commission - m.freight - m.taxes


def test_margin_of_a_two_line_order() -> None:
    out = order_margin(
        "order:marketplace:9", "marketplace",
        [
            LineFacts(sku="MUG-1", supplier="Acme", quantity=2, price=Decimal("60.00"),
                      unit_cost=Decimal("12.00"), taxes=Decimal("10.80")),
            LineFacts(sku="CAP-3", supplier="Bravo", quantity=1, price=Decimal("40.00"),
                      unit_cost=Decimal("15.00"), taxes=Decimal("7.20")),
        ],
        OrderCosts(commission=Decimal("13.00"), freight=Decimal("5.00")),
    )  # fmt: skip
    mug, cap = out
    assert (mug.commission, cap.commission) == (Decimal("7.80"), Decimal("5.20"))
    assert (mug.freight, cap.freight) == (Decimal("3.00"), Decimal("2.00"))
    assert mug.margin == Decimal("60.00") - 24 - Decimal("7.80") - 3 - Decimal("10.80")
    assert cap.margin == Decimal("40.00") - 15 - Decimal("5.20") - 2 - Decimal("7.20")


moves = st.lists(
    st.builds(
        CashMove,
        on=st.dates(START - timedelta(days=10), START + timedelta(days=40)),
        kind=st.sampled_from(list(MoveKind)),
        amount=money,
    ),
    max_size=40,
)


@given(money, st.integers(1, 30), moves)
def test_the_projection_keeps_every_cent_inside_the_horizon(
    position: Decimal, horizon: int, ms: list[CashMove]
) -> None:
    flow = project(position, START, horizon, ms)
    end = START + timedelta(days=horizon - 1)
    inside = [m for m in ms if m.on <= end]

    assert len(flow.days) == horizon
    assert flow.closing == position + sum((m.amount for m in inside), Decimal("0"))
    assert flow.beyond == len(ms) - len(inside)
    assert sum(d.moves for d in flow.days) == len(inside)
    balance = position
    for day in flow.days:
        balance += day.inflow - day.outflow
        assert day.closing == balance
        assert day.inflow >= 0
        assert day.outflow >= 0
    overdue = [m for m in ms if m.on < START]
    assert flow.overdue_in - flow.overdue_out == sum((m.amount for m in overdue), Decimal("0"))


def test_overdue_moves_land_on_the_first_day_and_are_shown_apart() -> None:
    flow = project(
        Decimal("100.00"), START, 3,
        [
            CashMove(on=START - timedelta(days=2), kind=MoveKind.RECEIVABLE, amount=Decimal("50")),
            CashMove(on=START + timedelta(days=1), kind=MoveKind.PAYABLE, amount=Decimal("-80")),
            CashMove(on=START + timedelta(days=9), kind=MoveKind.PAYABLE, amount=Decimal("-1")),
        ],
    )  # fmt: skip
    assert [d.closing for d in flow.days] == [Decimal("150"), Decimal("70"), Decimal("70")]
    assert (flow.overdue_in, flow.overdue_out, flow.beyond) == (Decimal("50"), Decimal("0"), 1)
    assert flow.lowest is not None
    assert flow.lowest.day == START + timedelta(days=1)
