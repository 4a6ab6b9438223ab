"""Warehouse steps (pick, pack, check) and the check (conferência) rule."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from domain.errors import InvalidTransition
from domain.orders import Frozen, OrderStatus


class PackedParcel(Frozen):
    """The box as the packer weighed and measured it (for the freight)."""

    weight_g: int = Field(gt=0, le=100_000)
    height_cm: int = Field(gt=0, le=200)
    width_cm: int = Field(gt=0, le=200)
    length_cm: int = Field(gt=0, le=200)


class WarehouseStep(StrEnum):
    PICK = "pick"
    PACK = "pack"
    CHECK = "check"


STEP_ORDER = (WarehouseStep.PICK, WarehouseStep.PACK, WarehouseStep.CHECK)

# The order's status once each step is done.
STATUS_AFTER = {
    WarehouseStep.PICK: OrderStatus.PICKED,
    WarehouseStep.PACK: OrderStatus.PACKED,
    WarehouseStep.CHECK: OrderStatus.CHECKED,
}
IN_WAREHOUSE = frozenset({OrderStatus.PICKING, OrderStatus.PICKED, OrderStatus.PACKED})


class WarehouseAction(Frozen):
    step: WarehouseStep
    operator: str = Field(min_length=1, max_length=60)
    shift: str = Field(default="", max_length=20)
    scanned: dict[str, int] = Field(
        default_factory=dict, description="check only: SKU -> quantity scanned"
    )
    parcel: PackedParcel | None = Field(
        default=None, description="pack only: the box weighed and measured"
    )


class WarehouseRecord(Frozen):
    step: WarehouseStep
    operator: str
    shift: str = ""
    at: datetime
    parcel: PackedParcel | None = None


class WarehouseOutcome(Frozen):
    """The workflow's answer to a warehouse step, durable once returned: the step's
    record, the order's status after it and the step that comes next (None: done)."""

    record: WarehouseRecord
    status: OrderStatus
    next_step: WarehouseStep | None
    steps: tuple[WarehouseRecord, ...] = ()


class WarehouseTaskRequest(Frozen):
    order_id: str
    idempotency_key: str
    quantities: dict[str, int]
    at: datetime | None = None  # workflow time the task opens


def expected_step(done: list[WarehouseStep]) -> WarehouseStep | None:
    for step in STEP_ORDER:
        if step not in done:
            return step
    return None


def validate_action(
    action: WarehouseAction, done: list[WarehouseStep], expected_items: dict[str, int]
) -> None:
    """Raise InvalidTransition when the action is out of order or the check does not match
    what the order contains, with a message the operator can act on."""
    step = expected_step(done)
    if step is None:
        raise InvalidTransition("this order has already been picked, packed and checked")
    if action.step != step:
        raise InvalidTransition(f"cannot {action.step.value} yet: the next step is {step.value}")
    if action.step is WarehouseStep.CHECK:
        problems = check_differences(expected_items, action.scanned)
        if problems:
            raise InvalidTransition("check failed: " + "; ".join(problems))


def check_differences(expected: dict[str, int], scanned: dict[str, int]) -> list[str]:
    problems = []
    for sku in sorted(set(expected) | set(scanned)):
        want, got = expected.get(sku, 0), scanned.get(sku, 0)
        if want != got:
            if want == 0:
                problems.append(f"{sku} is not in this order ({got} scanned)")
            else:
                problems.append(f"{sku}: expected {want}, scanned {got}")
    return problems
