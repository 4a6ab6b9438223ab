"""The nightly Temporal Schedules: created at the finance worker's start, idempotently.

Each is visible (and pausable) in the Temporal UI under its id. A schedule that already
exists gets the current cron and action (a changed setting applies at the next start)
but keeps its state: one paused by a person stays paused."""

from __future__ import annotations

import logging
from dataclasses import replace

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from config.settings import Settings
from domain.reconciliation import ReconcileRequest, ReconKind
from workflows.reconciliation import RECONCILIATION_WORKFLOW

log = logging.getLogger("retaguarda.schedules")


def schedule_id(kind: ReconKind) -> str:
    return f"reconcile-{kind.value}-nightly"


def nightly_schedules(settings: Settings) -> dict[str, Schedule]:
    f = settings.finance
    queue = settings.temporal.finance_queue
    crons = {ReconKind.MARKETPLACE: f.marketplace_cron, ReconKind.BANK: f.bank_cron}
    out = {}
    for kind, cron in crons.items():
        request = ReconcileRequest(
            kind=kind, timezone=f.timezone, tolerance=f.tolerance, finance_queue=queue,
            date_tolerance_days=f.bank_date_tolerance_days,
            portal_channels=f.portal_channels() if kind is ReconKind.MARKETPLACE else [],
            rpa_queue=settings.temporal.rpa_queue,
        )  # fmt: skip
        out[schedule_id(kind)] = Schedule(
            action=ScheduleActionStartWorkflow(
                RECONCILIATION_WORKFLOW,
                request,
                id=f"reconcile:{kind.value}:nightly",
                task_queue=queue,
            ),
            spec=ScheduleSpec(cron_expressions=[cron]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            state=ScheduleState(note=f"nightly {kind.value} reconciliation of the day before"),
        )
    return out


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create the nightly schedules, or bring existing ones up to date; their ids."""
    if not settings.finance.schedule:
        return []
    for sid, schedule in nightly_schedules(settings).items():
        try:
            await client.create_schedule(sid, schedule)
            log.info("created schedule %s", sid)
        except ScheduleAlreadyRunningError:

            def updated(given: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                current = given.description.schedule
                return ScheduleUpdate(
                    schedule=replace(current, action=new.action, spec=new.spec, policy=new.policy)
                )

            await client.get_schedule_handle(sid).update(updated)
    return list(nightly_schedules(settings))
