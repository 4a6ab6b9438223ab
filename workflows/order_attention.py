"""Needs attention: a step that fails for good records why and waits for an ops decision
(retry, skip with the result obtained by hand, or compensate), taken as an Update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as StepTimeout

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, OpsDecision, StepFailure
    from domain.errors import DomainError
    from domain.steps import AttentionChange
    from workflows import steps
    from workflows.search import NEEDS_ATTENTION, STUCK_STEP

from workflows.order_base import CANCELLABLE, CancelOrder, OrderBase, T


class AttentionMixin(OrderBase):
    async def _step(
        self,
        name: str,
        action: Callable[[], Awaitable[T]],
        *,
        skip_type: type[BaseModel] | None = None,
        skippable: bool = False,
    ) -> T:
        """Run a step; when it fails for good, wait for ops to retry, skip or compensate.
        Skip is offered only where the order can go on without the step's result
        (`skippable`) or with a result given by hand (`skip_type`)."""
        while True:
            try:
                return await action()
            except (ActivityError, ApplicationError, DomainError) as err:
                failure = self._failure_from(name, err)
            decision = await self._needs_attention(
                failure, skip_type, skippable or skip_type is not None
            )
            if decision.action is OpsAction.RETRY:
                continue
            if decision.action is OpsAction.SKIP:
                if skip_type is None:
                    return None  # type: ignore[return-value]
                return skip_type.model_validate(decision.data or {})  # type: ignore[return-value]
            raise CancelOrder(decision.reason or f"ops chose to compensate at step {name}")

    def _failure_from(self, step: str, err: Exception) -> StepFailure:
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

    async def _needs_attention(
        self, failure: StepFailure, skip_type: type[BaseModel] | None, can_skip: bool
    ) -> OpsDecision:
        self._failure, self._skip_type, self._can_skip = failure, skip_type, can_skip
        workflow.upsert_search_attributes(
            [NEEDS_ATTENTION.value_set(True), STUCK_STEP.value_set(failure.step)]
        )
        await self._local(
            steps.RECORD_ATTENTION,
            AttentionChange(order_id=self._id, at=workflow.now(), failure=failure),
        )
        await workflow.wait_condition(
            lambda: (
                self._decision is not None
                or (self._cancel_reason is not None and not self._compensating)
            )
        )
        decision = self._decision or OpsDecision(
            action=OpsAction.COMPENSATE, actor="channel", reason=self._cancel_reason or ""
        )
        self._decision, self._failure, self._skip_type = None, None, None
        workflow.upsert_search_attributes(
            [NEEDS_ATTENTION.value_set(False), STUCK_STEP.value_set("")]
        )
        await self._local(
            steps.RECORD_ATTENTION,
            AttentionChange(
                order_id=self._id, at=workflow.now(), failure=failure, decision=decision
            ),
        )
        return decision

    @workflow.update(name="decide")
    async def decide(self, decision: OpsDecision) -> str:
        self._decision = decision
        return f"{decision.action.value} accepted"

    @decide.validator
    def _validate_decision(self, decision: OpsDecision) -> None:
        if self._failure is None or self._decision is not None:
            raise ApplicationError("this order is not waiting for an ops decision", type="NotStuck")
        if decision.action is OpsAction.COMPENSATE and self._status not in CANCELLABLE:
            raise ApplicationError(
                f"an order in status {self._status.value} cannot be compensated: "
                "it has left the warehouse (handle it as a return)",
                type="NotCancellable",
            )
        if decision.action is OpsAction.COMPENSATE and self._compensating:
            raise ApplicationError(
                "the order is already being compensated: retry or skip this undo step",
                type="AlreadyCompensating",
            )
        if decision.action is OpsAction.SKIP and not self._can_skip:
            raise ApplicationError(
                f"step {self._failure.step} cannot be skipped: the order needs its result. "
                "Fix the cause and retry, or compensate the order",
                type="NotSkippable",
            )
        if decision.action is OpsAction.SKIP and self._skip_type is not None:
            try:
                self._skip_type.model_validate(decision.data or {})
            except ValidationError as exc:
                raise ApplicationError(
                    f"skip needs the result of step {self._failure.step} by hand: {exc}",
                    type="InvalidSkipData",
                ) from None
