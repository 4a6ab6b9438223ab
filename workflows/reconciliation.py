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
`portal-settlement`: a request without portal channels runs the commands it always ran).

A step that fails for good (a portal that refuses the bot's password, a report that does
not parse) does not fail the night: the workflow records why (`state` query), raises
`NeedsAttention` and `StuckStep`, and waits for a finance person's decision, taken as the
same `decide` Update the orders take (`POST /finance/reconciliations/{kind}/{day}/decision`):
retry once the cause is fixed, or, for a portal download only, skip it, and that channel's
lines are then read from the provider's API report (where a channel settled only on its
portal has none: its sales show as missing payouts, for the person who chose it). Patch
`reconcile-asks-a-person`: before it, such a failure failed the workflow."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, OpsDecision, StepFailure
    from domain.receivables import business_day
    from domain.reconciliation import (
        AccrueRequest,
        NightWaiting,
        ReconcileRequest,
        ReconcileResult,
        ReconKind,
        SettlementDownload,
        night_to_reconcile,
    )
    from domain.steps import TaskQueues
    from workflows import steps
    from workflows.search import NEEDS_ATTENTION, STUCK_STEP

from workflows.attention import STEP_ERRORS, failure_from

RECONCILIATION_WORKFLOW = "ReconciliationWorkflow"
PORTAL_SETTLEMENT = "portal-settlement"
ASKS_A_PERSON = "reconcile-asks-a-person"


@workflow.defn(name=RECONCILIATION_WORKFLOW)
class ReconciliationWorkflow:
    def __init__(self) -> None:
        self._failure: StepFailure | None = None
        self._can_skip = False
        self._decision: OpsDecision | None = None

    @workflow.run
    async def run(self, request: ReconcileRequest) -> ReconcileResult:
        day = request.day or night_to_reconcile(business_day(workflow.now(), request.timezone))
        queues = TaskQueues(finance=request.finance_queue, rpa=request.rpa_queue)
        calls = steps.Steps(queues)
        await calls.call(steps.ACCRUE_RECEIVABLES, AccrueRequest(day=day))
        portal = request.portal_channels if request.kind is ReconKind.MARKETPLACE else []
        if portal and workflow.patched(PORTAL_SETTLEMENT):
            reports = []
            for channel in sorted(set(portal)):
                download = SettlementDownload(day=day, channel=channel)
                report = await self._step(
                    steps.DOWNLOAD_SETTLEMENT_REPORT.name,
                    lambda d=download: calls.call(steps.DOWNLOAD_SETTLEMENT_REPORT, d),
                    can_skip=True,
                )
                if report is not None:  # skipped: the channel's lines come from the API
                    reports.append(report)
            request = request.model_copy(update={"portal_reports": reports})
        step = {
            ReconKind.MARKETPLACE: steps.RECONCILE_MARKETPLACE,
            ReconKind.BANK: steps.RECONCILE_BANK,
        }[request.kind]
        night = request.model_copy(update={"day": day})
        result: ReconcileResult | None = await self._step(
            step.name, lambda: calls.call(step, night), can_skip=False
        )
        assert result is not None  # the reconcile step cannot be skipped
        workflow.upsert_search_attributes([NEEDS_ATTENTION.value_set(result.alerts > 0)])
        return result

    async def _step(self, name: str, action: Any, *, can_skip: bool) -> Any:
        """Run a step; when it fails for good, wait for a person (module docstring)."""
        while True:
            try:
                return await action()
            except STEP_ERRORS as err:
                if not workflow.patched(ASKS_A_PERSON):
                    raise
                self._failure, self._can_skip = failure_from(name, err), can_skip
            workflow.upsert_search_attributes(
                [NEEDS_ATTENTION.value_set(True), STUCK_STEP.value_set(name)]
            )
            await workflow.wait_condition(lambda: self._decision is not None)
            decision, self._decision, self._failure = self._decision, None, None
            workflow.upsert_search_attributes(
                [NEEDS_ATTENTION.value_set(False), STUCK_STEP.value_unset()]
            )
            if decision is not None and decision.action is OpsAction.SKIP:
                return None

    @workflow.update(name=steps.DECIDE_UPDATE)
    async def decide(self, decision: OpsDecision) -> str:
        self._decision = decision
        return f"{decision.action.value} accepted"

    @decide.validator
    def _validate_decision(self, decision: OpsDecision) -> None:
        if self._failure is None or self._decision is not None:
            raise ApplicationError("the night is not waiting for a decision", type="NotStuck")
        if decision.action is OpsAction.SKIP and not self._can_skip:
            raise ApplicationError(
                f"{self._failure.step} cannot be skipped: retry it once the cause is fixed",
                type="NotSkippable",
            )
        if decision.action not in (OpsAction.RETRY, OpsAction.SKIP):
            raise ApplicationError(
                f"a night takes retry or skip, not {decision.action.value}", type="NotAllowed"
            )

    @workflow.query(name=steps.STATE_QUERY)
    def state(self) -> NightWaiting:
        return NightWaiting(failure=self._failure, can_skip=self._can_skip)
