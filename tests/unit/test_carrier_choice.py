"""The shipping desk's choice of carrier (domain/carriers.py), as properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.carriers import choose_freight
from domain.errors import DomainError
from domain.freight import CarrierKind, FreightQuote
from domain.orders import Logistics

quote = st.builds(
    FreightQuote,
    service_id=st.integers(1, 50),
    carrier=st.sampled_from(["Correios", "Jadlog", "Expresso Serra"]),
    service=st.sampled_from(["PAC", "SEDEX", ".Package", "Rodoviario"]),
    price=st.decimals(min_value=Decimal("0"), max_value=Decimal("80"), places=0),
    delivery_days=st.integers(1, 12),
    error=st.one_of(st.none(), st.none(), st.just("Transportadora não atende este trecho.")),
    kind=st.sampled_from([CarrierKind.API, CarrierKind.PORTAL]),
    delivery_record=st.one_of(st.none(), st.sampled_from([0.5, 0.9, 0.99])),
)
quotes = st.lists(quote, max_size=7)
promise = st.one_of(st.none(), st.integers(1, 12))


def usable(offered: list[FreightQuote]) -> list[FreightQuote]:
    return [q for q in offered if q.error is None and q.price > 0]


@given(quotes, promise)
def test_marketplace_logistics_always_wins_and_buys_nothing(
    offered: list[FreightQuote], days: int | None
) -> None:
    choice = choose_freight(offered, logistics=Logistics.MARKETPLACE, promised_days=days)
    assert choice.kind is CarrierKind.MARKETPLACE
    assert choice.quote is None
    assert [r.quote for r in choice.rejected] == offered


@given(quotes, promise)
def test_the_cheapest_quote_meeting_the_promise_is_chosen(
    offered: list[FreightQuote], days: int | None
) -> None:
    ok = usable(offered)
    if not ok:
        with pytest.raises(DomainError) as refused:
            choose_freight(offered, promised_days=days)
        assert refused.value.code == "no_freight_service"
        return
    choice = choose_freight(offered, promised_days=days)
    assert choice.quote is not None
    assert choice.kind is choice.quote.kind
    within = [q for q in ok if days is None or q.delivery_days <= days]
    if within:
        assert choice.quote in within
        assert choice.quote.price == min(q.price for q in within)
    else:  # nobody meets it: the customer waits the least
        assert choice.quote.delivery_days == min(q.delivery_days for q in ok)


@given(quotes, promise)
def test_every_quote_is_either_chosen_or_rejected_with_a_reason(
    offered: list[FreightQuote], days: int | None
) -> None:
    if not usable(offered):
        return
    choice = choose_freight(offered, promised_days=days)
    assert len(choice.rejected) + 1 == len(offered)
    assert all(r.reason for r in choice.rejected)


@given(quotes, promise)
def test_the_choice_does_not_depend_on_the_order_quotes_arrive_in(
    offered: list[FreightQuote], days: int | None
) -> None:
    if not usable(offered):
        return
    forward = choose_freight(offered, promised_days=days).quote
    backward = choose_freight(list(reversed(offered)), promised_days=days).quote
    assert forward == backward


@given(quotes)
def test_a_price_tie_goes_to_the_better_delivery_record(offered: list[FreightQuote]) -> None:
    ok = usable(offered)
    if not ok:
        return
    choice = choose_freight(offered)
    assert choice.quote is not None
    best = min(q.price for q in ok)
    tied = [q for q in ok if q.price == best]
    record = max(-1.0 if q.delivery_record is None else q.delivery_record for q in tied)
    chosen = choice.quote.delivery_record
    assert (-1.0 if chosen is None else chosen) == record


def test_an_api_carrier_and_a_portal_carrier_compete_on_price() -> None:
    api = FreightQuote(
        service_id=3, carrier="Jadlog", service=".Package", price=Decimal("18.40"),
        delivery_days=4, kind=CarrierKind.API,
    )  # fmt: skip
    portal = FreightQuote(
        service_id=1, carrier="Expresso Serra", service="Rodoviario", price=Decimal("16.90"),
        delivery_days=5, kind=CarrierKind.PORTAL,
    )  # fmt: skip
    choice = choose_freight([api, portal])
    assert choice.kind is CarrierKind.PORTAL
    assert "cheapest" in choice.reason
    assert choose_freight([api, portal], promised_days=4).kind is CarrierKind.API
    [rejected] = choose_freight([api, portal], promised_days=4).rejected
    assert "later than the promised 4" in rejected.reason
