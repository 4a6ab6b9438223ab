"""Money is a Decimal quantized to cents, never a float."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

CENT = Decimal("0.01")


def cents(value: Decimal | int | str) -> Decimal:
    """Quantize to cents with banker's rounding; refuses floats to avoid binary noise."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal, int or str")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _to_cents(value: Decimal) -> Decimal:
    return cents(value)


Money = Annotated[Decimal, AfterValidator(_to_cents), PlainSerializer(str, return_type=str)]
