"""The marketplace's API (Mercado Livre-like) behind OAuth2 client credentials.

The NF-e goes to the marketplace as its XML (`POST /packs/{pack_id}/fiscal_documents`,
multipart `fiscal_document`; an order without a pack uses its order id) when the
document store has it, else as the access key alone.

The access token is obtained lazily, cached with its expiry and renewed with the
(single-use) refresh token when it expires or when a call answers 401; that call is then
retried once. Renewal is serialised so concurrent calls do not burn the refresh token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict

from domain.carriers import TrackingUpdate
from domain.channels import CancelledNotice, ShippedNotice
from domain.errors import ProviderRejected
from domain.freight import CarrierKind, TrackingStatus
from domain.orders import Order
from integrations.documents.store import DocumentStore, InvalidDocumentName, nfe_xml
from integrations.http import read_model, send
from integrations.marketplace.schema import (
    PROVIDER,
    MLOrder,
    SearchOut,
    ShipmentOut,
    TokenOut,
    translate_ml_order,
)

log = logging.getLogger(__name__)
SHIPMENT_STATUSES = {
    "shipped": TrackingStatus.IN_TRANSIT,
    "delivered": TrackingStatus.DELIVERED,
    "not_delivered": TrackingStatus.FAILED,
}
SHIPMENT_SUBSTATUSES = {
    "lost": TrackingStatus.LOST,
    "damaged": TrackingStatus.DAMAGED,
    "returned_to_sender": TrackingStatus.RETURNED,
}
M = TypeVar("M", bound=BaseModel)


class _Ack(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class ItemAck(_Ack):
    id: str
    available_quantity: int


class OrderAck(_Ack):
    order_id: str


class FiscalDocumentAck(_Ack):
    ids: list[str]


def _read(response: httpx.Response, model: type[M]) -> M:
    return read_model(response, model, PROVIDER)


class MarketplaceClient:
    """`base_url` is the API root, e.g. `<sandbox>/marketplace` or the real API host."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        documents: DocumentStore | None = None,
    ) -> None:
        self._http = http
        self._documents = documents
        self._base = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self._item_ids: dict[str, list[str]] = {}

    # -- OAuth2 -----------------------------------------------------------------------

    async def _grant(self, form: dict[str, str]) -> str:
        form = {"client_id": self._client_id, "client_secret": self._client_secret, **form}
        sent_at = self._clock()
        response = await send(
            self._http,
            PROVIDER,
            "POST",
            f"{self._base}/oauth/token",
            data=form,
            headers={"Accept": "application/json"},
        )
        token = _read(response, TokenOut)
        self._access, self._refresh = token.access_token, token.refresh_token
        # Renew a little early: a token that expires in flight costs a round trip.
        self._expires_at = sent_at + token.expires_in - min(60.0, token.expires_in * 0.1)
        return token.access_token

    async def _renew(self, stale: str | None) -> str:
        """Get a fresh token unless another call already replaced `stale`."""
        async with self._lock:
            if self._access is not None and self._access != stale and self._fresh():
                return self._access
            if self._refresh:
                refresh = {"grant_type": "refresh_token", "refresh_token": self._refresh}
                self._refresh = None  # single use, whatever happens next
                try:
                    return await self._grant(refresh)
                except ProviderRejected as exc:  # used, revoked or expired: start over
                    log.info("marketplace refused the refresh token (%s); new grant", exc)
            return await self._grant({"grant_type": "client_credentials"})

    def _fresh(self) -> bool:
        return self._clock() < self._expires_at

    async def _token(self) -> str:
        if self._access is not None and self._fresh():
            return self._access
        return await self._renew(self._access)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self._base}{path}"
        token = await self._token()
        try:
            return await send(self._http, PROVIDER, method, url, headers=_bearer(token), **kwargs)
        except ProviderRejected as exc:
            if exc.code != "http_401":
                raise
        token = await self._renew(token)  # revoked or expired early: renew, retry once
        return await send(self._http, PROVIDER, method, url, headers=_bearer(token), **kwargs)

    # -- channel operations -----------------------------------------------------------

    async def get_order(self, external_id: str) -> Order:
        response = await self._call("GET", f"/orders/{quote(external_id, safe='')}")
        return translate_ml_order(_read(response, MLOrder))

    async def _items_for(self, sku: str) -> list[str]:
        if sku not in self._item_ids:
            response = await self._call("GET", "/users/me/items/search", params={"seller_sku": sku})
            self._item_ids[sku] = _read(response, SearchOut).results
        return self._item_ids[sku]

    async def push_stock(self, sku: str, available: int) -> None:
        """Set `available_quantity` on every listing of `sku`; a SKU not listed on the
        marketplace is skipped (nothing to update there)."""
        item_ids = await self._items_for(sku)
        if not item_ids:
            log.info("marketplace has no listing with seller_sku %s; stock not pushed", sku)
            return
        for item_id in item_ids:
            try:
                response = await self._call(
                    "PUT", f"/items/{item_id}", json={"available_quantity": available}
                )
            except ProviderRejected as exc:
                if exc.code == "http_404":
                    self._item_ids.pop(sku, None)  # listing gone: search again next time
                raise
            _read(response, ItemAck)

    async def notify_shipped(self, notice: ShippedNotice) -> None:
        """Upload the NF-e (its XML, or its key when the XML is not stored), then the
        tracking number (both are idempotent there)."""
        order_id = quote(notice.external_id, safe="")
        xml = await self._nfe_xml(notice.invoice_key)
        if xml is not None:
            response = await self._call(
                "POST",
                f"/packs/{order_id}/fiscal_documents",
                files={
                    "fiscal_document": (f"{notice.invoice_key}-procNFe.xml", xml, "application/xml")
                },
            )
            _read(response, FiscalDocumentAck)
        else:
            response = await self._call(
                "POST", f"/orders/{order_id}/invoice", json={"fiscal_key": notice.invoice_key}
            )
            _read(response, OrderAck)
        if notice.kind is CarrierKind.MARKETPLACE:
            return  # its own logistics: the marketplace knows the parcel already
        response = await self._call(
            "POST",
            f"/shipments/{order_id}/tracking",
            json={"tracking_number": notice.tracking_code, "carrier": notice.carrier},
        )
        _read(response, OrderAck)

    async def shipment(self, shipment_id: str) -> ShipmentOut:
        response = await self._call("GET", f"/shipments/{quote(shipment_id, safe='')}")
        return _read(response, ShipmentOut)

    async def shipment_label(self, shipment_id: str) -> bytes:
        """The marketplace's label for its own logistics (PDF); printing it the first
        time gives the shipment its tracking number."""
        response = await self._call(
            "GET",
            "/shipment_labels",
            params={"shipment_ids": shipment_id, "response_type": "pdf"},
        )
        if not response.content.startswith(b"%PDF"):
            raise ProviderRejected(
                f"the marketplace's label for shipment {shipment_id} is not a PDF",
                provider=PROVIDER,
                code="no_label",
            )
        return response.content

    async def track(self, shipment_id: str) -> TrackingUpdate:
        found = await self.shipment(shipment_id)
        status = SHIPMENT_SUBSTATUSES.get(found.substatus or "") or SHIPMENT_STATUSES.get(
            found.status
        )
        return TrackingUpdate(
            status=status,
            at=found.last_updated,
            description=f"marketplace shipment {found.status}/{found.substatus or '-'}",
        )

    async def _nfe_xml(self, access_key: str) -> bytes | None:
        if self._documents is None:
            return None
        try:
            name = nfe_xml(access_key)
        except InvalidDocumentName:  # no NF-e (e.g. emitted by hand and skipped)
            return None
        return await self._documents.get(name)

    async def notify_cancelled(self, notice: CancelledNotice) -> None:
        response = await self._call(
            "POST",
            f"/orders/{quote(notice.external_id, safe='')}/cancellation_ack",
            json={"reason": notice.reason},
        )
        _read(response, OrderAck)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
