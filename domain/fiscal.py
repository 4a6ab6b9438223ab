"""NF-e contracts and the access-key arithmetic (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from domain.cities import CUF_BY_UF as CUF_BY_UF  # re-exported: the access key uses it
from domain.money import Money
from domain.orders import Address, Frozen, Order
from domain.stock import ProductInfo


class InvoiceStatus(StrEnum):
    AUTHORISED = "authorised"
    CANCELLED = "cancelled"
    NEEDS_RETURN_INVOICE = "needs_return_invoice"
    RETURNED = "returned"  # undone by a return NF-e (finNFe 4) past the window
    NOT_AUTHORISED = "not_authorised"  # a cancellation found nothing authorised to cancel


class Issuer(Frozen):
    """The seller as NF-e issuer (emitente)."""

    cnpj: str = Field(pattern=r"^\d{14}$")
    name: str
    trade_name: str = ""
    ie: str = Field(description="inscrição estadual")
    crt: str = Field(default="3", pattern=r"^[1-4]$")
    address: Address
    series: int = Field(default=1, ge=0, le=999)
    environment: int = Field(default=2, ge=1, le=2, description="tpAmb: 1 prod, 2 homolog")


class InvoiceLine(Frozen):
    sku: str
    description: str
    ncm: str = Field(pattern=r"^\d{8}$")
    cfop: str = Field(default="5102", pattern=r"^\d{4}$")
    quantity: int = Field(gt=0)
    unit_price: Money
    origin: str = Field(default="0", pattern=r"^[0-8]$", description="orig: 0 national")
    gtin: str = Field(default="", description="cEAN when valid, else SEM GTIN")
    weight_g: int = Field(default=0, ge=0, description="net weight of one unit")


class InvoiceRequest(Frozen):
    order_id: str
    order: Order
    lines: tuple[InvoiceLine, ...] = Field(min_length=1)
    number: int = Field(ge=1, le=999_999_999)
    series: int = Field(ge=0, le=999)
    issued_at: datetime
    idempotency_key: str


class Invoice(Frozen):
    order_id: str
    access_key: str = Field(pattern=r"^\d{44}$")
    number: int
    series: int
    protocol: str
    authorised_at: datetime
    status: InvoiceStatus = InvoiceStatus.AUTHORISED


class InvoiceCancellationRequest(Frozen):
    """Cancel the order's NF-e. Either the invoice is known (`access_key`, `protocol`,
    `authorised_at`), or only its emission was asked for and its outcome never came
    back (`emission`): then SEFAZ is consulted by the emission's access key, and an NF-e
    found there is cancelled (or flagged for a return invoice past `window_s`)."""

    order_id: str
    access_key: str | None = Field(default=None, pattern=r"^\d{44}$")
    protocol: str | None = None
    reason: str = Field(min_length=15, max_length=255)
    authorised_at: datetime | None = None
    requested_at: datetime
    emission: InvoiceRequest | None = None
    window_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _known_or_asked(self) -> InvoiceCancellationRequest:
        if self.access_key is None and self.emission is None:
            raise ValueError("a cancellation needs the NF-e's access key or its emission")
        return self


class InvoiceNumberVoid(Frozen):
    """Give up the NF-e number allocated to an order that will never use it (kept, never
    reused, marked void; a number whose NF-e was authorised is not touched)."""

    order_id: str
    series: int = Field(default=1, ge=0, le=999)
    at: datetime


class InvoiceCancellation(Frozen):
    access_key: str
    status: InvoiceStatus
    protocol: str | None = None
    message: str = ""


def mod11_check_digit(digits: str) -> str:
    """The NF-e access key check digit: weights 2..9 from the right, mod 11."""
    if not digits.isdigit():
        raise ValueError("check digit needs digits only")
    total, weight = 0, 2
    for ch in reversed(digits):
        total += int(ch) * weight
        weight = 2 if weight == 9 else weight + 1
    rest = total % 11
    return "0" if rest in (0, 1) else str(11 - rest)


def numeric_code(order_id: str, number: int) -> str:
    """cNF: 8 digits derived from the order, stable across retries, never equal to nNF."""
    seed = int(hashlib.sha256(order_id.encode()).hexdigest(), 16)
    code = seed % 100_000_000
    if code == number % 100_000_000:
        code = (code + 1) % 100_000_000
    return f"{code:08d}"


def access_key(
    *,
    uf: str,
    issued_at: datetime,
    cnpj: str,
    series: int,
    number: int,
    cnf: str,
    model: str = "55",
    emission_type: str = "1",
) -> str:
    """The 44-digit chNFe: cUF AAMM CNPJ mod série nNF tpEmis cNF cDV."""
    body = (
        f"{CUF_BY_UF[uf]}{issued_at:%y%m}{cnpj:0>14}{model}{series:03d}"
        f"{number:09d}{emission_type}{cnf}"
    )
    if len(body) != 43:
        raise ValueError(f"access key body has {len(body)} digits, expected 43")
    return body + mod11_check_digit(body)


def is_valid_access_key(key: str) -> bool:
    return len(key) == 44 and key.isdigit() and mod11_check_digit(key[:43]) == key[43]


CANCELLATION_PREFIX = "Pedido cancelado: "
MIN_REASON, MAX_REASON = 15, 255


def cancellation_reason(reason: str) -> str:
    """The xJust of a cancellation event: 15 to 255 characters (SEFAZ refuses others),
    always saying the order was cancelled."""
    text = " ".join((CANCELLATION_PREFIX + (reason.strip() or "cancelamento")).split())
    return text[:MAX_REASON].ljust(MIN_REASON, ".")


def within_cancel_window(authorised_at: datetime, now: datetime, window_s: float) -> bool:
    """SEFAZ cancels an NF-e only within its window after authorisation (24 h for the
    NF-e); past it the goods need a return invoice instead."""
    return (now - authorised_at).total_seconds() <= window_s


def invoice_lines(order: Order, products: Iterable[ProductInfo]) -> tuple[InvoiceLine, ...]:
    """One NF-e line per order line, described by the product the order reserved."""
    by_sku = {p.sku: p for p in products}
    missing = [item.sku for item in order.items if item.sku not in by_sku]
    if missing:
        raise ValueError(f"no product data for {', '.join(missing)}: cannot describe the NF-e")
    return tuple(
        InvoiceLine(
            sku=item.sku,
            description=by_sku[item.sku].name,
            ncm=by_sku[item.sku].ncm,
            quantity=item.quantity,
            unit_price=item.unit_price,
            origin=by_sku[item.sku].origin,
            gtin=by_sku[item.sku].gtin,
            weight_g=by_sku[item.sku].weight_g,
        )
        for item in order.items
    )
