"""`cce:{access key}:{sequence}`: one correction letter (CC-e) sent to SEFAZ, asked by a
person. The workflow id makes a second ask for the same letter a no-op; a SEFAZ that
stays down past the step's deadline flags the letter for ops (NeedsAttention) and the
workflow keeps retrying every few minutes until it lands, the flag cleared then."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.fiscal_lifecycle import Correction, CorrectionRequest
    from domain.steps import TaskQueues
    from workflows import steps
    from workflows.search import NEEDS_ATTENTION, STUCK_STEP

RETRY_EVERY = timedelta(minutes=5)


@workflow.defn(name="InvoiceCorrectionWorkflow")
class InvoiceCorrectionWorkflow:
    @workflow.run
    async def run(self, request: CorrectionRequest) -> Correction:
        calls = steps.Steps(TaskQueues())
        flagged = False
        while True:
            try:
                result = await calls.call(steps.SEND_CORRECTION, request)
            except ActivityError:
                if not flagged:
                    workflow.upsert_search_attributes(
                        [
                            NEEDS_ATTENTION.value_set(True),
                            STUCK_STEP.value_set(steps.SEND_CORRECTION.name),
                        ]
                    )
                    flagged = True
                await workflow.sleep(RETRY_EVERY)
                continue
            if flagged:
                workflow.upsert_search_attributes([NEEDS_ATTENTION.value_set(False)])
            return result
