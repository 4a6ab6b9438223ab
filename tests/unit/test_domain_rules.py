"""Pure business rules, with hypothesis where a property says more than an example."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.errors import DomainError, InvalidTransition
from domain.freight import FreightQuote, choose_quote, parcel_for
from domain.ids import order_workflow_id, parse_order_workflow_id
from domain.money import cents
from domain.orders import Channel, Order
from domain.saga import UNDO_ORDER, Compensation, undo_plan
from domain.warehouse import (
    WarehouseAction,
    WarehouseStep,
    check_differences,
    expected_step,
    validate_action,
)
from tests.workflows.world import make_order

pytestmark = pytest.mark.unit

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2)


@given(money)
def test_cents_keeps_two_places_and_never_changes_a_cent_value(value: Decimal) -> None:
    assert cents(value) == value
    assert cents(value).as_tuple().exponent == -2


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        cents(0.1)  # type: ignore[arg-type]


def test_order_whose_total_does_not_add_up_is_refused_with_both_figures() -> None:
    data = make_order().model_dump()
    data["total"] = Decimal("134.99")
    with pytest.raises(ValidationError) as refused:
        Order.model_validate(data)
    assert "total 134.99 does not match items plus shipping (135.00)" in str(refused.value)


def test_order_with_an_invalid_cpf_or_naive_time_is_refused() -> None:
    data = make_order().model_dump()
    data["customer"]["cpf"] = "123.456.789-00"
    with pytest.raises(ValidationError, match="not a valid CPF"):
        Order.model_validate(data)
    data = make_order().model_dump()
    data["placed_at"] = datetime(2026, 11, 27, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValidationError, match="timezone"):
        Order.model_validate(data)


@given(st.sampled_from(list(Channel)), st.from_regex(r"[A-Za-z0-9_.-]{1,30}", fullmatch=True))
def test_workflow_ids_round_trip(channel: Channel, external_id: str) -> None:
    assert parse_order_workflow_id(order_workflow_id(channel, external_id)) == (
        channel,
        external_id,
    )


quotes = st.lists(
    st.builds(
        FreightQuote,
        service_id=st.integers(1, 50),
        carrier=st.sampled_from(["Correios", "Jadlog"]),
        service=st.sampled_from(["PAC", "SEDEX", ".Package"]),
        price=st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=2),
        delivery_days=st.integers(1, 20),
        error=st.one_of(st.none(), st.just("Transportadora não atende este trecho.")),
    ),
    max_size=6,
)


@given(quotes)
def test_chosen_quote_is_the_cheapest_usable_one(offered: list[FreightQuote]) -> None:
    usable = [q for q in offered if q.error is None and q.price > 0]
    if not usable:
        with pytest.raises(DomainError) as refused:
            choose_quote(offered)
        for q in offered:
            if q.error:
                assert q.error in refused.value.message
        return
    chosen = choose_quote(offered)
    assert chosen in usable
    assert chosen.price == min(q.price for q in usable)


@given(quotes, st.integers(1, 20))
def test_deadline_is_met_when_any_service_meets_it(offered: list[FreightQuote], days: int) -> None:
    usable = [q for q in offered if q.error is None and q.price > 0]
    if any(q.delivery_days <= days for q in usable):
        assert choose_quote(offered, max_days=days).delivery_days <= days


items = st.lists(
    st.tuples(
        st.integers(1, 5),  # quantity
        st.integers(1, 5000),  # weight g
        st.integers(1, 40),  # h
        st.integers(1, 40),  # w
        st.integers(1, 60),  # l
    ),
    min_size=1,
    max_size=6,
)


@given(items)
def test_parcel_holds_every_item_and_weighs_what_they_weigh(
    lines: list[tuple[int, int, int, int, int]],
) -> None:
    parcel = parcel_for(lines, Decimal("10"))
    assert parcel.weight_g == sum(q * w for q, w, *_ in lines)
    box = parcel.height_cm * parcel.width_cm * parcel.length_cm
    volume = sum(q * h * w * ln for q, _, h, w, ln in lines)
    assert box >= volume or max(parcel.height_cm, parcel.width_cm, parcel.length_cm) == 100
    assert parcel.length_cm >= min(max(max(h, w, ln) for _, _, h, w, ln in lines), 100)


def test_a_typical_order_fits_a_box_the_post_office_accepts() -> None:
    # two pairs of trainers, a backpack and two books: stacked, this was a 30 kg cubic box
    parcel = parcel_for([(2, 900, 13, 22, 33), (1, 800, 12, 30, 45), (2, 600, 4, 20, 27)], cents(1))
    cubic_kg = parcel.height_cm * parcel.width_cm * parcel.length_cm / 6000
    assert cubic_kg < 10


@given(st.lists(st.sampled_from(list(Compensation))))
def test_undo_plan_runs_each_registered_undo_once_in_the_fixed_order(
    registered: list[Compensation],
) -> None:
    plan = undo_plan(registered)
    assert set(plan) == set(registered)
    assert len(plan) == len(set(plan))
    assert plan == [c for c in UNDO_ORDER if c in plan]


def test_cancel_pickup_comes_before_invoice_cancel_and_stock_before_refund() -> None:
    plan = undo_plan(list(Compensation))
    assert plan.index(Compensation.CANCEL_PICKUP) < plan.index(Compensation.CANCEL_INVOICE)
    assert plan.index(Compensation.RELEASE_STOCK) < plan.index(Compensation.REFUND)


def test_warehouse_steps_go_pick_pack_check() -> None:
    assert expected_step([]) is WarehouseStep.PICK
    assert expected_step([WarehouseStep.PICK]) is WarehouseStep.PACK
    assert expected_step(list(WarehouseStep)) is None
    with pytest.raises(InvalidTransition, match="next step is pick"):
        validate_action(WarehouseAction(step=WarehouseStep.CHECK, operator="ana"), [], {"A": 1})


@given(
    st.dictionaries(st.sampled_from("ABCDE"), st.integers(1, 5), min_size=1),
    st.dictionaries(st.sampled_from("ABCDEF"), st.integers(0, 5)),
)
def test_check_passes_exactly_when_the_scan_matches(
    expected: dict[str, int], scanned: dict[str, int]
) -> None:
    matches = {k: v for k, v in scanned.items() if v} == expected
    assert (check_differences(expected, scanned) == []) == matches


def test_check_names_every_difference() -> None:
    problems = check_differences({"A": 2, "B": 1}, {"A": 1, "C": 1})
    assert problems == ["A: expected 2, scanned 1", "B: expected 1, scanned 0",
                        "C is not in this order (1 scanned)"]  # fmt: skip


def test_times_in_fixtures_are_aware() -> None:
    assert make_order().placed_at.tzinfo is UTC


@pytest.mark.parametrize("value", ["1E+26", "NaN", "Infinity", "-1E+11"])
def test_amounts_out_of_range_are_refused_with_a_clear_message(value: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        cents(value)
