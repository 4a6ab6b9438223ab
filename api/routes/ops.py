"""Ops: stuck orders and the decisions on them (retry, skip with data, compensate)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import AnyRole, ContextDep, OpsRole
from api.gateway import StaleStockSync
from db.audit import AuditEntry
from db.orders import OrderView
from domain.attention import OpsAction

router = APIRouter(prefix="/ops", tags=["ops"])


class DecisionBody(BaseModel):
    reason: str = Field(default="", max_length=500)
    data: dict[str, Any] | None = Field(
        default=None, description="skip only: the step's result obtained by hand"
    )


class CancelBody(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class DecisionResult(BaseModel):
    order_id: str
    result: str


@router.get("/stuck", response_model=list[OrderView])
async def stuck(
    ctx: ContextDep, _: AnyRole, limit: int = Query(default=100, ge=1, le=1000)
) -> list[OrderView]:
    return await ctx.orders.list(needs_attention=True, limit=limit)


@router.post("/orders/{order_id}/cancel", response_model=DecisionResult, name="cancel order")
async def cancel(order_id: str, body: CancelBody, ctx: ContextDep, who: OpsRole) -> DecisionResult:
    result = await ctx.actions.cancel(order_id, body.reason, who.name)
    return DecisionResult(order_id=order_id, result=result)


@router.post("/orders/{order_id}/{action}", response_model=DecisionResult)
async def decide(
    order_id: str, action: OpsAction, body: DecisionBody, ctx: ContextDep, who: OpsRole
) -> DecisionResult:
    result = await ctx.actions.decide(order_id, action, who.name, body.reason, body.data)
    return DecisionResult(order_id=order_id, result=result)


@router.get("/stock-sync", response_model=list[StaleStockSync])
async def stale_stock(ctx: ContextDep, _: AnyRole) -> list[StaleStockSync]:
    """SKUs a channel shows stale stock for: its push has failed past the deadline (the
    stock-sync workflow keeps retrying every minute)."""
    return await ctx.gateway.stale_stock_syncs()


@router.get("/audit", response_model=list[AuditEntry])
async def audit(
    ctx: ContextDep,
    _: AnyRole,
    order_id: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AuditEntry]:
    return await ctx.audit.list(order_id=order_id, limit=limit)


@router.get("/inbox", response_model=dict[str, int])
async def inbox(ctx: ContextDep, _: AnyRole) -> dict[str, int]:
    return await ctx.inbox.counts()
