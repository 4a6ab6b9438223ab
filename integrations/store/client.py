"""The own web store: its order shape translated to ours, and the channel-facing API
(stock levels, fulfilments, cancellations) behind a bearer token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.channels import CancelledNotice, ShippedNotice
from domain.cities import CityUnresolved, resolve_city_code
from domain.orders import UFS, Address, Channel, Customer, Order, OrderItem, PaymentStatus
from integrations.http import read_model, send
from integrations.webhooks import WebhookPayloadError, payload_error

PROVIDER = "store"
M = TypeVar("M", bound=BaseModel)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class StoreCustomerIn(_In):
    name: str
    cpf: str
    email: str | None = ""
    phone: str | None = ""


class StoreAddressIn(_In):
    street: str
    number: str
    complement: str | None = ""
    neighborhood: str
    city: str
    city_code: str | None = None
    state: str
    zipcode: str


class StoreItemIn(_In):
    sku: str
    quantity: int
    price: Decimal


class StorePaymentIn(_In):
    method: str = Field(default="pix", max_length=30)
    status: str = Field(default="pending", max_length=30)
    id: str | None = Field(default=None, max_length=100)


class StoreOrderIn(_In):
    """The store's order as it sends it (only the fields we use)."""

    id: str = Field(max_length=60)
    created_at: datetime
    status: str = Field(default="open", max_length=30)
    customer: StoreCustomerIn
    shipping_address: StoreAddressIn
    items: list[StoreItemIn] = Field(min_length=1)
    shipping_cost: Decimal = Decimal("0")
    total: Decimal
    payment: StorePaymentIn = Field(default_factory=StorePaymentIn)

    @field_validator("items")
    @classmethod
    def _one_line_per_sku(cls, items: list[StoreItemIn]) -> list[StoreItemIn]:
        skus = [i.sku for i in items]
        if len(skus) != len(set(skus)):
            raise ValueError("the same SKU appears on two lines")
        return items


def translate_store_order(
    data: Mapping[str, Any], *, what: str = "store order", field_prefix: str = ""
) -> Order:
    """The store's order JSON -> a domain Order (channel STORE). Raises
    WebhookPayloadError naming the store's own field (e.g. `shipping_address.zipcode`),
    after `field_prefix` when given (e.g. "data" inside a webhook envelope)."""

    def fail(exc: ValidationError, at: str = "", **rename: str) -> WebhookPayloadError:
        prefix = ".".join(p for p in (field_prefix, at) if p)
        return payload_error(exc, what=what, prefix=prefix, rename=rename)

    try:
        raw = StoreOrderIn.model_validate(data)
    except ValidationError as exc:
        raise fail(exc) from exc
    where = raw.shipping_address
    state, city_code = where.state.upper(), where.city_code
    if state in UFS and where.city.strip():
        try:
            city_code = resolve_city_code(state, where.city, where.city_code)
        except CityUnresolved as exc:
            field = ".".join(p for p in (field_prefix, "shipping_address", exc.field) if p)
            raise WebhookPayloadError(
                f"malformed {what} at {field}: {exc.message}", field=field
            ) from exc
    try:
        address = Address(
            street=where.street,
            number=where.number,
            complement=where.complement or "",
            district=where.neighborhood,
            city=where.city,
            state=state,
            postal_code=re.sub(r"\D", "", where.zipcode),
            **({"city_code": city_code} if city_code else {}),
        )
    except ValidationError as exc:
        raise fail(exc, "shipping_address", district="neighborhood", postal_code="zipcode") from exc
    who = raw.customer
    try:
        customer = Customer(
            name=who.name,
            cpf=who.cpf,
            email=who.email or "",
            phone=who.phone or "",
            address=address,
        )
    except ValidationError as exc:
        raise fail(exc, "customer") from exc
    items = []
    for n, line in enumerate(raw.items):
        try:
            items.append(OrderItem(sku=line.sku, quantity=line.quantity, unit_price=line.price))
        except ValidationError as exc:
            raise fail(exc, f"items.{n}", unit_price="price") from exc
    paid = raw.payment.status == "paid"
    try:
        return Order(
            channel=Channel.STORE,
            external_id=raw.id,
            placed_at=raw.created_at,
            customer=customer,
            items=tuple(items),
            shipping_price=raw.shipping_cost,
            total=raw.total,
            payment_status=PaymentStatus.APPROVED if paid else PaymentStatus.PENDING,
            payment_method=raw.payment.method,
            payment_id=raw.payment.id,
            channel_cancelled=raw.status == "cancelled",
        )
    except ValidationError as exc:
        # A model-level failure (empty location) is the totals check.
        raise fail(
            exc,
            **{"": "total", "external_id": "id", "placed_at": "created_at"},
            shipping_price="shipping_cost",
        ) from exc


class StockAck(_In):
    sku: str
    available: int


class OrderAck(_In):
    order_id: str


def _read(response: httpx.Response, model: type[M]) -> M:
    return read_model(response, model, PROVIDER)


class StoreClient:
    """The store's channel API. `base_url` is the store's root, e.g. `<sandbox>/store`."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        response = await send(
            self._http, PROVIDER, method, f"{self._base}{path}", headers=headers, **kwargs
        )
        return _read(response, model)

    async def push_stock(self, sku: str, available: int) -> None:
        """Set the absolute availability of `sku` (a repeat is harmless)."""
        await self._call(
            "PUT", f"/api/stock/{quote(sku, safe='')}", StockAck, json={"available": available}
        )

    async def notify_shipped(self, notice: ShippedNotice) -> None:
        """Create the order's fulfilment; the store ignores a repeat for the same order."""
        await self._call(
            "POST",
            f"/api/orders/{quote(notice.external_id, safe='')}/fulfillments",
            OrderAck,
            json={
                "tracking_code": notice.tracking_code,
                "carrier": notice.carrier,
                "invoice_key": notice.invoice_key,
            },
            headers={"Idempotency-Key": notice.idempotency_key},
        )

    async def notify_cancelled(self, notice: CancelledNotice) -> None:
        """Tell the store the order is cancelled; a repeat is a no-op."""
        await self._call(
            "POST",
            f"/api/orders/{quote(notice.external_id, safe='')}/cancellation",
            OrderAck,
            json={"reason": notice.reason},
            headers={"Idempotency-Key": notice.idempotency_key},
        )
