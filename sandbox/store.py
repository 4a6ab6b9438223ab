"""Sandbox provider: the seller's own web store (Nuvemshop/Shopify-like).

It pushes full orders to us as signed webhooks (`order.created`, `order.cancelled`) and
takes stock levels, fulfilments and cancellations back through a bearer-token API.

- Control (demo/tests, no faults): `POST /admin/orders`, `POST /admin/orders/{id}/cancel`,
  `GET /admin/orders/{id}`, `GET /admin/stock`.
- Channel API (bearer): `PUT /api/stock/{sku}`, `POST /api/orders/{id}/fulfillments`,
  `POST /api/orders/{id}/cancellation`.
"""

from __future__ import annotations

import hmac
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sandbox.core import SandboxState

PROVIDER = "store"


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


Price = Annotated[Decimal, AfterValidator(_two_places)]


class _Shape(BaseModel):
    # The outside world is lenient: it keeps fields it does not know about and does not
    # check CPFs or totals. Our intake is the one that must refuse bad orders.
    model_config = ConfigDict(extra="allow")


class StoreCustomer(_Shape):
    name: str
    cpf: str
    email: str = ""
    phone: str = ""


class StoreAddress(_Shape):
    street: str
    number: str
    complement: str = ""
    neighborhood: str
    city: str
    city_code: str | None = None
    state: str
    zipcode: str
    country: str = "BR"


class StoreItem(_Shape):
    sku: str
    name: str = ""
    quantity: int
    price: Price


class StorePayment(_Shape):
    method: str = "pix"
    status: Literal["pending", "paid"] = "pending"
    id: str | None = None


class StoreOrder(_Shape):
    id: str | None = None
    number: int | None = None
    created_at: datetime | None = None
    status: Literal["open", "cancelled"] = "open"
    customer: StoreCustomer
    shipping_address: StoreAddress
    items: list[StoreItem] = Field(min_length=1)
    shipping_cost: Price = Decimal("0.00")
    total: Price | None = None  # computed when absent; kept as sent when present
    currency: str = "BRL"
    payment: StorePayment = Field(default_factory=StorePayment)


class StockLevel(BaseModel):
    available: int = Field(ge=0)


class Fulfillment(BaseModel):
    tracking_code: str = Field(min_length=1)
    carrier: str = Field(min_length=1)
    invoice_key: str = Field(min_length=1)


class Cancellation(BaseModel):
    reason: str = ""


class CancelByStore(BaseModel):
    reason: str = "customer_request"


@dataclass
class StoreData:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    stock: dict[str, int] = field(default_factory=dict)
    fulfillments: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancellations: dict[str, dict[str, Any]] = field(default_factory=dict)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))


def _data(state: SandboxState) -> StoreData:
    data = state.data[PROVIDER].get("db")
    if not isinstance(data, StoreData):
        data = state.data[PROVIDER]["db"] = StoreData()
    return data


def bearer_check(state: SandboxState, provider: str) -> Any:
    """A dependency accepting only `Authorization: Bearer <config.api_tokens[provider]>`."""

    async def check(authorization: Annotated[str | None, Header()] = None) -> None:
        expected = state.config.api_tokens.get(provider)
        if not expected:
            raise HTTPException(
                401, f"the sandbox has no API token for {provider} (SandboxConfig.api_tokens)"
            )
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
            raise HTTPException(
                401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    return check


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    admin = APIRouter(prefix="/admin")
    api = APIRouter(prefix="/api", dependencies=[Depends(bearer_check(state, PROVIDER))])
    db = _data(state)

    def order_or_404(order_id: str) -> dict[str, Any]:
        order = db.orders.get(order_id)
        if order is None:
            raise HTTPException(404, f"order {order_id} not found")
        return order

    def notify(kind: str, order: dict[str, Any]) -> None:
        state.webhooks.send(
            PROVIDER,
            {
                "id": f"evt_{uuid.uuid4().hex[:24]}",
                "type": kind,
                "created_at": state.clock().isoformat(),
                "data": order,
            },
        )

    @admin.post("/orders", status_code=201)
    async def create_order(body: StoreOrder) -> dict[str, Any]:
        number = next(db.numbers)
        order_id = body.id or str(number)
        if order_id in db.orders:
            raise HTTPException(409, f"order {order_id} already exists")
        if body.total is None:
            merchandise = sum((i.price * i.quantity for i in body.items), Decimal("0"))
            body.total = _two_places(merchandise + body.shipping_cost)
        body.id, body.number = order_id, body.number or number
        body.created_at = body.created_at or state.clock()
        order = body.model_dump(mode="json")
        db.orders[order_id] = order
        state.ledger.record(PROVIDER, "order_created", order_id=order_id, total=order["total"])
        notify("order.created", order)
        return order

    @admin.post("/orders/{order_id}/cancel")
    async def cancel_order(order_id: str, body: CancelByStore | None = None) -> dict[str, Any]:
        order = order_or_404(order_id)
        if order["status"] != "cancelled":
            order["status"] = "cancelled"
            order["cancel_reason"] = (body or CancelByStore()).reason
            order["cancelled_at"] = state.clock().isoformat()
            state.ledger.record(PROVIDER, "order_cancelled", order_id=order_id)
            notify("order.cancelled", order)
        return order

    @admin.get("/orders/{order_id}")
    async def get_order(order_id: str) -> dict[str, Any]:
        return order_or_404(order_id)

    @admin.get("/stock")
    async def stock() -> dict[str, int]:
        return dict(db.stock)

    @api.put("/stock/{sku}")
    async def push_stock(sku: str, body: StockLevel) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        db.stock[sku] = body.available
        state.ledger.record(PROVIDER, "stock_pushed", sku=sku, available=body.available)
        state.faults.after(PROVIDER)
        return {"sku": sku, "available": body.available}

    @api.post("/orders/{order_id}/fulfillments", status_code=201)
    async def fulfil(order_id: str, body: Fulfillment) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        order = order_or_404(order_id)
        done = db.fulfillments.get(order_id)
        if done is None:
            done = {"order_id": order_id, **body.model_dump(), "created_at": state.clock()}
            db.fulfillments[order_id] = done
            order["fulfillment_status"] = "shipped"
            state.ledger.record(
                PROVIDER, "channel_notified_shipped", **body.model_dump(), order_id=order_id
            )
        state.faults.after(PROVIDER)
        return done

    @api.post("/orders/{order_id}/cancellation")
    async def cancellation(order_id: str, body: Cancellation) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        order = order_or_404(order_id)
        done = db.cancellations.get(order_id)
        if done is None:
            done = {"order_id": order_id, "reason": body.reason, "created_at": state.clock()}
            db.cancellations[order_id] = done
            order["status"] = "cancelled"
            state.ledger.record(
                PROVIDER, "channel_notified_cancelled", order_id=order_id, reason=body.reason
            )
        state.faults.after(PROVIDER)
        return done

    router.include_router(admin)
    router.include_router(api)
    return router
