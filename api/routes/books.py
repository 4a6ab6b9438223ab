"""The books (role `finance` writes; finance, ops and viewers read): the cash position
and its day-by-day projection, the contribution margin per order, channel, supplier and
SKU, and the supplier bills (payables) the projection pays out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import BooksRole, ContextDep, FinanceRole
from api.errors import NotFound
from db.margins import By
from db.payables import PayableView
from domain.cashflow import CashDay
from domain.margin import MarginLine
from domain.money import Money
from domain.receivables import business_day

router = APIRouter(prefix="/finance", tags=["finance"])


class CashFlowOut(BaseModel):
    position: Decimal = Field(description="cash at the start of the first day")
    start: date
    closing: Decimal
    overdue_in: Decimal = Field(description="receivables found missing, still to chase")
    overdue_out: Decimal = Field(description="bills past due, not paid")
    lowest: CashDay | None = Field(description="the day the cash is lowest")
    beyond: int = Field(description="moves after the horizon, left out")
    days: list[CashDay]


class MarginOut(BaseModel):
    key: str = Field(description="the order, channel, supplier or SKU")
    orders: int
    quantity: int
    price: Decimal
    cost: Decimal
    commission: Decimal
    freight: Decimal
    taxes: Decimal
    margin: Decimal
    rate: Decimal | None = Field(description="margin / price")
    without_nfe: int = Field(description="lines whose taxes are not known yet (no NF-e)")


class PayableBody(BaseModel):
    reference: str = Field(min_length=1, max_length=100, description="the bill's number")
    supplier: str = Field(min_length=1, max_length=100)
    due_on: date
    amount: Money = Field(gt=0)
    description: str = Field(default="", max_length=200)


class PaidBody(BaseModel):
    paid_on: date


class Refreshed(BaseModel):
    orders: int = Field(description="orders whose margin was recomputed")


def today(ctx: ContextDep) -> date:
    return business_day(datetime.now(UTC), ctx.settings.finance.timezone)


@router.get("/cashflow", response_model=CashFlowOut)
async def cash_flow(
    ctx: ContextDep,
    _: BooksRole,
    start: Annotated[date | None, Query(alias="from", description="default: today")] = None,
    days: Annotated[int | None, Query(ge=1, le=366)] = None,
) -> CashFlowOut:
    """Cash today (opening balance + the bank statements reconciled) and what comes in
    (receivables, anticipations) and goes out (payables) day by day."""
    flow = await ctx.books.cash_flow(start or today(ctx), days)
    return CashFlowOut(
        position=flow.position, start=flow.start, closing=flow.closing,
        overdue_in=flow.overdue_in, overdue_out=flow.overdue_out, lowest=flow.lowest,
        beyond=flow.beyond, days=list(flow.days),
    )  # fmt: skip


@router.get("/margin", response_model=list[MarginOut])
async def margin(
    ctx: ContextDep,
    _: BooksRole,
    by: By = "channel",
    start: Annotated[date | None, Query(alias="from", description="default: 30 days ago")] = None,
    end: Annotated[date | None, Query(alias="to", description="default: today")] = None,
) -> list[MarginOut]:
    """Contribution margin (price − cost − commissions − freight − taxes) of the orders
    paid in the period, per order, channel, supplier or SKU, best first."""
    end = end or today(ctx)
    rows = await ctx.books.margins.summary(by, start or end - timedelta(days=30), end)
    return [MarginOut(**r.model_dump(), rate=r.rate) for r in rows]


@router.get("/margin/orders/{order_id}", response_model=list[MarginLine])
async def order_margin(order_id: str, ctx: ContextDep, _: BooksRole) -> list[MarginLine]:
    lines = await ctx.books.margins.lines(order_id)
    if not lines:
        raise NotFound(f"no margin for {order_id} (not paid, cancelled, or not computed yet)")
    return lines


@router.post("/margin/refresh", response_model=Refreshed)
async def refresh_margin(ctx: ContextDep, _: FinanceRole) -> Refreshed:
    """Recompute the margin of every order changed since (the nightly run does it too)."""
    return Refreshed(orders=await ctx.books.refresh_margins())


@router.post("/payables", response_model=PayableView, status_code=201)
async def add_payable(body: PayableBody, ctx: ContextDep, who: FinanceRole) -> PayableView:
    """Record a supplier's bill (the same reference again returns the first)."""
    return await ctx.books.payables.add(
        body.reference, body.supplier, body.due_on, body.amount, who.name, body.description
    )


@router.post("/payables/{reference}/paid", response_model=PayableView)
async def pay(reference: str, body: PaidBody, ctx: ContextDep, _: FinanceRole) -> PayableView:
    found = await ctx.books.payables.mark_paid(reference, body.paid_on)
    if found is None:
        raise NotFound(f"no payable {reference}")
    return found


@router.get("/payables", response_model=list[PayableView])
async def payables(ctx: ContextDep, _: BooksRole, open_only: bool = False) -> list[PayableView]:
    return await ctx.books.payables.list(open_only=open_only)
