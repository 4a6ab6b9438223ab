"""The freight hub's API (Melhor Envio-like): quotes, label booking, cancellation.

Booking has no idempotency key at the provider, so it LOOKS BEFORE IT ACTS: shipments
carry the order workflow id as their tag (`options.tags[].tag`, where the real API and its
official plugins put it; a top-level `tag` is ignored there), `book` searches by that tag
first and finishes a shipment found half-way (checkout, generate, print each tolerate
having been done) instead of buying a second label after a lost response.

A commercial shipment (with an NF-e) names its recipient (`to.document`, the CPF), the
sender's state registration (`from.state_register`), phones and e-mails, and lists the
products; the cart is refused without them.

The bearer token is kept fresh by `integrations/carrier/oauth.py` (refresh on 401).
A cart item not checked out in time expires at the carrier: it was never bought, so it
is taken out of the cart and added again. A label can be cancelled only before the
parcel is posted; after that the carrier has it and a return is what ops can ask for.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, RootModel

from domain.carriers import TrackingUpdate
from domain.errors import ProviderRejected
from domain.fiscal import Issuer
from domain.freight import (
    Booking,
    BookingRequest,
    CarrierKind,
    FreightQuote,
    Parcel,
    QuoteRequest,
    TrackingStatus,
)
from domain.orders import Address
from integrations.carrier.oauth import REAUTHORISE, CarrierOAuth
from integrations.carrier.tokens import TokenStore
from integrations.http import read_model

PROVIDER = "carrier"
M = TypeVar("M", bound=BaseModel)
# Furthest first: a shipment found in one of these states needs no checkout.
PURCHASED = ("released", "generated", "posted", "in_transit", "out_for_delivery", "delivered")
TRACKING = {
    "posted": TrackingStatus.POSTED,
    "in_transit": TrackingStatus.IN_TRANSIT,
    "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
    "delivered": TrackingStatus.DELIVERED,
    "undelivered": TrackingStatus.FAILED,
    "lost": TrackingStatus.LOST,
    "damaged": TrackingStatus.DAMAGED,
    "returned": TrackingStatus.RETURNED,
}
# Not live: a cancelled label, a cart item that expired before it was bought.
DEAD = ("cancelled", "canceled", "expired")
# The parcel is with the carrier: the label can no longer be cancelled (a return can).
POSTED = ("posted", "in_transit", "out_for_delivery", "delivered", "undelivered",
          "lost", "damaged", "returned")  # fmt: skip


__all__ = ["ALREADY_POSTED", "REAUTHORISE", "CarrierClient", "CartExpired"]
ALREADY_POSTED = "already_posted"


class CartExpired(Exception):
    """The cart item was not checked out in time; it has to be added again."""


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class Company(_In):
    id: str | None = None
    name: str


class QuoteOut(_In):
    id: int
    name: str
    company: Company
    price: Decimal | None = None
    custom_price: Decimal | None = None
    delivery_time: int | None = None
    error: str | None = None


class QuotesOut(RootModel[list[QuoteOut]]):
    pass


class TagRef(_In):
    tag: str | None = None


class ShipmentOut(_In):
    id: str
    protocol: str | None = None
    status: str
    tag: str | None = None
    tags: list[TagRef] = []
    service: str | None = None
    service_id: int | None = None
    company: Company | None = None
    price: Decimal | None = None
    tracking: str | None = None
    updated_at: str | None = None

    def tagged(self, tag: str) -> bool:
        return self.tag == tag or any(t.tag == tag for t in self.tags)


class ShipmentsOut(RootModel[list[ShipmentOut]]):
    pass


class PrintOut(_In):
    url: str


class Done(RootModel[dict[str, dict[str, Any]]]):
    pass


def _read(response: httpx.Response, model: type[M]) -> M:
    return read_model(response, model, PROVIDER)


def _volume(parcel: Parcel) -> dict[str, float]:
    return {
        "height": parcel.height_cm,
        "width": parcel.width_cm,
        "length": parcel.length_cm,
        "weight": parcel.weight_g / 1000,  # kg
    }


def _place(name: str, address: Address, **extra: str) -> dict[str, str]:
    return {
        "name": name,
        "address": address.street,
        "number": address.number,
        "complement": address.complement,
        "district": address.district,
        "city": address.city,
        "state_abbr": address.state,
        "country_id": "BR",
        "postal_code": address.postal_code,
        **extra,
    }


class CarrierClient:
    """`base_url` is the API root, e.g. `<sandbox>/carrier`; `sender` is who ships (name,
    CNPJ and address on the label), `origin_postal_code` overrides where parcels leave
    from (the warehouse) when it is not the sender's address."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        token: str,
        *,
        sender: Issuer,
        origin_postal_code: str | None = None,
        sender_phone: str = "",
        sender_email: str = "",
        refresh_token: str = "",
        client_id: str = "",
        client_secret: str = "",
        tokens: TokenStore | None = None,
        oauth_url: str | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._auth = CarrierOAuth(
            http,
            oauth_url or f"{self._base}/oauth/token",
            token,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            tokens=tokens,
        )
        self._sender = sender
        self._origin = origin_postal_code or sender.address.postal_code
        self._contact = {"phone": sender_phone, "email": sender_email}

    async def _call(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        response = await self._auth.send(method, f"{self._base}/api/v2/me{path}", **kwargs)
        return _read(response, model)

    async def quote(self, request: QuoteRequest) -> list[FreightQuote]:
        """Every service's quote; one that cannot serve the route keeps its `error`."""
        out = await self._call(
            "POST",
            "/shipment/calculate",
            QuotesOut,
            json={
                "from": {"postal_code": request.from_postal_code},
                "to": {"postal_code": request.to_postal_code},
                "package": _volume(request.parcel),
                "options": {"insurance_value": float(request.parcel.declared_value)},
            },
        )
        return [
            FreightQuote(
                service_id=q.id,
                carrier=q.company.name,
                service=q.name,
                price=q.custom_price or q.price or Decimal("0"),
                delivery_days=q.delivery_time or 0,
                error=q.error,
            )
            for q in out.root
        ]

    async def find(self, order_id: str) -> list[ShipmentOut]:
        """Live (not cancelled) shipments tagged with `order_id`, furthest along first."""
        found = await self._call("GET", "/orders/search", ShipmentsOut, params={"q": order_id})
        live = [s for s in found.root if s.tagged(order_id) and s.status not in DEAD]
        return sorted(
            live,
            key=lambda s: PURCHASED.index(s.status) if s.status in PURCHASED else -1,
            reverse=True,
        )

    async def book(self, request: BookingRequest) -> Booking:
        """Buy, generate and print one label for the order, at most once whatever retries."""
        existing = await self.find(request.tag)
        shipment = existing[0] if existing else await self._cart(request)
        if shipment.status not in PURCHASED:
            try:
                await self._checkout(shipment.id)
            except CartExpired:
                # Never bought, so no label to duplicate: take it out, add it again, buy.
                await self._remove(shipment.id)
                shipment = await self._cart(request)
                await self._checkout(shipment.id)
        if shipment.tracking is None:
            await self._call("POST", "/shipment/generate", Done, json={"orders": [shipment.id]})
        printed = await self._call(
            "POST", "/shipment/print", PrintOut, json={"orders": [shipment.id]}
        )
        final = await self._call("GET", f"/orders/{shipment.id}", ShipmentOut)
        if not final.tracking:
            raise ProviderRejected(
                f"carrier shipment {final.id} has no tracking code after generate",
                provider=PROVIDER,
                code="no_tracking",
            )
        return Booking(
            order_id=request.order_id,
            shipment_id=final.id,
            tracking_code=final.tracking,
            carrier=final.company.name if final.company else request.quote.carrier,
            service=final.service or request.quote.service,
            price=final.price if final.price is not None else request.quote.price,
            label_url=printed.url,
            kind=CarrierKind.API,
            reference=request.reference,
        )

    async def _cart(self, request: BookingRequest) -> ShipmentOut:
        sender = self._sender
        origin = sender.address.model_copy(update={"postal_code": self._origin})
        options: dict[str, Any] = {
            "insurance_value": float(request.parcel.declared_value),
            "receipt": False,
            "own_hand": False,
            "non_commercial": request.invoice_key is None,
            "tags": [{"tag": request.tag, "url": None}],
        }
        if request.invoice_key:
            options["invoice"] = {"key": request.invoice_key}
        products = [
            {"name": c.name[:100], "quantity": c.quantity, "unitary_value": float(c.unit_value)}
            for c in request.contents
        ] or [{"name": "Mercadoria", "quantity": 1,
               "unitary_value": float(request.parcel.declared_value)}]  # fmt: skip
        return await self._call(
            "POST",
            "/cart",
            ShipmentOut,
            json={
                "service": request.quote.service_id,
                "from": _place(
                    sender.trade_name or sender.name,
                    origin,
                    company_document=sender.cnpj,
                    state_register=sender.ie,
                    **self._contact,
                ),
                "to": _place(
                    request.recipient_name,
                    request.recipient_address,
                    document=request.recipient_document,
                    phone=request.recipient_phone,
                    email=request.recipient_email,
                ),
                "products": products,
                "volumes": [_volume(request.parcel)],
                "options": options,
            },
        )

    async def _checkout(self, shipment_id: str) -> None:
        try:
            await self._call("POST", "/shipment/checkout", _In, json={"orders": [shipment_id]})
        except ProviderRejected as exc:
            if exc.code != "http_422":
                raise
            if "already purchased" in exc.message:
                return  # bought by an earlier attempt whose answer was lost: wanted
            # Look at what the refusal means rather than parse its wording.
            found = await self._call("GET", f"/orders/{shipment_id}", ShipmentOut)
            if found.status in PURCHASED:
                return  # bought by an earlier attempt whose answer was lost: wanted
            if found.status == "expired":
                raise CartExpired(shipment_id) from None
            raise

    async def _remove(self, shipment_id: str) -> None:
        """Take an item out of the cart; already gone is fine (a retry after a lost
        answer)."""
        try:
            await self._auth.send("DELETE", f"{self._base}/api/v2/me/cart/{shipment_id}")
        except ProviderRejected as exc:
            if exc.code != "http_404":
                raise

    async def track(self, shipment_id: str) -> TrackingUpdate:
        """Where the shipment is, asked (the fallback when webhooks stop)."""
        found = await self._call("GET", f"/orders/{shipment_id}", ShipmentOut)
        status = TRACKING.get(found.status)
        return TrackingUpdate(status=status, description=f"carrier status {found.status}")

    async def label(self, url: str) -> bytes:
        """The label PDF the print call pointed to."""
        response = await self._auth.send("GET", url)
        if not response.content.startswith(b"%PDF"):
            raise ProviderRejected(
                f"the carrier's label at {url} is not a PDF", provider=PROVIDER, code="no_label"
            )
        return response.content

    async def cancel(self, order_id: str, shipment_id: str | None = None) -> None:
        """Cancel the order's label(s); cancelling twice is a no-op. Without a shipment id
        every live shipment tagged with the order is cancelled."""
        ids = [shipment_id] if shipment_id else [s.id for s in await self.find(order_id)]
        for sid in ids:
            try:
                await self._call(
                    "POST",
                    "/shipment/cancel",
                    Done,
                    json={
                        "order": {
                            "id": sid,
                            "reason_id": "2",
                            "description": f"order {order_id} cancelled",
                        }
                    },
                )
            except ProviderRejected as exc:
                if exc.code != "http_422":
                    raise
                found = await self._call("GET", f"/orders/{sid}", ShipmentOut)
                if found.status not in POSTED:
                    raise
                raise ProviderRejected(
                    f"shipment {found.tracking or sid} is already with the carrier "
                    f"({found.status}): a label can only be cancelled before it is posted. "
                    "Ask the carrier for a return (devolução) of the parcel, then skip this "
                    "step",
                    provider=PROVIDER,
                    code=ALREADY_POSTED,
                ) from None
