"""The order as every layer sees it, whatever channel it came from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.cities import CUF_BY_UF, find_city
from domain.formats import normalise_cpf, normalise_phone
from domain.money import Money, cents

UFS = frozenset(CUF_BY_UF)


class Channel(StrEnum):
    STORE = "store"
    MARKETPLACE = "marketplace"


class Logistics(StrEnum):
    """Who moves the parcel: the seller buys freight from a carrier, or the channel's own
    logistics is mandated (Mercado Envios: the marketplace sells the label)."""

    SELLER = "seller"
    MARKETPLACE = "marketplace"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"


class OrderStatus(StrEnum):
    RECEIVED = "received"
    RESERVED = "reserved"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    INVOICED = "invoiced"
    PICKING = "picking"
    PICKED = "picked"
    PACKED = "packed"
    CHECKED = "checked"
    DISPATCHING = "dispatching"  # the channel is being told; the parcel is leaving
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURNED = "returned"  # came back to the sender; its items are back in stock
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({OrderStatus.DELIVERED, OrderStatus.RETURNED, OrderStatus.CANCELLED})

# Until the parcel starts leaving, an order can be cancelled and its steps undone; from
# `dispatching` on, a cancellation is a return.
CANCELLABLE = frozenset(
    {
        OrderStatus.RECEIVED,
        OrderStatus.RESERVED,
        OrderStatus.AWAITING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.INVOICED,
        OrderStatus.PICKING,
        OrderStatus.PICKED,
        OrderStatus.PACKED,
        OrderStatus.CHECKED,
    }
)


def can_cancel(status: OrderStatus, *, order_known: bool = True) -> bool:
    """Whether a cancellation is still undone step by step (else it is a return). An
    order whose content never arrived can always be cancelled: nothing was done."""
    return status in CANCELLABLE or not order_known


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Frozen):
    street: str = Field(min_length=1, max_length=60)
    number: str = Field(min_length=1, max_length=60)
    complement: str = Field(default="", max_length=60)
    district: str = Field(min_length=1, max_length=60)
    city: str = Field(min_length=1, max_length=60)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str = Field(pattern=r"^\d{8}$", description="CEP, digits only")
    city_code: str = Field(
        default="",  # never kept: looked up from state and city, or the address is refused
        pattern=r"^\d{7}$",
        description="IBGE municipality code; found from state and city when not given",
    )

    @field_validator("state")
    @classmethod
    def _known_uf(cls, value: str) -> str:
        if value not in UFS:
            raise ValueError(f"{value!r} is not a Brazilian state (UF)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _city_code_from_the_name(cls, data: Any) -> Any:
        """An address without a code gets its city's code, never another city's: a name
        the state does not have is refused. A code that is given is kept as it is (its
        state is checked where channels' addresses come in, `resolve_city_code`), so
        addresses recorded before codes were looked up, with São Paulo's code for any
        city, still decode."""
        if not isinstance(data, dict) or data.get("city_code"):
            return data
        state, city = data.get("state"), data.get("city")
        if not (isinstance(state, str) and state in UFS and isinstance(city, str) and city):
            return data  # the fields' own errors say what is wrong
        found = find_city(state, city)
        if found is None:
            raise ValueError(
                f"city {city!r} not found in state {state} (IBGE list of municipalities): "
                "correct the city name or the state, or give its IBGE code"
            )
        return {**data, "city_code": found.code}


class Customer(Frozen):
    name: str = Field(min_length=2, max_length=60)
    cpf: str = Field(description="11 digits, check digits verified; masks accepted")
    email: str = Field(default="", max_length=60)
    phone: str = Field(
        default="",
        max_length=11,
        description="area code and number, digits only; masks, spaces and +55 accepted",
    )
    address: Address

    @field_validator("cpf", mode="before")
    @classmethod
    def _valid_cpf(cls, value: object) -> object:
        return normalise_cpf(value) if isinstance(value, str) else value

    @field_validator("phone", mode="before")
    @classmethod
    def _brazilian_phone(cls, value: object) -> object:
        return normalise_phone(value) if isinstance(value, str) else value


class OrderItem(Frozen):
    sku: str = Field(min_length=1, max_length=60)
    quantity: int = Field(gt=0, le=10_000)
    unit_price: Money = Field(ge=Decimal("0"))

    @property
    def subtotal(self) -> Decimal:
        return cents(self.unit_price * self.quantity)


class Order(Frozen):
    """A channel's order, normalised. Totals are checked: a channel that sends an
    inconsistent order is refused at intake, not discovered at invoicing."""

    channel: Channel
    external_id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    placed_at: datetime
    customer: Customer
    items: tuple[OrderItem, ...] = Field(min_length=1, max_length=200)
    shipping_price: Money = Field(default=Decimal("0"), ge=Decimal("0"))
    total: Money
    payment_status: PaymentStatus = PaymentStatus.PENDING
    payment_method: str = "pix"
    payment_id: str | None = None
    channel_cancelled: bool = Field(
        default=False, description="the channel reports this order as cancelled"
    )
    logistics: Logistics = Field(
        default=Logistics.SELLER, description="marketplace: the channel's logistics ships it"
    )
    channel_shipment_id: str | None = Field(
        default=None, max_length=60, description="the channel's shipment (its label, tracking)"
    )

    @field_validator("placed_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("placed_at must carry a timezone (UTC offset)")
        return value

    @model_validator(mode="after")
    def _totals_add_up(self) -> Order:
        expected = cents(sum((i.subtotal for i in self.items), Decimal("0")) + self.shipping_price)
        if expected != self.total:
            raise ValueError(f"total {self.total} does not match items plus shipping ({expected})")
        skus = [i.sku for i in self.items]
        if len(skus) != len(set(skus)):
            raise ValueError("the same SKU appears on two lines; merge them into one")
        return self

    @property
    def merchandise_total(self) -> Decimal:
        return cents(sum((i.subtotal for i in self.items), Decimal("0")))

    def quantities(self) -> dict[str, int]:
        return {i.sku: i.quantity for i in self.items}
