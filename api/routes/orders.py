"""Orders: the read model (cheap, always there) and the live workflow state."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import AnyRole, ContextDep
from api.errors import NotFound
from api.gateway import TemporalUnavailable
from db.orders import OrderView
from domain.orders import Channel, OrderStatus
from domain.steps import OrderState

router = APIRouter(prefix="/orders", tags=["orders"])


class OrderDetail(BaseModel):
    order: OrderView
    live: OrderState | None = None
    live_error: str | None = None


@router.get("", response_model=list[OrderView])
async def list_orders(
    ctx: ContextDep,
    _: AnyRole,
    status: OrderStatus | None = None,
    channel: Channel | None = None,
    needs_attention: bool | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=10_000_000),
) -> list[OrderView]:
    return await ctx.orders.list(
        status=status, needs_attention=needs_attention, channel=channel, limit=limit, offset=offset
    )


@router.get("/summary", response_model=dict[str, int])
async def summary(ctx: ContextDep, _: AnyRole) -> dict[str, int]:
    return await ctx.orders.count_by_status()


@router.get("/{order_id}", response_model=OrderDetail)
async def get_order(order_id: str, ctx: ContextDep, _: AnyRole) -> OrderDetail:
    view = await ctx.orders.get(order_id)
    if view is None:
        raise NotFound(f"no order {order_id}; ids look like order:<channel>:<external id>")
    try:
        return OrderDetail(order=view, live=await ctx.gateway.state(order_id))
    except TemporalUnavailable as exc:
        return OrderDetail(order=view, live_error=exc.message)
