"""Finance (role `finance` acts; finance, ops and viewers read): the nightly
reconciliations (run one, read its lines, download them as CSV), receivables and
anticipations."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.context import ApiContext
from api.deps import BooksRole, ContextDep, FinanceRole
from api.errors import BadRequest, NotFound
from api.gateway import WaitingNight
from db.receivables import AnticipationView, ReceivableView
from db.reconciliation import LINE_COLUMNS, LineView, RunView
from domain.attention import OpsAction, OpsDecision
from domain.month_close import MonthClose, MonthInvalid
from domain.receivables import business_day
from domain.reconciliation import (
    NightWaiting,
    ReconcileRequest,
    ReconKind,
    reconciliation_workflow_id,
)
from workflows.steps import DECIDE_UPDATE

router = APIRouter(prefix="/finance", tags=["finance"])
WAIT = timedelta(seconds=110)


class ReconcileAnswer(BaseModel):
    workflow_id: str
    status: str = Field(description="done, or running (ask again later: GET the run)")
    date: date
    lines: int = 0
    classified: dict[str, int] = Field(default_factory=dict)
    alerts: int = 0
    source: str = ""
    waiting_at: str = Field(default="", description="running: the step it waits at for a person")
    reason: str = Field(default="", description="why it waits (decide: POST …/decision)")


class AnticipationBody(BaseModel):
    reference: str = Field(min_length=1, max_length=100, description="the provider's id")
    taken_on: date
    order_ids: list[str] = Field(min_length=1, max_length=10_000)
    discount_rate: Decimal = Field(ge=0, lt=1, description="e.g. 0.0299 for 2.99%")
    fee: Decimal = Field(
        ge=0, le=10**9, decimal_places=2, description="what the provider kept, in reais"
    )


def _day(ctx: ContextDep, given: date | None) -> date:
    return given or business_day(datetime.now(UTC), ctx.settings.finance.timezone)


@router.post("/reconciliations/{kind}", response_model=ReconcileAnswer)
async def reconcile(
    kind: ReconKind,
    ctx: ContextDep,
    _: FinanceRole,
    response: Response,
    day: Annotated[date | None, Query(alias="date", description="default: today")] = None,
) -> ReconcileAnswer:
    """Reconcile a night now (the schedule does it every night for the day before)."""
    f = ctx.settings.finance
    request = ReconcileRequest(
        kind=kind, day=_day(ctx, day), timezone=f.timezone, tolerance=f.tolerance,
        date_tolerance_days=f.bank_date_tolerance_days,
        portal_channels=f.portal_channels() if kind is ReconKind.MARKETPLACE else [],
    )  # fmt: skip
    workflow_id, result = await ctx.gateway.reconcile(request, WAIT)
    assert request.day is not None
    if result is None:
        response.status_code = 202
        waiting = await ctx.gateway.night_waiting(workflow_id)
        failure = waiting.failure
        return ReconcileAnswer(
            workflow_id=workflow_id, status="running", date=request.day,
            waiting_at=failure.step if failure else "", reason=failure.message if failure else "",
        )  # fmt: skip
    return ReconcileAnswer(
        workflow_id=workflow_id, status="done", date=result.day, lines=result.lines,
        classified=result.classified, alerts=result.alerts, source=result.source,
    )  # fmt: skip


@router.get("/month", response_model=MonthClose)
async def month_close(
    ctx: ContextDep,
    _: BooksRole,
    month: Annotated[str, Query(max_length=7, description="YYYY-MM; default: this month")] = "",
) -> MonthClose:
    """Closing a month: every night's run, the nights that ended without one, what each
    class of line adds up to, and the advances taken; `closed` when nothing is left."""
    today = _day(ctx, None)
    try:
        return await ctx.month_close.summary(month, today)
    except MonthInvalid as exc:
        raise BadRequest(str(exc), field="month") from None


@router.get("/reconciliations", response_model=list[RunView])
async def runs(ctx: ContextDep, _: BooksRole, kind: ReconKind | None = None) -> list[RunView]:
    return await ctx.reconciliations.runs(kind.value if kind else None)


class NightDecision(BaseModel):
    action: Literal["retry", "skip"] = Field(
        description="retry the step the night waits at (its cause fixed), or skip it (a "
        "portal download only: that channel's lines are then read from the API's report)"
    )
    reason: str = Field(default="", max_length=500)


@router.get("/reconciliations/waiting", response_model=list[WaitingNight])
async def waiting_nights(ctx: ContextDep, _: BooksRole) -> list[WaitingNight]:
    """Every night whose reconciliation waits for a person: the step, why, since when, and
    whether it may be skipped (decide: POST …/{kind}/{day}/decision)."""
    return await ctx.gateway.waiting_nights()


@router.get("/reconciliations/{kind}/{day}/waiting", response_model=NightWaiting)
async def waiting(kind: ReconKind, day: date, ctx: ContextDep, _: BooksRole) -> NightWaiting:
    """The step a night's workflow waits at for a person, and why (empty while it runs
    or once done)."""
    return await ctx.gateway.night_waiting(reconciliation_workflow_id(kind, day))


@router.post("/reconciliations/{kind}/{day}/decision")
async def decide(
    kind: ReconKind, day: date, body: NightDecision, ctx: ContextDep, who: FinanceRole
) -> dict[str, str]:
    """Retry or skip the step a night waits at; audited as `finance:decide`."""
    answer = await decide_night(ctx, kind, day, body, who.name)
    return {"workflow_id": reconciliation_workflow_id(kind, day), "answer": answer}


async def decide_night(
    ctx: ApiContext, kind: ReconKind, day: date, body: NightDecision, actor: str
) -> str:
    """The night's workflow told to retry or skip (the API and the console both come
    here), audited as `finance:decide`; the workflow's answer ("retry accepted")."""
    workflow_id = reconciliation_workflow_id(kind, day)
    decision = OpsDecision(action=OpsAction(body.action), actor=actor, reason=body.reason)
    answer: str = await ctx.gateway.update(workflow_id, DECIDE_UPDATE, decision, str)
    await ctx.audit.record(
        actor, "finance:decide", workflow_id, {"action": body.action, "reason": body.reason},
        datetime.now(UTC),
    )  # fmt: skip
    return answer


@router.get("/reconciliations/{kind}/{day}", response_model=RunView)
async def run(kind: ReconKind, day: date, ctx: ContextDep, _: BooksRole) -> RunView:
    found = await ctx.reconciliations.run(kind.value, day)
    if found is None:
        raise NotFound(f"no {kind.value} reconciliation for {day.isoformat()} yet")
    return found


@router.get("/reconciliations/{kind}/{day}/lines", response_model=list[LineView])
async def lines(
    kind: ReconKind,
    day: date,
    ctx: ContextDep,
    _: BooksRole,
    cls: Annotated[str | None, Query(alias="class", max_length=30)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[LineView]:
    return await ctx.reconciliations.lines(kind.value, day, cls=cls, limit=limit, offset=offset)


@router.get("/reconciliations/{kind}/{day}/csv", response_class=StreamingResponse)
async def lines_csv(
    kind: ReconKind, day: Annotated[date, Path()], ctx: ContextDep, _: BooksRole
) -> StreamingResponse:
    """Every line of the night as CSV (what the finance person opens in a spreadsheet)."""
    if await ctx.reconciliations.run(kind.value, day) is None:
        raise NotFound(f"no {kind.value} reconciliation for {day.isoformat()} yet")

    return csv_download(ctx, kind.value, day)


def csv_download(ctx: ApiContext, kind: str, day: date) -> StreamingResponse:
    """The night's lines as a CSV attachment (also the console's download)."""
    name = f"reconciliation-{kind}-{day.isoformat()}.csv"
    return StreamingResponse(
        csv_lines(ctx, kind, day),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def csv_lines(ctx: ApiContext, kind: str, day: date) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((*LINE_COLUMNS, "detail"))
    offset = 0
    while True:
        page = await ctx.reconciliations.lines(kind, day, limit=5000, offset=offset)
        for ln in page:
            writer.writerow(
                [kind, day.isoformat(), ln.seq, ln.cls, ln.key, ln.order_id or "",
                 ln.description, ln.reference, ln.amount, ln.line_gross, ln.line_fees,
                 ln.expected_gross, ln.expected_fees, ln.expected_net, ln.detail]
            )  # fmt: skip
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(page) < 5000:
            return
        offset += len(page)


@router.get("/receivables", response_model=list[ReceivableView])
async def receivables(
    ctx: ContextDep,
    _: BooksRole,
    released_from: date | None = None,
    released_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[ReceivableView]:
    return await ctx.receivables.between(
        released_from=released_from, released_to=released_to, limit=limit
    )


@router.post("/anticipations", response_model=AnticipationView, status_code=201)
async def anticipate(body: AnticipationBody, ctx: ContextDep, who: FinanceRole) -> AnticipationView:
    """Record an advance of receivables and allocate it to the ones it covers (the same
    reference again returns the advance already recorded)."""
    return await ctx.receivables.anticipate(
        body.reference, body.taken_on, body.order_ids, body.discount_rate, body.fee, who.name
    )


@router.get("/anticipations", response_model=list[AnticipationView])
async def anticipations(ctx: ContextDep, _: BooksRole) -> list[AnticipationView]:
    return await ctx.receivables.anticipations()
