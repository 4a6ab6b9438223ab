"""Warehouse tasks (one per order) and the pick/pack/check events operators record.

Which step may come next is a domain rule (``domain.warehouse.validate_action``); this
module stores what happened, once per (order, step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import OrderRow, WarehouseEvent, WarehouseMistake, WarehouseTask
from db.session import dialect_insert, read_session
from db.types import utcnow
from domain.errors import InvalidTransition
from domain.warehouse import (
    STEP_ORDER,
    PackedParcel,
    WarehouseRecord,
    WarehouseStep,
    expected_step,
)

STATUS_AFTER = {
    WarehouseStep.PICK: "picked",
    WarehouseStep.PACK: "packed",
    WarehouseStep.CHECK: "checked",
}
CLOSED = ("checked", "cancelled")


@dataclass(frozen=True, slots=True)
class WarehouseTaskView:
    order_id: str
    items: dict[str, int]
    status: str
    created_at: datetime
    updated_at: datetime
    steps: tuple[WarehouseRecord, ...]

    @property
    def next_step(self) -> WarehouseStep | None:
        if self.status == "cancelled":
            return None
        return expected_step([r.step for r in self.steps])


class WarehouseRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def create_task(
        self, order_id: str, items: dict[str, int], at: datetime
    ) -> WarehouseTaskView:
        """Create the order's task once; a repeat returns the existing task unchanged."""
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, WarehouseTask)
                .values(
                    order_id=order_id,
                    items=dict(sorted(items.items())),
                    status="pending",
                    created_at=at,
                    updated_at=at,
                )
                .on_conflict_do_nothing(index_elements=["order_id"])
            )
            view = (await _views(s, [order_id]))[0]
            await s.commit()
        return view

    async def record_step(self, order_id: str, record: WarehouseRecord) -> WarehouseTaskView:
        """Store the step once per (order, step); the task status follows the furthest
        step recorded. Raises InvalidTransition for an unknown or cancelled task."""
        async with self._sessionmaker() as s:
            task = await s.scalar(
                select(WarehouseTask).where(WarehouseTask.order_id == order_id).with_for_update()
            )
            if task is None:
                raise InvalidTransition(f"there is no warehouse task for {order_id}")
            if task.status == "cancelled":
                raise InvalidTransition(f"the warehouse task for {order_id} was cancelled")
            await s.execute(
                dialect_insert(s, WarehouseEvent)
                .values(
                    order_id=order_id,
                    step=record.step.value,
                    operator=record.operator,
                    shift=record.shift,
                    at=record.at,
                    **(record.parcel.model_dump() if record.parcel else {}),
                )
                .on_conflict_do_nothing(index_elements=["order_id", "step"])
            )
            done = set(
                (
                    await s.scalars(
                        select(WarehouseEvent.step).where(WarehouseEvent.order_id == order_id)
                    )
                ).all()
            )
            furthest = [STATUS_AFTER[step] for step in STEP_ORDER if step.value in done][-1]
            if furthest != task.status:
                await s.execute(
                    update(WarehouseTask)
                    .where(WarehouseTask.order_id == order_id)
                    .values(status=furthest, updated_at=max(task.updated_at, record.at))
                )
            view = (await _views(s, [order_id]))[0]
            await s.commit()
        return view

    async def record_mistake(
        self,
        order_id: str,
        operator: str,
        shift: str,
        differences: list[str],
        at: datetime,
        key: str | None = None,
    ) -> bool:
        """A check that did not match (the mistake caught): stored once per ``key`` (the
        station's attempt, so a resent form counts once) and counted on the order for
        the perfect-order rate. Returns whether it was new."""
        async with self._sessionmaker() as s:
            if key is not None and await s.scalar(
                select(WarehouseMistake.id).where(WarehouseMistake.key == key)
            ):
                return False
            s.add(
                WarehouseMistake(
                    order_id=order_id,
                    operator=operator,
                    shift=shift,
                    at=at,
                    differences=differences,
                    key=key,
                )
            )
            await s.execute(
                update(OrderRow)
                .where(OrderRow.order_id == order_id)
                .values(check_mismatches=OrderRow.check_mismatches + 1)
            )
            await s.commit()
        return True

    async def cancel_task(
        self, order_id: str, at: datetime | None = None
    ) -> WarehouseTaskView | None:
        """Take the task off the floor (saga undo). Idempotent."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(WarehouseTask)
                .where(WarehouseTask.order_id == order_id, WarehouseTask.status != "cancelled")
                .values(status="cancelled", updated_at=at or utcnow())
            )
            views = await _views(s, [order_id])
            await s.commit()
        return views[0] if views else None

    async def open_tasks(self, limit: int = 50) -> list[WarehouseTaskView]:
        """Tasks not yet checked nor cancelled, oldest first."""
        async with read_session(self._sessionmaker) as s:
            ids = (
                await s.scalars(
                    select(WarehouseTask.order_id)
                    .where(WarehouseTask.status.not_in(CLOSED))
                    .order_by(WarehouseTask.created_at, WarehouseTask.order_id)
                    .limit(limit)
                )
            ).all()
            return await _views(s, list(ids))

    async def get(self, order_id: str) -> WarehouseTaskView | None:
        async with read_session(self._sessionmaker) as s:
            views = await _views(s, [order_id])
        return views[0] if views else None


async def _views(s: AsyncSession, order_ids: list[str]) -> list[WarehouseTaskView]:
    if not order_ids:
        return []
    tasks = {
        t.order_id: t
        for t in await s.scalars(
            select(WarehouseTask)
            .where(WarehouseTask.order_id.in_(order_ids))
            .execution_options(populate_existing=True)
        )
    }
    steps: dict[str, list[WarehouseRecord]] = {oid: [] for oid in tasks}
    events = await s.scalars(
        select(WarehouseEvent)
        .where(WarehouseEvent.order_id.in_(list(tasks)))
        .order_by(WarehouseEvent.at, WarehouseEvent.id)
    )
    for e in events:
        parcel = None
        if e.weight_g and e.height_cm and e.width_cm and e.length_cm:
            parcel = PackedParcel(
                weight_g=e.weight_g, height_cm=e.height_cm, width_cm=e.width_cm,
                length_cm=e.length_cm,
            )  # fmt: skip
        steps[e.order_id].append(
            WarehouseRecord(
                step=WarehouseStep(e.step),
                operator=e.operator,
                shift=e.shift,
                at=e.at,
                parcel=parcel,
            )  # fmt: skip
        )
    return [
        WarehouseTaskView(
            order_id=t.order_id,
            items={k: int(v) for k, v in t.items.items()},
            status=t.status,
            created_at=t.created_at,
            updated_at=t.updated_at,
            steps=tuple(steps[t.order_id]),
        )
        for oid in order_ids
        if (t := tasks.get(oid)) is not None
    ]
