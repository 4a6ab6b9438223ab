"""Stock reservation contracts and availability rules."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from domain.orders import Channel, Frozen


class ReserveRequest(Frozen):
    order_id: str
    idempotency_key: str
    quantities: dict[str, int] = Field(min_length=1)


class ProductInfo(Frozen):
    """What later steps need to know about a reserved SKU (invoice line, parcel)."""

    sku: str
    name: str
    ncm: str
    weight_g: int
    height_cm: int
    width_cm: int
    length_cm: int
    origin: str = Field(default="0", pattern=r"^[0-8]$", description="NF-e orig: 0 national")
    gtin: str = Field(default="", description="EAN/GTIN barcode; empty when it has none")


class Shortage(Frozen):
    sku: str
    requested: int
    available: int


class Reservation(Frozen):
    order_id: str
    reserved: bool
    products: tuple[ProductInfo, ...] = ()
    shortages: tuple[Shortage, ...] = ()
    available_after: dict[str, int] = Field(default_factory=dict)

    def describe_shortages(self) -> str:
        return "; ".join(
            f"{s.sku}: {s.requested} requested, {s.available} available" for s in self.shortages
        )


class ReleaseRequest(Frozen):
    order_id: str
    idempotency_key: str


class Released(Frozen):
    """The SKUs a release gave back (none when the order held nothing)."""

    skus: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        # Orders started before the step table recorded a bare list of SKUs.
        return {"skus": value} if isinstance(value, list) else value

    def __bool__(self) -> bool:
        return bool(self.skus)


class StockPush(Frozen):
    """Push the current availability of these SKUs to every channel (absolute numbers,
    so a repeated push is harmless)."""

    skus: tuple[str, ...] = Field(min_length=1)
    idempotency_key: str


def available(on_hand: int, reserved: int) -> int:
    return max(on_hand - reserved, 0)


def shortages(requested: dict[str, int], availability: dict[str, int]) -> list[Shortage]:
    """Lines that cannot be served in full; an unknown SKU has zero available."""
    return [
        Shortage(sku=sku, requested=qty, available=availability.get(sku, 0))
        for sku, qty in sorted(requested.items())
        if availability.get(sku, 0) < qty
    ]


class StockSyncInput(Frozen):
    """`stock-sync:{sku}`: one long-lived workflow per SKU pushing its availability to
    every channel, coalescing bursts of requests into one push."""

    sku: str
    channels: tuple[Channel, ...] = tuple(Channel)
    pending: bool = False  # carried over continue-as-new: a request not yet pushed
    push_deadline_s: float = Field(default=600, gt=0, description="then flag the channel")
    stale_retry_s: float = Field(default=60, gt=0, description="retry a flagged channel")


class ChannelStockPush(Frozen):
    sku: str
    channel: Channel


def stock_sync_workflow_id(sku: str) -> str:
    return f"stock-sync:{sku}"
