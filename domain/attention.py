"""Needs attention: what failed, and what ops decided."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from domain.customer_fix import CustomerCorrection
from domain.orders import Frozen


class OpsAction(StrEnum):
    RETRY = "retry"
    SKIP = "skip"
    COMPENSATE = "compensate"
    RESHIP = "reship"  # a lost or damaged parcel: book a replacement for the same order
    RETURN_TO_STOCK = "return_to_stock"  # a returned parcel: its items back on hand


class StepFailure(Frozen):
    step: str
    error_type: str
    message: str
    attempts: int = 0
    at: datetime


class OpsDecision(Frozen):
    action: OpsAction
    actor: str = Field(min_length=1, max_length=60)
    reason: str = Field(default="", max_length=500)
    data: dict[str, Any] | None = Field(
        default=None, description="skip only: the step's result obtained by hand"
    )
    correction: CustomerCorrection | None = Field(
        default=None,
        description="retry only: the customer's address or CPF corrected by ops, used by "
        "the retried step and every step after it",
    )


class AttentionRecord(Frozen):
    """Written to the read model and audit when a step gets stuck or is decided."""

    order_id: str
    failure: StepFailure | None = None
    decision: OpsDecision | None = None
    at: datetime
