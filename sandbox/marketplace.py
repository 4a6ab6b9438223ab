"""Sandbox provider: a marketplace shaped like Mercado Livre: OAuth2 with expiring access
tokens and single-use refresh tokens, thin notifications (`resource: /orders/<id>`) after
which the consumer fetches the order, stock per listing, invoice and tracking upload.
Control routes under /admin (no faults); the API routes need an OAuth bearer token."""

from __future__ import annotations

import hmac
import itertools
import json
import secrets
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from lxml import etree
from pydantic import BaseModel, Field

from sandbox.core import SandboxState
from sandbox.marketplace_shipping import add_routes, cancel_shipment, open_shipment
from sandbox.sefaz_xml import _N, _PARSER, NFE_NS, Rejection, find_text, standalone
from sandbox.sefaz_xml import verify_signature as verify_nfe_signature

PROVIDER = "marketplace"
SELLER_ID = 123456789
APPLICATION_ID = 5503910054141466
FISCAL_DOCUMENT_MAX_BYTES = 1024 * 1024  # the real limit: 1 MB per file
FISCAL_DOCUMENT_TYPES = frozenset({"application/xml", "text/xml"})


class MLError(Exception):
    """Rendered the way Mercado Livre renders errors: message, error, status, cause."""

    def __init__(self, status: int, message: str, error: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error = status, message, error


class MLRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def render_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except MLError as exc:
                body = {"message": exc.message, "error": exc.error, "status": exc.status}
                return JSONResponse({**body, "cause": []}, status_code=exc.status)

        return render_errors


class Listing(BaseModel):
    sku: str = Field(min_length=1)
    title: str = ""
    price: Decimal = Field(default=Decimal("100.00"), ge=0)
    available_quantity: int = Field(default=0, ge=0)


class QuantityUpdate(BaseModel):
    available_quantity: int = Field(ge=0)


class BuyerIn(BaseModel):
    first_name: str
    last_name: str
    cpf: str
    nickname: str = ""
    email: str = ""


class ItemIn(BaseModel):
    sku: str
    quantity: int = Field(gt=0)
    unit_price: Decimal | None = None


class ShippingIn(BaseModel):
    street_name: str
    street_number: str
    comment: str = ""
    neighborhood: str
    city: str
    state: str = Field(description="UF, e.g. SP")
    zip_code: str
    cost: Decimal = Decimal("0")
    mode: str = Field(default="custom", pattern="^(custom|me2)$", description="me2: Mercado Envios")


class OrderIn(BaseModel):
    buyer: BuyerIn
    items: list[ItemIn] = Field(min_length=1)
    shipping: ShippingIn
    id: str | None = None


class InvoiceIn(BaseModel):
    fiscal_key: str = Field(pattern=r"^\d{44}$")


class TrackingIn(BaseModel):
    tracking_number: str = Field(min_length=1)
    carrier: str = ""


@dataclass
class MarketplaceData:
    tokens: dict[str, datetime] = field(default_factory=dict)  # access token -> expiry
    refresh_tokens: set[str] = field(default_factory=set)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, str] = field(default_factory=dict)
    fiscal_documents: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # id, XML
    shipped: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancel_acks: set[str] = field(default_factory=set)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _data(state: SandboxState) -> MarketplaceData:
    data = state.data[PROVIDER].get("db")
    if not isinstance(data, MarketplaceData):
        data = state.data[PROVIDER]["db"] = MarketplaceData()
    return data


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))  # the real API sends JSON numbers


def build_router(state: SandboxState) -> APIRouter:
    db = _data(state)

    async def bearer(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        expiry = db.tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None:
            raise MLError(401, "invalid_token", "not_found")
        if state.clock() >= expiry:
            raise MLError(401, "invalid_token", "expired_token")

    router = APIRouter(route_class=MLRoute)
    admin = APIRouter(prefix="/admin", route_class=MLRoute)
    api = APIRouter(route_class=MLRoute, dependencies=[Depends(bearer)])

    def order_or_404(order_id: str) -> dict[str, Any]:
        order = db.orders.get(order_id)
        if order is None:
            raise MLError(404, f"Order {order_id} not found", "not_found")
        return order

    def notify(order_id: str) -> None:
        now = state.clock().isoformat()
        state.webhooks.send(
            PROVIDER,
            {
                "_id": str(uuid.uuid4()),
                "resource": f"/orders/{order_id}",
                "user_id": SELLER_ID,
                "topic": "orders_v2",
                "application_id": APPLICATION_ID,
                "attempts": 1,
                "sent": now,
                "received": now,
            },
        )

    def listing_for(sku: str, title: str = "", price: Decimal | None = None) -> dict[str, Any]:
        for item in db.items.values():
            if item["seller_sku"] == sku:
                return item
        item_id = f"MLB{3_000_000_000 + next(db.seq)}"
        price = price if price is not None else Decimal("100.00")
        item = {"id": item_id, "seller_sku": sku, "title": title or sku, "price": price}
        db.items[item_id] = item | {"available_quantity": 0, "status": "active"}
        return db.items[item_id]

    @router.post("/oauth/token")
    async def token(request: Request) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        if request.headers.get("content-type", "").startswith("application/json"):
            form: dict[str, Any] = json.loads(await request.body() or b"{}")
        else:
            form = dict(await request.form())
        sent = f"{form.get('client_id')}:{form.get('client_secret')}"
        cfg = state.config
        if not hmac.compare_digest(
            sent, f"{cfg.marketplace_client_id}:{cfg.marketplace_client_secret}"
        ):
            raise MLError(401, "invalid client_id or client_secret", "invalid_client")
        grant = form.get("grant_type")
        if grant == "refresh_token":
            refresh = str(form.get("refresh_token", ""))
            if refresh not in db.refresh_tokens:
                raise MLError(400, "refresh token expired or already used", "invalid_grant")
            db.refresh_tokens.discard(refresh)  # single use, like the real one
        elif grant != "client_credentials":
            raise MLError(400, f"unsupported grant_type {grant!r}", "unsupported_grant_type")
        access = f"APP_USR-{APPLICATION_ID}-{secrets.token_hex(12)}-{SELLER_ID}"
        refresh = f"TG-{secrets.token_hex(16)}-{SELLER_ID}"
        ttl = state.config.marketplace_token_ttl_s
        db.tokens[access] = state.clock() + timedelta(seconds=ttl)
        db.refresh_tokens.add(refresh)
        state.faults.after(PROVIDER)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
            "user_id": SELLER_ID,
            "refresh_token": refresh,
        }

    @admin.post("/listings", status_code=201)
    async def create_listing(body: Listing) -> dict[str, Any]:
        item = listing_for(body.sku, body.title, body.price)
        item["available_quantity"] = body.available_quantity or item["available_quantity"]
        return {"item_id": item["id"]}

    @admin.get("/stock")
    async def stock() -> dict[str, int]:
        return {i["seller_sku"]: i["available_quantity"] for i in db.items.values()}

    @admin.post("/orders", status_code=201)
    async def create_order(body: OrderIn) -> dict[str, Any]:
        order_id = body.id or str(2_000_000_000 + next(db.seq))
        if order_id in db.orders:
            raise MLError(409, f"Order {order_id} already exists", "conflict")
        lines, total = [], Decimal("0")
        for line in body.items:
            item = listing_for(line.sku, price=line.unit_price)
            price = line.unit_price if line.unit_price is not None else item["price"]
            total += price * line.quantity
            lines.append(
                {
                    "item": {"id": item["id"], "title": item["title"], "seller_sku": line.sku},
                    "quantity": line.quantity,
                    "unit_price": _money(price),
                }
            )
        ship, now = body.shipping, state.clock().isoformat()
        paid = total + ship.cost
        buyer_id = 400_000_000 + next(db.seq)
        order = {
            "id": order_id,
            "status": "paid",
            "date_created": now,
            "currency_id": "BRL",
            "total_amount": _money(total),
            "paid_amount": _money(paid),
            "shipping_cost": _money(ship.cost),
            "order_items": lines,
            "buyer": {
                "id": buyer_id,
                "nickname": body.buyer.nickname or f"COMPRADOR{buyer_id}",
                "first_name": body.buyer.first_name,
                "last_name": body.buyer.last_name,
                "email": body.buyer.email,
                "billing_info": {"doc_type": "CPF", "doc_number": body.buyer.cpf},
            },
            "shipping": {
                "id": 40_000_000_000 + next(db.seq),
                "receiver_address": {
                    "street_name": ship.street_name,
                    "street_number": ship.street_number,
                    "comment": ship.comment,
                    "zip_code": ship.zip_code,
                    "city": {"name": ship.city},
                    "state": {"id": f"BR-{ship.state}", "name": ship.state},
                    "neighborhood": {"name": ship.neighborhood},
                },
            },
            "payments": [
                {
                    "id": 80_000_000_000 + next(db.seq),
                    "status": "approved",
                    "payment_method_id": "pix",
                    "transaction_amount": _money(total),
                    "shipping_cost": _money(ship.cost),
                    "total_paid_amount": _money(paid),
                    "date_approved": now,
                }
            ],
            "tags": ["paid"],
        }
        open_shipment(state, order, ship.mode)
        db.orders[order_id] = order
        state.ledger.record(PROVIDER, "order_created", order_id=order_id, total=str(paid))
        notify(order_id)
        return order

    @admin.post("/orders/{order_id}/cancel")
    async def cancel_order(order_id: str) -> dict[str, Any]:
        order = order_or_404(order_id)
        if order["status"] != "cancelled":
            order["status"] = "cancelled"
            cancel_shipment(state, order)
            order["date_cancelled"] = state.clock().isoformat()
            state.ledger.record(PROVIDER, "order_cancelled", order_id=order_id)
            notify(order_id)
        return order

    @api.get("/users/{user_id}/items/search")
    async def search_items(user_id: str, seller_sku: str = "") -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        found = [i["id"] for i in db.items.values() if i["seller_sku"] == seller_sku]
        return {
            "seller_id": str(SELLER_ID),
            "results": found,
            "paging": {"limit": 50, "offset": 0, "total": len(found)},
        }

    @api.put("/items/{item_id}")
    async def update_item(item_id: str, body: QuantityUpdate) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        item = db.items.get(item_id)
        if item is None:
            raise MLError(404, f"Item with id {item_id} not found", "not_found")
        item["available_quantity"] = body.available_quantity
        state.ledger.record(
            PROVIDER,
            "stock_pushed",
            sku=item["seller_sku"],
            available=body.available_quantity,
            item_id=item_id,
        )
        state.faults.after(PROVIDER)
        return item

    @api.get("/orders/{order_id}")
    async def get_order(order_id: str) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        return order_or_404(order_id)

    @api.post("/orders/{order_id}/invoice", status_code=201)
    async def upload_invoice(order_id: str, body: InvoiceIn) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        order_or_404(order_id)
        known = db.invoices.get(order_id)
        if known is not None and known != body.fiscal_key:
            raise MLError(409, f"Order {order_id} already has invoice {known}", "conflict")
        if known is None:
            db.invoices[order_id] = body.fiscal_key
            state.ledger.record(
                PROVIDER, "invoice_uploaded", order_id=order_id, fiscal_key=body.fiscal_key
            )
        state.faults.after(PROVIDER)
        return {"order_id": order_id, "fiscal_key": body.fiscal_key, "status": "processed"}

    @api.post("/packs/{pack_id}/fiscal_documents", status_code=201)
    async def upload_fiscal_document(pack_id: str, fiscal_document: UploadFile) -> Any:
        """The NF-e's XML for a pack (an order without a pack: its order id). Checked
        before it is taken: an authorised procNFe, signed, for this order's buyer. The
        same NF-e again answers with the same id; another NF-e for the pack is refused."""
        await state.faults.before(PROVIDER)
        order = order_or_404(pack_id)
        content_type = (fiscal_document.content_type or "").split(";")[0].strip()
        if content_type not in FISCAL_DOCUMENT_TYPES:
            raise MLError(400, f"fiscal_document must be XML, not {content_type!r}", "bad_request")
        data = await fiscal_document.read(FISCAL_DOCUMENT_MAX_BYTES + 1)
        if len(data) > FISCAL_DOCUMENT_MAX_BYTES:
            raise MLError(400, "fiscal_document is larger than 1 MB", "bad_request")
        key = _authorised_nfe_key(data, order["buyer"]["billing_info"]["doc_number"])
        known = db.invoices.get(pack_id)
        if known is not None and known != key:
            raise MLError(409, f"Pack {pack_id} already has fiscal document {known}", "conflict")
        stored = db.fiscal_documents.get(pack_id)
        if stored is None:
            stored = (f"{SELLER_ID}_{uuid.uuid4()}", data)
            db.fiscal_documents[pack_id], db.invoices[pack_id] = stored, key
            state.ledger.record(
                PROVIDER, "invoice_uploaded", order_id=pack_id, fiscal_key=key, document="xml"
            )
        state.faults.after(PROVIDER)
        return JSONResponse({"ids": [stored[0]]}, status_code=200 if known else 201)

    @api.post("/shipments/{order_id}/tracking")
    async def tracking(order_id: str, body: TrackingIn) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        order = order_or_404(order_id)
        done = db.shipped.get(order_id)
        if done is None:
            done = {"order_id": order_id, "status": "shipped", **body.model_dump()}
            db.shipped[order_id] = done
            order["shipping"]["status"] = "shipped"
            order["shipping"]["tracking_number"] = body.tracking_number
            state.ledger.record(
                PROVIDER, "channel_notified_shipped", order_id=order_id, **body.model_dump()
            )
        state.faults.after(PROVIDER)
        return done

    @api.post("/orders/{order_id}/cancellation_ack")
    async def cancellation_ack(order_id: str) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        order = order_or_404(order_id)
        if order_id not in db.cancel_acks:
            db.cancel_acks.add(order_id)
            order["status"] = "cancelled"  # a seller-side cancellation cancels it too
            order.setdefault("date_cancelled", state.clock().isoformat())
            state.ledger.record(PROVIDER, "channel_notified_cancelled", order_id=order_id)
        state.faults.after(PROVIDER)
        return {"order_id": order_id, "status": order["status"]}

    add_routes(api, admin, state, MLError)
    router.include_router(admin)
    router.include_router(api)
    return router


def _authorised_nfe_key(data: bytes, buyer_document: str) -> str:
    """The access key of `data` when it is an authorised nfeProc, signed, whose recipient
    is the buyer; else the 400 the marketplace answers."""

    def refused(reason: str) -> MLError:
        return MLError(400, f"fiscal_document is not this order's NF-e: {reason}", "bad_request")

    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise refused(f"not well-formed XML ({exc})") from None
    nfe = root.find("n:NFe", _N)
    if root.tag != f"{{{NFE_NS}}}nfeProc" or nfe is None:
        raise refused(f"expected an nfeProc with its NFe, got {root.tag}")
    info = nfe.find("n:infNFe", _N)
    key = (info.get("Id") or "").removeprefix("NFe") if info is not None else ""
    if find_text(root, "n:protNFe/n:infProt/n:cStat") != "100":
        raise refused("its protNFe is not an authorisation (cStat 100)")
    if find_text(root, "n:protNFe/n:infProt/n:chNFe") != key or len(key) != 44:
        raise refused("the protNFe is for another access key")
    if find_text(nfe, "n:infNFe/n:dest/n:CPF") != buyer_document:
        raise refused("its recipient (dest/CPF) is not the buyer")
    try:
        verify_nfe_signature(standalone(nfe), f"NFe{key}", find_text(nfe, "n:infNFe/n:emit/n:CNPJ"))
    except Rejection as exc:
        raise refused(exc.reason) from None
    return key
