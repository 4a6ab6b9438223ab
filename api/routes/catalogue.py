"""Catalogue and stock: products with their fiscal and shipping data, stock receipts and
counts, availability."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, field_validator, model_validator

from api.deps import AdminRole, AnyRole, ContextDep, WarehouseRole
from api.errors import NotFound
from api.gateway import TemporalUnavailable
from db.catalogue import LotReceipt, ProductView
from domain.lots import LOT_CODE
from domain.money import Money
from domain.nfe_fields import valid_gtin

router = APIRouter(tags=["catalogue"])


# products.sku is VARCHAR(60): a longer one must be refused here, not by PostgreSQL.
Sku = Annotated[str, Path(min_length=1, max_length=60)]


class ProductBody(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    ncm: str = Field(pattern=r"^\d{8}$")
    price: Money = Field(ge=0)
    cost: Money = Field(ge=0)
    weight_g: int = Field(gt=0)
    height_cm: int = Field(gt=0)
    width_cm: int = Field(gt=0)
    length_cm: int = Field(gt=0)
    origin: str = Field(
        default="0",
        pattern=r"^[0-8]$",
        description="NF-e origin: 0 national; 1, 2, 3, 8 imported (4% across states)",
    )
    gtin: str = Field(default="", max_length=14, description="EAN/GTIN barcode, if any")
    supplier: str = Field(default="", max_length=100, description="who we buy it from")
    bin: str = Field(
        default="", max_length=20, description="shelf location (aisle-rack-level), e.g. A-03-2"
    )

    @field_validator("gtin")
    @classmethod
    def _valid_gtin(cls, value: str) -> str:
        if value and not valid_gtin(value):
            raise ValueError(f"{value} is not a GTIN-8/12/13/14 with a right check digit")
        return value


class ProductOut(BaseModel):
    sku: str
    name: str
    ncm: str
    price: Decimal
    cost: Decimal
    weight_g: int
    height_cm: int
    width_cm: int
    length_cm: int
    origin: str = "0"
    gtin: str = ""
    supplier: str = ""
    bin: str = ""
    on_hand: int
    reserved: int
    available: int
    channels: str = Field(
        default="", description="whether the new availability is on its way to the channels"
    )

    @classmethod
    def of(cls, view: ProductView) -> ProductOut:
        return cls.model_validate(view, from_attributes=True)


class ReceiptBody(BaseModel):
    quantity: int = Field(gt=0, le=1_000_000)
    key: str | None = Field(default=None, max_length=120, description="receipt id: idempotency")
    lot: str | None = Field(
        default=None, pattern=LOT_CODE, description="the lot received (picks go first expiry first)"
    )
    expires_on: date | None = Field(default=None, description="the lot's expiry; none: it keeps")
    bin: str = Field(default="", max_length=20, description="where the lot is put away")

    @model_validator(mode="after")
    def _expiry_needs_a_lot(self) -> ReceiptBody:
        if self.lot is None and (self.expires_on is not None or self.bin):
            raise ValueError("expires_on and bin describe a lot: give the lot's code too")
        return self

    @property
    def lot_receipt(self) -> LotReceipt | None:
        return None if self.lot is None else LotReceipt(self.lot, self.expires_on, self.bin)


class CountBody(BaseModel):
    on_hand: int = Field(ge=0, le=10_000_000)


@router.get("/products", response_model=list[ProductOut])
async def list_products(ctx: ContextDep, _: AnyRole) -> list[ProductOut]:
    return [ProductOut.of(v) for v in await ctx.catalogue.list_products()]


@router.put("/products/{sku}", response_model=ProductOut)
async def put_product(sku: Sku, body: ProductBody, ctx: ContextDep, _: AdminRole) -> ProductOut:
    return ProductOut.of(await ctx.catalogue.upsert_product(sku, **body.model_dump()))


@router.post("/products/{sku}/receipts", response_model=ProductOut)
async def receive(sku: Sku, body: ReceiptBody, ctx: ContextDep, who: WarehouseRole) -> ProductOut:
    if await ctx.catalogue.get_product(sku) is None:
        raise NotFound(f"no product {sku}: create it with PUT /products/{sku} first")
    await ctx.catalogue.receive_stock(
        sku, body.quantity, "receipt", key=body.key, lot=body.lot_receipt
    )
    details = {"sku": sku, **body.model_dump(mode="json", exclude_none=True)}
    await ctx.audit.record(who.name, "stock:receipt", None, details)
    return await _product(ctx, sku, sync=True)


@router.put("/products/{sku}/count", response_model=ProductOut)
async def count(sku: Sku, body: CountBody, ctx: ContextDep, who: WarehouseRole) -> ProductOut:
    if await ctx.catalogue.get_product(sku) is None:
        raise NotFound(f"no product {sku}")
    await ctx.catalogue.set_on_hand(sku, body.on_hand, "adjustment")
    await ctx.audit.record(who.name, "stock:count", None, {"sku": sku, "on_hand": body.on_hand})
    return await _product(ctx, sku, sync=True)


async def _product(ctx: ContextDep, sku: str, *, sync: bool = False) -> ProductOut:
    view = await ctx.catalogue.get_product(sku)
    assert view is not None
    out = ProductOut.of(view)
    if sync:
        try:
            await ctx.gateway.request_stock_sync(sku)
            out.channels = "sync requested"
        except TemporalUnavailable:
            out.channels = "Temporal is unreachable: channels update with the next sync of this SKU"
    return out
