"""Warehouse: the task list operators work from, and pick / pack / check."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ContextDep, WarehouseRole
from db.warehouse import WarehouseTaskView
from domain.warehouse import WarehouseAction, WarehouseOutcome, WarehouseRecord, WarehouseStep

router = APIRouter(prefix="/warehouse", tags=["warehouse"])


class StepBody(BaseModel):
    operator: str | None = Field(
        default=None, max_length=60, description="defaults to the API key's name"
    )
    shift: str = Field(default="", max_length=20)
    scanned: dict[str, int] = Field(
        default_factory=dict, description="check only: SKU -> quantity scanned"
    )


class TaskOut(BaseModel):
    order_id: str
    items: dict[str, int]
    status: str
    next_step: WarehouseStep | None
    created_at: datetime
    steps: list[WarehouseRecord]

    @classmethod
    def of(cls, view: WarehouseTaskView) -> TaskOut:
        return cls(
            order_id=view.order_id,
            items=view.items,
            status=view.status,
            next_step=view.next_step,
            created_at=view.created_at,
            steps=list(view.steps),
        )


@router.get("/tasks", response_model=list[TaskOut])
async def open_tasks(
    ctx: ContextDep, _: WarehouseRole, limit: int = Query(default=100, ge=1, le=1000)
) -> list[TaskOut]:
    """Open tasks, oldest first, each with the step it waits for."""
    return [TaskOut.of(v) for v in await ctx.warehouse.open_tasks(limit)]


@router.post(
    "/orders/{order_id}/{step}",
    response_model=WarehouseOutcome,
    responses={409: {"description": "out of order, or the check does not match"}},
)
async def do_step(
    order_id: str, step: WarehouseStep, body: StepBody, ctx: ContextDep, who: WarehouseRole
) -> WarehouseOutcome:
    """Record a step; the answer is the workflow's: the step's record, the order's
    status and the step that comes next (`next_step`, null once checked)."""
    action = WarehouseAction(
        step=step, operator=body.operator or who.name, shift=body.shift, scanned=body.scanned
    )
    return await ctx.actions.warehouse_step(order_id, action)
