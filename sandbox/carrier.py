"""Sandbox provider: a freight hub shaped like Melhor Envio. Quotes derive from the CEP
distance and the weight; labels go cart -> checkout -> generate -> print; after generate
the parcel moves through tracking states every `carrier_step_s` seconds, each announced by
a signed webhook. Control routes under /admin (no faults); API under /api/v2/me (bearer)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox.carrier_auth import MEError, MERoute
from sandbox.carrier_auth import add_routes as add_auth_routes
from sandbox.core import SandboxState

PROVIDER = "carrier"
CENT = Decimal("0.01")
TRACKING_STEPS = ("posted", "in_transit", "out_for_delivery", "delivered")
POSTED = frozenset(TRACKING_STEPS)  # the parcel is with the carrier: no cancelling
# id, name, company (id, name), base price, per region gap, per kg, base days, max kg, max gap
SERVICES = (
    (1, "PAC", (1, "Correios"), "12.00", "2.50", "3.00", 3, 30, 10),
    (2, "SEDEX", (1, "Correios"), "18.00", "4.00", "6.00", 1, 30, 10),
    (3, ".Package", (2, "Jadlog"), "10.00", "3.00", "2.50", 2, 20, 4),
)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Place(_Lenient):
    postal_code: str = Field(pattern=r"^\d{8}$")


class Volume(_Lenient):
    height: float = Field(gt=0)
    width: float = Field(gt=0)
    length: float = Field(gt=0)
    weight: float = Field(gt=0, description="kg")
    insurance_value: float = 0
    quantity: int = 1


class CalculateIn(_Lenient):
    from_: Place = Field(alias="from")
    to: Place
    package: Volume | None = None
    products: list[Volume] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    services: str | None = None


class Product(_Lenient):
    name: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    unitary_value: float = Field(ge=0)


class CartPlace(Place):
    name: str = Field(min_length=1)
    phone: str = ""
    email: str = ""
    document: str = ""
    company_document: str = ""
    state_register: str = ""


class CartIn(CalculateIn):
    """The cart as the real API takes it: the order tag in `options.tags[].tag` (a
    top-level `tag` is not a field there and is ignored), the products for the content
    declaration, the recipient's document; the sender's state registration when the
    shipment carries an NF-e (not `non_commercial`)."""

    service: int
    from_: CartPlace = Field(alias="from")
    to: CartPlace
    products: list[Product] = Field(default_factory=list)  # type: ignore[assignment]

    def tags(self) -> list[dict[str, Any]]:
        raw = self.options.get("tags") or []
        return [{"tag": str(t["tag"]), "url": t.get("url")} for t in raw
                if isinstance(t, dict) and t.get("tag")]  # fmt: skip

    def missing(self) -> list[str]:
        gaps = []
        if not self.products:
            gaps.append("products")
        if len(self.to.document) not in (11, 14):
            gaps.append("to.document")
        if not (self.to.phone or self.to.email):
            gaps.append("to.phone")
        if not self.options.get("non_commercial") and not self.from_.state_register:
            gaps.append("from.state_register")
        return gaps


class OrdersIn(BaseModel):
    orders: list[str] = Field(min_length=1)


class CancelOrder(BaseModel):
    id: str
    reason_id: str = "2"
    description: str = ""


class CancelIn(BaseModel):
    order: CancelOrder


class SpeedIn(BaseModel):
    step_s: float = Field(gt=0)


@dataclass
class CarrierData:
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    cart_expiry: dict[str, datetime] = field(default_factory=dict)  # pending id -> when
    step_s: float | None = None
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _data(state: SandboxState) -> CarrierData:
    data = state.data[PROVIDER].get("db")
    if not isinstance(data, CarrierData):
        data = state.data[PROVIDER]["db"] = CarrierData()
    return data


def parcel_of(body: CalculateIn) -> tuple[Decimal, Decimal, dict[str, float]]:
    """(billable kg, insurance value, dimensions) of one box holding everything."""
    sized = [p for p in body.products if isinstance(p, Volume)]  # a cart's products: none
    vols = [body.package] if body.package else [*sized, *body.volumes]
    if not vols:
        raise HTTPException(422, "send package or products: the parcel is missing")
    weight = sum(v.weight * v.quantity for v in vols)
    dims = {
        "height": sum(v.height * v.quantity for v in vols),
        "width": max(v.width for v in vols),
        "length": max(v.length for v in vols),
    }
    cubic = dims["height"] * dims["width"] * dims["length"] / 6000
    insured = body.options.get("insurance_value") or sum(v.insurance_value for v in vols)
    return Decimal(str(max(weight, cubic))), Decimal(str(insured)), dims


def quote_all(body: CalculateIn) -> list[dict[str, Any]]:
    kg, insured, dims = parcel_of(body)
    origin, dest = body.from_.postal_code, body.to.postal_code
    gap = abs(int(origin[0]) - int(dest[0])) + (0 if origin[:2] == dest[:2] else 1)
    wanted = {int(s) for s in body.services.split(",")} if body.services else None
    quotes = []
    for sid, name, (cid, cname), base, per_gap, per_kg, days, max_kg, max_gap in SERVICES:
        if wanted is not None and sid not in wanted:
            continue
        quote: dict[str, Any] = {"id": sid, "name": name, "company": {"id": cid, "name": cname}}
        if kg > max_kg:
            quote["error"] = f"Peso excede o limite de {max_kg} kg deste serviço."
        elif gap > max_gap:
            quote["error"] = "Transportadora não atende este trecho."
        else:
            price = Decimal(base) + Decimal(per_gap) * gap + Decimal(per_kg) * kg
            price = (price + insured * Decimal("0.01")).quantize(CENT)
            time = days + gap
            quote.update(
                price=str(price),
                custom_price=str(price),
                discount="0.00",
                currency="R$",
                delivery_time=time,
                delivery_range={"min": time, "max": time + 2},
                packages=[
                    {
                        "price": str(price),
                        "discount": "0.00",
                        "format": "box",
                        "weight": str(kg.quantize(CENT)),
                        "insurance_value": str(insured.quantize(CENT)),
                        "dimensions": dims,
                    }
                ],
                additional_services={"receipt": False, "own_hand": False, "collect": False},
            )
        quotes.append(quote)
    return quotes


def tag_of(shipment: dict[str, Any]) -> str | None:
    """The shipment's first tag (ours: the order workflow id)."""
    tags = shipment.get("tags") or []
    return str(tags[0]["tag"]) if tags else None


def label_pdf(lines: list[str]) -> bytes:
    """A tiny, valid one-page PDF (correct xref offsets) with a few lines of text."""
    safe = [ln.encode("ascii", "replace").decode().replace("\\", "/") for ln in lines]
    text = " ".join(f"({ln.replace('(', '[').replace(')', ']')}) Tj 0 -20 Td" for ln in safe)
    content = f"BT /F1 14 Tf 20 400 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def build_router(state: SandboxState) -> APIRouter:
    db = _data(state)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for task in list(db.tasks.values()):
            task.cancel()

    router = APIRouter(lifespan=lifespan, route_class=MERoute)
    admin = APIRouter(prefix="/admin", route_class=MERoute)
    bearer = add_auth_routes(router, admin, state)
    api = APIRouter(prefix="/api/v2/me", dependencies=[Depends(bearer)], route_class=MERoute)

    def expire_carts() -> None:
        """A cart item not checked out within `carrier_cart_ttl_s` expires (it can no
        longer be bought; the seller adds it to the cart again)."""
        now = state.clock()
        for sid, until in list(db.cart_expiry.items()):
            shipment = db.shipments.get(sid)
            if shipment is None or shipment["status"] != "pending":
                db.cart_expiry.pop(sid, None)
            elif now >= until:
                db.cart_expiry.pop(sid, None)
                touch(shipment, "expired")

    def shipments(ids: list[str]) -> list[dict[str, Any]]:
        expire_carts()
        missing = [i for i in ids if i not in db.shipments]
        if missing:
            raise HTTPException(404, f"shipment(s) not found: {', '.join(missing)}")
        return [db.shipments[i] for i in ids]

    def touch(shipment: dict[str, Any], status: str) -> str:
        now = state.clock().isoformat()
        shipment.update(status=status, updated_at=now)
        shipment[f"{status}_at"] = now
        return now

    async def move(shipment: dict[str, Any]) -> None:
        for status in TRACKING_STEPS:
            await asyncio.sleep(db.step_s or state.config.carrier_step_s)
            if shipment["status"] == "cancelled":
                return
            now = touch(shipment, status)
            state.ledger.record(
                PROVIDER,
                "tracking",
                shipment_id=shipment["id"],
                tag=tag_of(shipment),
                tracking=shipment["tracking"],
                status=status,
            )
            data = {k: shipment[k] for k in ("id", "protocol", "status", "tracking", "tags")}
            state.webhooks.send(
                PROVIDER,
                {
                    "id": f"evt_{uuid.uuid4().hex[:24]}",
                    "event": f"order.{status}",
                    "data": {**data, "updated_at": now},
                },
            )

    @admin.post("/speed")
    async def speed(body: SpeedIn) -> dict[str, float]:
        db.step_s = body.step_s
        return {"step_s": body.step_s}

    @admin.get("/shipments")
    async def all_shipments() -> list[dict[str, Any]]:
        return list(db.shipments.values())

    @api.post("/shipment/calculate")
    async def calculate(body: CalculateIn) -> list[dict[str, Any]]:
        await state.faults.before(PROVIDER)
        return quote_all(body)

    @api.post("/cart", status_code=201)
    async def cart(body: CartIn) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        missing = body.missing()
        if missing:
            raise HTTPException(
                422, {"message": "The given data was invalid.",
                      "errors": {f: [f"The {f} field is required."] for f in missing}},
            )  # fmt: skip
        quote = next((q for q in quote_all(body) if q["id"] == body.service), None)
        if quote is None or "error" in quote:
            reason = quote["error"] if quote else f"unknown service {body.service}"
            raise HTTPException(422, f"service {body.service} cannot carry this parcel: {reason}")
        n, now = next(db.seq), state.clock().isoformat()
        shipment = {
            "id": str(uuid.uuid4()),
            "protocol": f"ORD-{state.clock():%Y%m}{n:08d}",
            "service_id": body.service,
            "service": quote["name"],
            "company": quote["company"],
            "status": "pending",
            "tags": body.tags(),
            "price": quote["price"],
            "insurance_value": quote["packages"][0]["insurance_value"],
            "from": body.from_.model_dump(),
            "to": body.to.model_dump(),
            "invoice": body.options.get("invoice"),
            "products": [p.model_dump() for p in body.products],
            "tracking": None,
            "created_at": now,
            "updated_at": now,
        }
        db.shipments[shipment["id"]] = shipment
        ttl = timedelta(seconds=state.config.carrier_cart_ttl_s)
        db.cart_expiry[shipment["id"]] = state.clock() + ttl
        state.faults.after(PROVIDER)
        return shipment

    @api.delete("/cart/{shipment_id}", status_code=204)
    async def remove_from_cart(shipment_id: str) -> Response:
        """Take an item out of the cart; only one not bought (pending or expired)."""
        await state.faults.before(PROVIDER)
        (shipment,) = shipments([shipment_id])
        if shipment["status"] not in ("pending", "expired"):
            raise MEError(
                422,
                {"message": f"O envio {shipment_id} não está no carrinho "
                            f"(status {shipment['status']})."},
            )  # fmt: skip
        del db.shipments[shipment_id]
        db.cart_expiry.pop(shipment_id, None)
        state.faults.after(PROVIDER)
        return Response(status_code=204)

    @api.post("/shipment/checkout")
    async def checkout(body: OrdersIn) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        found = shipments(body.orders)
        for n, shipment in enumerate(found):
            if shipment["status"] == "cancelled":
                raise HTTPException(422, f"shipment {shipment['id']} is cancelled")
            if shipment["status"] == "expired":
                raise MEError(
                    422,
                    {"message": "The given data was invalid.",
                     "errors": {f"orders.{n}": [
                         f"O envio {shipment['id']} expirou: adicione-o ao carrinho novamente."
                     ]}},
                )  # fmt: skip
            if shipment["status"] != "pending":
                raise HTTPException(422, f"shipment {shipment['id']} is already purchased")
        for shipment in found:
            touch(shipment, "released")
            state.ledger.record(
                PROVIDER,
                "label_purchased",
                shipment_id=shipment["id"],
                tag=tag_of(shipment),
                service=shipment["service"],
                price=shipment["price"],
            )
        total = sum((Decimal(s["price"]) for s in found), Decimal("0"))
        state.faults.after(PROVIDER)
        return {
            "purchase": {
                "id": str(uuid.uuid4()),
                "protocol": f"PUR-{next(db.seq):08d}",
                "total": str(total),
                "status": "paid",
                "orders": found,
            }
        }

    @api.post("/shipment/generate")
    async def generate(body: OrdersIn) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        result = {}
        for shipment in shipments(body.orders):
            if shipment["status"] in ("pending", "cancelled"):
                raise HTTPException(
                    422,
                    f"shipment {shipment['id']} is {shipment['status']}: only purchased "
                    "labels can be generated",
                )
            if shipment["tracking"] is None:
                shipment["tracking"] = f"ME{100_000_000 + next(db.seq):09d}BR"
                touch(shipment, "generated")
                state.ledger.record(
                    PROVIDER,
                    "label_generated",
                    shipment_id=shipment["id"],
                    tag=tag_of(shipment),
                    tracking=shipment["tracking"],
                )
                db.tasks[shipment["id"]] = asyncio.create_task(move(shipment))
            result[shipment["id"]] = {
                "status": True,
                "message": "Envio gerado com sucesso",
                "tracking": shipment["tracking"],
            }
        state.faults.after(PROVIDER)
        return result

    @api.post("/shipment/print")
    async def print_labels(body: OrdersIn, request: Request) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        urls = {}
        for shipment in shipments(body.orders):
            if shipment["tracking"] is None or shipment["status"] == "cancelled":
                raise HTTPException(422, f"shipment {shipment['id']} has no generated label")
            urls[shipment["id"]] = str(request.url_for("label", shipment_id=shipment["id"]))
        return {"url": urls[body.orders[0]], "urls": urls}

    @api.post("/shipment/cancel")
    async def cancel(body: CancelIn) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        (shipment,) = shipments([body.order.id])
        if shipment["status"] in POSTED or shipment["status"] == "undelivered":
            raise MEError(
                422,
                {"message": f"O envio {shipment['id']} não pode ser cancelado: já foi "
                            f"postado (status {shipment['status']}). Solicite a devolução.",
                 "error": "Envio já postado."},
            )  # fmt: skip
        if shipment["status"] != "cancelled":
            was = shipment["status"]
            touch(shipment, "cancelled")
            task = db.tasks.pop(shipment["id"], None)
            if task is not None:
                task.cancel()
            state.ledger.record(
                PROVIDER,
                "label_cancelled",
                shipment_id=shipment["id"],
                tag=tag_of(shipment),
                was=was,
                reason=body.order.description,
            )
        state.faults.after(PROVIDER)
        return {shipment["id"]: {"canceled": True}}

    @api.get("/orders/search")
    async def search(q: str) -> list[dict[str, Any]]:
        await state.faults.before(PROVIDER)
        expire_carts()
        keys = ("id", "protocol", "tracking")
        return [
            s for s in db.shipments.values()
            if any(s[k] == q for k in keys) or any(t["tag"] == q for t in s["tags"])
        ]  # fmt: skip

    @api.get("/orders/{shipment_id}")
    async def get_shipment(shipment_id: str) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        return shipments([shipment_id])[0]

    @router.get("/labels/{shipment_id}.pdf", name="label")
    async def label(shipment_id: str) -> Response:
        (shipment,) = shipments([shipment_id])
        lines = [shipment["service"], shipment["tracking"] or "", shipment["to"]["postal_code"]]
        return Response(label_pdf(lines), media_type="application/pdf")

    router.include_router(admin)
    router.include_router(api)
    return router
