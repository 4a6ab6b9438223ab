"""What people do to an order, in one place for the API and the console: cancel, decide
on a stuck order (retry / skip with data / compensate), and the warehouse steps.

Each goes to the order's workflow as an Update; what the read model and the audit learn
is written only from the workflow's answer, which is durable once returned, so no
screen ever shows a step the workflow does not know."""

from __future__ import annotations

from typing import Any

from api.gateway import TemporalGateway
from db.audit import AuditLog
from db.order_corrections import NewCorrection, OrderCorrectionRepository
from db.orders import OrderReadModel
from db.types import utcnow
from db.warehouse import WarehouseRepository
from domain.attention import OpsAction, OpsDecision
from domain.customer_fix import CustomerCorrection, correction_for
from domain.errors import DomainError, InvalidTransition
from domain.steps import StatusChange
from domain.warehouse import (
    WarehouseAction,
    WarehouseOutcome,
    WarehouseStep,
    check_differences,
)
from workflows.steps import CANCEL_UPDATE, DECIDE_UPDATE, WAREHOUSE_UPDATE


class OpsActions:
    def __init__(
        self,
        gateway: TemporalGateway,
        orders: OrderReadModel,
        warehouse: WarehouseRepository,
        audit: AuditLog,
        corrections: OrderCorrectionRepository | None = None,
    ) -> None:
        self._gateway = gateway
        self._orders = orders
        self._warehouse = warehouse
        self._audit = audit
        self._corrections = corrections

    async def cancel(self, order_id: str, reason: str, who: str) -> str:
        """Cancel an order that is not stuck (before it leaves the warehouse)."""
        result: str = await self._gateway.update(order_id, CANCEL_UPDATE, f"{reason} ({who})", str)
        await self._audit.record(who, "ops:cancel", order_id, {"reason": reason})
        return result

    async def decide(
        self,
        order_id: str,
        action: OpsAction,
        who: str,
        reason: str = "",
        data: dict[str, Any] | None = None,
    ) -> str:
        """Retry, skip (with the step's result obtained by hand) or compensate a stuck
        order. The workflow audits the decision when it takes it."""
        decision = OpsDecision(action=action, actor=who, reason=reason, data=data)
        result: str = await self._gateway.update(order_id, DECIDE_UPDATE, decision, str)
        return result

    async def correct_and_retry(
        self,
        order_id: str,
        correction: CustomerCorrection,
        who: str,
        reason: str = "",
        key: str | None = None,
    ) -> str:
        """Correct the customer's address and/or CPF of an order stuck on them and retry
        the step: the workflow takes the correction with the retry (it refuses one for a
        step that did not fail on the customer's data), then the correction is kept with
        what it replaced and audited."""
        state = await self._gateway.state(order_id)
        failure, held = state.failure, state.order
        if failure is None:
            raise DomainError("this order is not stuck: there is nothing to retry", code="NotStuck")
        if (
            held is None
            or correction_for(failure.step, failure.error_type, failure.message) is None
        ):
            raise DomainError(
                f"step {failure.step} did not fail on the customer's address or CPF "
                f"({failure.error_type}): correcting them would not unblock it",
                code="InvalidCorrection",
            )
        decision = OpsDecision(
            action=OpsAction.RETRY, actor=who, reason=reason, correction=correction
        )
        result: str = await self._gateway.update(order_id, DECIDE_UPDATE, decision, str)
        customer, changes = held.customer, []
        if correction.address is not None:
            changes.append(NewCorrection(
                "address", customer.address.model_dump(mode="json"),
                correction.address.model_dump(mode="json"),
            ))  # fmt: skip
        if correction.cpf is not None:
            changes.append(NewCorrection("cpf", {"cpf": customer.cpf}, {"cpf": correction.cpf}))
        at = utcnow()
        if self._corrections is not None:
            await self._corrections.record(
                order_id, changes, step=failure.step, error_type=failure.error_type,
                actor=who, reason=reason, at=at, key=key,
            )  # fmt: skip
        await self._audit.record(
            who, "ops:correct", order_id,
            {"step": failure.step, "corrected": [c.kind for c in changes], "reason": reason},
            at, key=f"{key}:audit" if key else None,
        )  # fmt: skip
        return result

    async def warehouse_step(
        self, order_id: str, action: WarehouseAction, attempt: str | None = None
    ) -> WarehouseOutcome:
        """Pick, pack or check; the task list and the order's status follow the
        workflow's answer (repeating a step the workflow knows repairs a task list that
        missed it). A check that does not match what the order holds is a mistake
        caught: it is recorded (once per `attempt`, the station's screen) with the
        operator and shift, and refused with what differs, as the workflow would."""
        if action.step is WarehouseStep.CHECK:
            await self._catch_mismatch(order_id, action, attempt)
        outcome: WarehouseOutcome = await self._gateway.update(
            order_id, WAREHOUSE_UPDATE, action, WarehouseOutcome
        )
        for record in outcome.steps or (outcome.record,):
            await self._warehouse.record_step(order_id, record)
        await self._orders.record(
            StatusChange(order_id=order_id, status=outcome.status, at=outcome.record.at)
        )
        return outcome

    async def _catch_mismatch(
        self, order_id: str, action: WarehouseAction, attempt: str | None
    ) -> None:
        task = await self._warehouse.get(order_id)
        if task is None or task.next_step is not WarehouseStep.CHECK:
            return  # nothing to check yet, or checked already: the workflow answers
        problems = check_differences(task.items, action.scanned)
        if not problems:
            return
        await self._warehouse.record_mistake(
            order_id,
            action.operator,
            action.shift,
            problems,
            utcnow(),
            key=f"{order_id}:check:{attempt}" if attempt else None,
        )
        raise InvalidTransition("check failed: " + "; ".join(problems))
