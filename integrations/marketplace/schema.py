"""The marketplace's order as its API returns it (Mercado Livre shape, only the fields we
use) and its translation to a domain Order."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.cities import CityUnresolved, resolve_city_code
from domain.errors import ProviderRejected
from domain.orders import (
    UFS,
    Address,
    Channel,
    Customer,
    Logistics,
    Order,
    OrderItem,
    PaymentStatus,
)

PROVIDER = "marketplace"


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class TokenOut(_In):
    access_token: str = Field(min_length=1)
    token_type: str = "bearer"
    expires_in: float = Field(gt=0)
    refresh_token: str | None = None


class SearchOut(_In):
    results: list[str]


class Named(_In):
    name: str


class StateRef(_In):
    id: str = Field(description='"BR-SP"')


class ReceiverAddress(_In):
    street_name: str
    street_number: str
    comment: str | None = None
    zip_code: str
    city: Named
    state: StateRef
    neighborhood: Named


class Shipping(_In):
    id: str | None = None
    receiver_address: ReceiverAddress
    mode: str | None = None  # "me2": Mercado Envios, the marketplace's own logistics
    logistic_type: str | None = None


class ShipmentOut(_In):
    """`GET /shipments/{id}`: where the marketplace's own logistics has the parcel."""

    id: str
    status: str
    substatus: str | None = None
    tracking_number: str | None = None
    last_updated: datetime | None = None


class BillingInfo(_In):
    doc_type: str
    doc_number: str


class Buyer(_In):
    id: str
    nickname: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    billing_info: BillingInfo


class ItemRef(_In):
    id: str
    title: str = ""
    seller_sku: str | None = None


class OrderLine(_In):
    item: ItemRef
    quantity: int
    unit_price: Decimal


class Payment(_In):
    id: str
    status: str
    payment_method_id: str | None = None
    total_paid_amount: Decimal | None = None
    shipping_cost: Decimal | None = None


class MLOrder(_In):
    id: str
    status: str
    date_created: datetime
    total_amount: Decimal = Field(description="items only; shipping is apart")
    shipping_cost: Decimal | None = None
    order_items: list[OrderLine] = Field(min_length=1)
    buyer: Buyer
    shipping: Shipping
    payments: list[Payment] = Field(default_factory=list)


# Where a domain validation failure comes from, in the marketplace's own field names.
ML_FIELDS = {
    ("Address", "street"): "shipping.receiver_address.street_name",
    ("Address", "number"): "shipping.receiver_address.street_number",
    ("Address", "complement"): "shipping.receiver_address.comment",
    ("Address", "district"): "shipping.receiver_address.neighborhood.name",
    ("Address", "city"): "shipping.receiver_address.city.name",
    ("Address", "city_code"): "shipping.receiver_address.city.name",  # looked up by name
    ("Address", "state"): "shipping.receiver_address.state.id",
    ("Address", "postal_code"): "shipping.receiver_address.zip_code",
    ("Customer", "name"): "buyer.first_name",
    ("Customer", "cpf"): "buyer.billing_info.doc_number",
    ("Customer", "email"): "buyer.email",
    ("Order", "external_id"): "id",
    ("Order", "placed_at"): "date_created",
    ("Order", "shipping_price"): "shipping_cost",
}


def translate_ml_order(raw: MLOrder) -> Order:
    """Mercado Livre order -> domain Order. Raises ProviderRejected naming the field when
    the order cannot be taken in (company buyer, listing without SKU, bad CPF...)."""

    def reject(why: str) -> ProviderRejected:
        return ProviderRejected(
            f"marketplace order {raw.id} cannot be taken in: {why}",
            provider=PROVIDER,
            code="invalid_order",
        )

    billing = raw.buyer.billing_info
    if billing.doc_type.upper() != "CPF":
        raise reject(
            f"buyer.billing_info.doc_type is {billing.doc_type}; only CPF buyers are handled"
        )
    lines = []
    for n, line in enumerate(raw.order_items):
        if not line.item.seller_sku:
            raise reject(f"order_items.{n}.item.seller_sku is empty (listing {line.item.id})")
        lines.append((line.item.seller_sku, line.quantity, line.unit_price))
    approved = [p for p in raw.payments if p.status == "approved"]
    shipping_cost = raw.shipping_cost
    if shipping_cost is None:
        shipping_cost = next((p.shipping_cost for p in raw.payments if p.shipping_cost), Decimal(0))
    payment = next(iter(approved or raw.payments), None)
    to = raw.shipping.receiver_address
    name = " ".join(p for p in (raw.buyer.first_name, raw.buyer.last_name) if p)
    state = to.state.id.removeprefix("BR-")
    city_code: dict[str, str] = {}
    if state in UFS and to.city.name.strip():
        # The marketplace sends the city's name only: its IBGE code is looked up here, so
        # an unknown name stops the order (ops: the buyer corrects the address) instead of
        # invoicing it with another city's code.
        try:
            city_code["city_code"] = resolve_city_code(state, to.city.name)
        except CityUnresolved as exc:
            raise reject(f"{ML_FIELDS[('Address', exc.field)]}: {exc.message}") from exc
    try:
        address = Address(
            street=to.street_name,
            number=to.street_number,
            complement=to.comment or "",
            district=to.neighborhood.name,
            city=to.city.name,
            state=state,
            postal_code=re.sub(r"\D", "", to.zip_code),
            **city_code,
        )
        customer = Customer(
            name=name or raw.buyer.nickname,
            cpf=billing.doc_number,
            email=raw.buyer.email or "",
            address=address,
        )
        return Order(
            channel=Channel.MARKETPLACE,
            external_id=raw.id,
            placed_at=raw.date_created,
            customer=customer,
            items=tuple(OrderItem(sku=s, quantity=q, unit_price=p) for s, q, p in lines),
            shipping_price=shipping_cost,
            total=raw.total_amount + shipping_cost,
            payment_status=(
                PaymentStatus.APPROVED
                if raw.status == "paid" or approved
                else PaymentStatus.PENDING
            ),
            payment_method=next(
                (p.payment_method_id for p in raw.payments if p.payment_method_id), "marketplace"
            ),
            payment_id=payment.id if payment else None,
            channel_cancelled=raw.status == "cancelled",
            logistics=Logistics.MARKETPLACE if raw.shipping.mode == "me2" else Logistics.SELLER,
            channel_shipment_id=raw.shipping.id,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(map(str, first["loc"]))
        where = ML_FIELDS.get((exc.title, field), field or "total_amount")
        problem = first["msg"].removeprefix("Value error, ")
        raise reject(f"{where}: {problem}") from exc
