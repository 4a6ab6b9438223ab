"""`reconcile:{kind}:{day}`: one night's reconciliation, started by a Temporal Schedule
every night on the `finance` queue (or by a person: API, CLI).

It accrues the receivables of orders that changed, then reconciles the night in one
heavy, heartbeating activity, and raises `NeedsAttention` when lines need a person (the
alerts). A rerun of the same night replaces its results whole: running it twice changes
nothing.

A marketplace night whose request names `portal_channels` first has the `rpa` bot
download those channels' reports from their seller portal (one step per channel, on the
`rpa` queue); the reconciliation then reads each from disk by its reference and takes
those channels' lines from it, the others' from the provider's API (patch
`portal-settlement`: a request without portal channels runs the commands it always ran)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.receivables import business_day
    from domain.reconciliation import (
        AccrueRequest,
        ReconcileRequest,
        ReconcileResult,
        ReconKind,
        SettlementDownload,
        night_to_reconcile,
    )
    from domain.steps import TaskQueues
    from workflows import steps
    from workflows.search import NEEDS_ATTENTION

RECONCILIATION_WORKFLOW = "ReconciliationWorkflow"
PORTAL_SETTLEMENT = "portal-settlement"


@workflow.defn(name=RECONCILIATION_WORKFLOW)
class ReconciliationWorkflow:
    @workflow.run
    async def run(self, request: ReconcileRequest) -> ReconcileResult:
        day = request.day or night_to_reconcile(business_day(workflow.now(), request.timezone))
        queues = TaskQueues(finance=request.finance_queue, rpa=request.rpa_queue)
        calls = steps.Steps(queues)
        await calls.call(steps.ACCRUE_RECEIVABLES, AccrueRequest(day=day))
        portal = request.portal_channels if request.kind is ReconKind.MARKETPLACE else []
        if portal and workflow.patched(PORTAL_SETTLEMENT):
            reports = [
                await calls.call(
                    steps.DOWNLOAD_SETTLEMENT_REPORT, SettlementDownload(day=day, channel=channel)
                )
                for channel in sorted(set(portal))
            ]
            request = request.model_copy(update={"portal_reports": reports})
        step = {
            ReconKind.MARKETPLACE: steps.RECONCILE_MARKETPLACE,
            ReconKind.BANK: steps.RECONCILE_BANK,
        }[request.kind]
        result = await calls.call(step, request.model_copy(update={"day": day}))
        workflow.upsert_search_attributes([NEEDS_ATTENTION.value_set(result.alerts > 0)])
        return result
