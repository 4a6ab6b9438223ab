"""`payment-notice:{source}:{notification id}`: one thin payment notification.

The notification says only which payment changed; this fetches the payment from the
gateway (`fetch_payment`, a regular activity: a provider call) and, when it is approved,
hands PAYMENT_CONFIRMED to the order its `external_reference` names by signal-with-start
(`deliver_order_event`, local: the order drops an event it has seen, so a retry is
harmless). The order workflow is unchanged: it hears of a payment exactly as it did when
the notification carried the payment (orders in flight keep their histories).

A gateway still failing past the step's deadline flags the notice (NeedsAttention,
StuckStep=fetch_payment) and it keeps trying every few minutes, the flag cleared then;
a gateway that refuses (no such payment) ends it as ignored."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.ids import order_workflow_id
    from domain.payments import (
        FetchPaymentRequest,
        OrderDelivery,
        Payment,
        PaymentNoticeInput,
        PaymentNoticeResult,
        payment_event,
    )
    from domain.steps import OrderWorkflowInput
    from workflows import steps
    from workflows.search import NEEDS_ATTENTION, STUCK_STEP

RETRY_EVERY = timedelta(minutes=5)


@workflow.defn(name="PaymentNoticeWorkflow")
class PaymentNoticeWorkflow:
    @workflow.run
    async def run(self, inp: PaymentNoticeInput) -> PaymentNoticeResult:
        calls = steps.Steps(inp.queues)
        notice = inp.notice
        payment = await self._fetch(calls, FetchPaymentRequest(payment_id=notice.payment_id))
        if payment is None:
            return PaymentNoticeResult(
                status="ignored", detail=f"the gateway knows no payment {notice.payment_id}"
            )
        event = payment_event(notice, payment)
        if event is None:
            return PaymentNoticeResult(
                status="ignored",
                detail=f"payment {payment.payment_id} is {payment.status} "
                f"(reference {payment.external_reference!r}): no order acts on it",
            )
        start = OrderWorkflowInput(
            channel=event.channel,
            external_id=event.external_id,
            policy=inp.policy,
            queues=inp.queues,
        )
        order_id = order_workflow_id(event.channel, event.external_id)
        detail = await calls.call(
            steps.DELIVER_ORDER_EVENT, OrderDelivery(event=event, start=start)
        )
        return PaymentNoticeResult(status="delivered", order_id=order_id, detail=detail)

    async def _fetch(self, calls: steps.Steps, request: FetchPaymentRequest) -> Payment | None:
        flagged = False
        while True:
            try:
                payment = await calls.call(steps.FETCH_PAYMENT, request)
            except ActivityError as exc:
                cause = exc.cause
                if isinstance(cause, ApplicationError) and cause.non_retryable:
                    return None
                if not flagged:
                    workflow.upsert_search_attributes(
                        [
                            NEEDS_ATTENTION.value_set(True),
                            STUCK_STEP.value_set(steps.FETCH_PAYMENT.name),
                        ]
                    )
                    flagged = True
                await workflow.sleep(RETRY_EVERY)
                continue
            if flagged:
                workflow.upsert_search_attributes([NEEDS_ATTENTION.value_set(False)])
            return payment
