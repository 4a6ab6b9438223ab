"""Payment contracts."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from domain.money import Money
from domain.orders import Frozen


class RefundRequest(Frozen):
    order_id: str
    idempotency_key: str
    payment_id: str
    amount: Money = Field(gt=Decimal("0"))


class Refund(Frozen):
    refund_id: str
    payment_id: str
    amount: Money
    status: str
