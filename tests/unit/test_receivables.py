"""Receivable rules: how a channel's terms split the gross, when the money is expected,
what a refund or a cancellation leaves owed. Money in Decimal: no cent is ever lost."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.orders import Channel
from domain.receivables import (
    ChannelTerms,
    OrderFacts,
    ReceivableStatus,
    business_day,
    charges,
    default_terms,
    receivable_for,
)

pytestmark = pytest.mark.unit

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
RATES = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.5"), places=4)
PAID = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


@given(gross=AMOUNTS, rate=RATES, fixed=AMOUNTS, freight=RATES)
def test_the_parts_of_a_sale_always_add_up_to_its_gross_to_the_cent(
    gross: Decimal, rate: Decimal, fixed: Decimal, freight: Decimal
) -> None:
    terms = ChannelTerms(
        commission_rate=rate, fixed_fee=fixed, fixed_fee_below=Decimal("79.00"),
        freight_rate=freight, freight_from=Decimal("79.00"),
    )  # fmt: skip
    split = charges(gross, terms)
    assert split.commission + split.fixed_fee + split.freight + split.net == gross
    assert split.net >= 0
    for part in (split.commission, split.fixed_fee, split.freight, split.net):
        assert part == part.quantize(Decimal("0.01"))


def test_a_marketplace_sale_below_the_threshold_pays_the_fixed_fee_and_no_freight() -> None:
    split = charges(Decimal("45.00"), default_terms()["marketplace"])
    assert (split.commission, split.fixed_fee, split.freight) == (
        Decimal("5.85"), Decimal("6.00"), Decimal("0.00"),
    )  # fmt: skip
    above = charges(Decimal("100.00"), default_terms()["marketplace"])
    assert (above.commission, above.fixed_fee, above.freight, above.net) == (
        Decimal("13.00"), Decimal("0.00"), Decimal("5.00"), Decimal("82.00"),
    )  # fmt: skip


def facts(**changes: object) -> OrderFacts:
    base: dict[str, object] = {
        "order_id": "order:store:A1", "channel": Channel.STORE, "external_id": "A1",
        "status": "paid", "total": Decimal("100.00"), "paid_at": PAID, "created_at": PAID,
    }  # fmt: skip
    return OrderFacts.model_validate(base | changes)


def test_an_unpaid_order_is_owed_nothing() -> None:
    assert receivable_for(facts(paid_at=None), default_terms()["store"], "UTC") is None


def test_a_marketplace_order_is_paid_on_arrival_and_owed_back_in_full_when_cancelled() -> None:
    terms = default_terms()["marketplace"]
    cancelled = facts(
        order_id="order:marketplace:9", channel=Channel.MARKETPLACE, external_id="9",
        status="cancelled", paid_at=None,
    )  # fmt: skip
    owed = receivable_for(cancelled, terms, "UTC")
    assert owed is not None
    assert owed.key == "marketplace:9"
    assert owed.refunded == owed.gross
    assert owed.status is ReceivableStatus.REFUNDED


def test_a_late_payment_that_was_refunded_is_still_a_receivable() -> None:
    late = facts(status="cancelled", paid_at=None, refunded=Decimal("100.00"), refunded_at=PAID)
    owed = receivable_for(late, default_terms()["store"], "UTC")
    assert owed is not None
    assert owed.expected_net == owed.net - Decimal("100.00")


def test_money_is_expected_n_days_after_payment_or_delivery_in_the_books_time_zone() -> None:
    terms = ChannelTerms(commission_rate=Decimal("0.1"), release_days=14)
    late_evening = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # 22:30 on the 1st in São Paulo
    owed = receivable_for(facts(paid_at=late_evening), terms, "America/Sao_Paulo")
    assert owed is not None
    assert owed.expected_release == date(2026, 12, 15)
    after = terms.model_copy(update={"release_after": "delivery"})
    delivered = datetime(2026, 12, 5, 12, tzinfo=UTC)
    owed = receivable_for(facts(delivered_at=delivered), after, "UTC")
    assert owed is not None
    assert owed.expected_release == date(2026, 12, 19)
    assert business_day(late_evening, "UTC") == date(2026, 12, 2)
