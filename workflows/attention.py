"""Needs attention: a step that fails for good records why and waits for an ops decision
(retry, skip with the result obtained by hand, or compensate), taken as an Update; a wait
on a person or a provider that outlives its SLA raises the same flag while it goes on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as StepTimeout

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, OpsDecision, StepFailure
    from domain.customer_fix import apply_correction, correction_for
    from domain.errors import DomainError
    from domain.orders import can_cancel
    from domain.steps import AttentionChange
    from workflows import steps
    from workflows.search import NEEDS_ATTENTION, STUCK_STEP

from workflows.order_state import CancelOrder, OrderProgress

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
STEP_ERRORS = (ActivityError, ApplicationError, DomainError)
INCIDENT_DECISIONS = frozenset({OpsAction.RESHIP, OpsAction.RETURN_TO_STOCK})


class Attention:
    def __init__(self, state: OrderProgress, steps_: steps.Steps) -> None:
        self._s = state
        self._steps = steps_

    # ------------------------------------------------------------------ running steps
    async def attempt(self, name: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run a step the order cannot go on without: on failure, retry or compensate."""
        while True:
            try:
                return await action()
            except STEP_ERRORS as err:
                failure = failure_from(name, err)
            self._retry_or_cancel(name, await self.ask(failure, None, can_skip=False))

    async def attempt_or_skip(self, name: str, action: Callable[[], Awaitable[T]]) -> T | None:
        """Run a step the order can go on without: ops may also skip it (None)."""
        while True:
            try:
                return await action()
            except STEP_ERRORS as err:
                failure = failure_from(name, err)
            decision = await self.ask(failure, None, can_skip=True)
            if decision.action is OpsAction.SKIP:
                return None
            self._retry_or_cancel(name, decision)

    async def attempt_or_manual(
        self, name: str, action: Callable[[], Awaitable[M]], manual: type[M]
    ) -> M:
        """Run a step whose result the order needs: ops may skip it by giving the
        result obtained by hand (validated before the decision is accepted)."""
        while True:
            try:
                return await action()
            except STEP_ERRORS as err:
                failure = failure_from(name, err)
            decision = await self.ask(failure, manual, can_skip=True)
            if decision.action is OpsAction.SKIP:
                return manual.model_validate(decision.data or {})
            self._retry_or_cancel(name, decision)

    @staticmethod
    def _retry_or_cancel(name: str, decision: OpsDecision) -> None:
        if decision.action is OpsAction.RETRY:
            return
        raise CancelOrder(decision.reason or f"ops chose to compensate at step {name}")

    # ------------------------------------------------------------------ asking ops
    async def ask(
        self, failure: StepFailure, skip_type: type[BaseModel] | None, *, can_skip: bool
    ) -> OpsDecision:
        """Flag the order, record why, and wait for ops (or a cancellation, which
        counts as compensate)."""
        s = self._s
        await self._raise_flag(failure, skip_type, can_skip)
        await workflow.wait_condition(
            lambda: s.decision is not None or (s.cancel_reason is not None and not s.compensating)
        )
        decision = s.decision or OpsDecision(
            action=OpsAction.COMPENSATE, actor="channel", reason=s.cancel_reason or ""
        )
        await self._lower_flag(failure, AttentionChange(
            order_id=s.order_id, at=workflow.now(), failure=failure, decision=decision
        ))  # fmt: skip
        return decision

    async def wait_past_sla(
        self,
        condition: Callable[[], bool],
        *,
        sla: timedelta,
        overdue: Callable[[], StepFailure],
        can_skip: bool = False,
    ) -> OpsDecision | None:
        """Wait for `condition` (or a cancellation). Past `sla` the order is flagged
        while the wait goes on: the condition coming true lowers the flag by itself
        (None); otherwise ops decide (retry: another SLA period; skip; compensate)."""
        s = self._s

        def settled() -> bool:
            return condition() or s.cancel_reason is not None

        try:
            await workflow.wait_condition(settled, timeout=sla)
            return None
        except TimeoutError:
            pass
        failure = overdue()
        await self._raise_flag(failure, None, can_skip)
        await workflow.wait_condition(lambda: settled() or s.decision is not None)
        decision = s.decision
        if decision is None:
            what = "the wait ended" if condition() else "the order is being cancelled"
            resolved = AttentionChange(
                order_id=s.order_id, at=workflow.now(), failure=failure, resolved=what
            )
        else:
            resolved = AttentionChange(
                order_id=s.order_id, at=workflow.now(), failure=failure, decision=decision
            )
        await self._lower_flag(failure, resolved)
        return decision

    async def _raise_flag(
        self, failure: StepFailure, skip_type: type[BaseModel] | None, can_skip: bool
    ) -> None:
        s = self._s
        s.failure, s.skip_type, s.can_skip = failure, skip_type, can_skip
        workflow.upsert_search_attributes(
            [NEEDS_ATTENTION.value_set(True), STUCK_STEP.value_set(failure.step)]
        )
        await self._steps.call(
            steps.RECORD_ATTENTION,
            AttentionChange(order_id=s.order_id, at=workflow.now(), failure=failure),
        )

    async def _lower_flag(self, failure: StepFailure, change: AttentionChange) -> None:
        s = self._s
        s.decision, s.failure, s.skip_type = None, None, None
        workflow.upsert_search_attributes(
            [NEEDS_ATTENTION.value_set(False), STUCK_STEP.value_set("")]
        )
        await self._steps.call(steps.RECORD_ATTENTION, change)


def failure_from(step: str, err: Exception) -> StepFailure:
    """What ops see of a failed step: its name, the error's type and message, attempts."""
    cause: BaseException = err
    attempts = 0
    prefix = ""
    if isinstance(err, ActivityError):
        cause = err.cause or err
    if isinstance(cause, StepTimeout) and cause.cause is not None:
        kind = cause.type.name if cause.type else "timeout"
        prefix = f"still failing when the step's deadline passed ({kind}): "
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        error_type = cause.type or "ApplicationError"
        if cause.details and isinstance(cause.details[0], dict):
            attempts = int(cause.details[0].get("attempt", 0))
        message = cause.message
    elif isinstance(cause, DomainError):
        error_type, message = cause.code, cause.message
    else:
        error_type, message = type(cause).__name__, str(cause) or type(cause).__name__
    return StepFailure(
        step=step,
        error_type=error_type,
        message=prefix + message,
        attempts=attempts,
        at=workflow.now(),
    )


def take_decision(s: OrderProgress, decision: OpsDecision) -> None:
    """The `decide` Update: a retry that carries a correction of the customer's address
    or CPF changes the order the workflow holds, so the retried step and every later one
    (NF-e, quotes, booking, labels) use the corrected data. Nothing is scheduled here: the
    commands are those of a plain retry."""
    if decision.correction is not None and s.order is not None:
        s.order = apply_correction(s.order, decision.correction)
        fixed = [n for n in ("address", "cpf") if getattr(decision.correction, n) is not None]
        s.notes.append(f"{' and '.join(fixed)} corrected by {decision.actor}")
    s.decision = decision


def validate_decision(s: OrderProgress, decision: OpsDecision) -> None:
    """The `decide` Update's validator: refuse before anything is accepted."""
    if s.failure is None or s.decision is not None:
        raise ApplicationError("this order is not waiting for an ops decision", type="NotStuck")
    if decision.action in INCIDENT_DECISIONS and decision.action not in s.incident_actions:
        allowed = ", ".join(sorted(a.value for a in s.incident_actions)) or "retry, skip"
        raise ApplicationError(
            f"{decision.action.value} is a decision on a lost, damaged or returned parcel; "
            f"this order is stuck at {s.failure.step} and takes: {allowed}",
            type="NotAnIncidentDecision",
        )
    if decision.correction is not None:
        _validate_correction(s, decision)
    if decision.action is OpsAction.COMPENSATE and not can_cancel(s.status):
        raise ApplicationError(
            f"an order in status {s.status.value} cannot be compensated: "
            "it has left the warehouse (handle it as a return)",
            type="NotCancellable",
        )
    if decision.action is OpsAction.COMPENSATE and s.compensating:
        raise ApplicationError(
            "the order is already being compensated: retry or skip this undo step",
            type="AlreadyCompensating",
        )
    if decision.action is OpsAction.SKIP and not s.can_skip:
        raise ApplicationError(
            f"step {s.failure.step} cannot be skipped: the order needs its result. "
            "Fix the cause and retry, or compensate the order",
            type="NotSkippable",
        )
    if decision.action is OpsAction.SKIP and s.skip_type is not None:
        try:
            s.skip_type.model_validate(decision.data or {})
        except ValidationError as exc:
            raise ApplicationError(
                f"skip needs the result of step {s.failure.step} by hand: {exc}",
                type="InvalidSkipData",
            ) from None


def _validate_correction(s: OrderProgress, decision: OpsDecision) -> None:
    failure, correction = s.failure, decision.correction
    assert failure is not None
    assert correction is not None
    if decision.action is not OpsAction.RETRY:
        raise ApplicationError(
            "a correction of the address or CPF goes with a retry", type="InvalidCorrection"
        )
    if s.order is None:
        raise ApplicationError(
            "the order's content has not arrived: there is nothing to correct yet",
            type="InvalidCorrection",
        )
    if correction_for(failure.step, failure.error_type, failure.message) is None:
        raise ApplicationError(
            f"step {failure.step} did not fail on the customer's data ({failure.error_type}): "
            "correcting the address or CPF would not unblock it",
            type="InvalidCorrection",
        )
