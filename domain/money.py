"""Money is a Decimal quantized to cents, never a float."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")  # what Numeric(12, 2) holds


def cents(value: Decimal | int | str) -> Decimal:
    """Quantize to cents with banker's rounding; refuses floats to avoid binary noise."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal, int or str")
    try:
        amount = Decimal(value)
        if not amount.is_finite():
            raise InvalidOperation
        amount = amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        raise ValueError(f"{value} is not an amount of money") from None
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"{value} is beyond the largest amount handled ({MAX_AMOUNT})")
    return amount


def _to_cents(value: Decimal) -> Decimal:
    return cents(value)


Money = Annotated[Decimal, AfterValidator(_to_cents), PlainSerializer(str, return_type=str)]
