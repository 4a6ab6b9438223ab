"""Console pages for finance: the nightly reconciliations (each night's report, its
alerts for what needs a person, a CSV download), the cash flow and the contribution
margin. Finance, ops, viewers (and admins) see them; a finance person also decides for a
night that waits (retry, or skip a portal download); running a night and recording bills
stay with the API (role finance)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from api.console.names import N_
from api.console.session import (
    ConsoleRoute,
    Problem,
    SessionDep,
    checked_form,
    chrome,
    html,
    redirect,
    text,
)
from api.console.views import BOOKS_ROLES, Chrome, say
from api.deps import ContextDep
from api.gateway import WaitingNight
from api.routes.finance import NightDecision, csv_download, decide_night
from db.api_keys import ApiRole
from db.margins import By, MarginRow
from db.reconciliation import LineView, RunView
from domain.cashflow import CashFlow
from domain.errors import RetaguardaError
from domain.month_close import MonthClose, MonthInvalid
from domain.receivables import business_day
from domain.reconciliation import NEEDS_PERSON, LineClass, ReconKind, reconciliation_workflow_id

router = APIRouter(
    prefix="/console/finance", tags=["console"], include_in_schema=False, route_class=ConsoleRoute
)
LINES_SHOWN = 100
ALERTS_SHOWN = 200
FINANCE_ROLES = frozenset({ApiRole.ADMIN, ApiRole.FINANCE})
ALERT_CLASSES = frozenset(c.value for c in NEEDS_PERSON)
BY_CHOICES: tuple[By, ...] = ("channel", "supplier", "sku", "order")
# What a person does about each class that needs one (catalogue msgids).
ADVICE = {
    "fee_divergence": N_("ask the marketplace why its fees differ from its price list"),
    "amount_divergence": N_("compare the order's total with what the marketplace paid"),
    "missing_payout": N_("chase the payout: it was due this night"),
    "unexpected_payout": N_("find the sale: money came for an order we do not know"),
    "chargeback": N_("answer the dispute before the deadline, with the NF-e and the tracking"),
    "unmatched_line": N_("explain the bank line: a fee, a transfer, a stray Pix"),
    "unmatched_expected": N_("the bank has not shown this money: check the transfer"),
}


@dataclass(frozen=True)
class FinancePage:
    template: ClassVar[str] = "finance/index.html"
    chrome: Chrome
    runs: list[RunView]
    waiting: list[WaitingNight] | None = None  # None: Temporal cannot be asked right now
    can_decide: bool = False

    @property
    def alerts(self) -> int:
        return sum(r.alerts for r in self.runs if r.status == "done")


@dataclass(frozen=True)
class RunPage:
    template: ClassVar[str] = "finance/run.html"
    chrome: Chrome
    run: RunView
    alerts: list[LineView]
    lines: list[LineView]
    cls: str = ""
    offset: int = 0
    advice: ClassVar[dict[str, str]] = ADVICE

    @property
    def shown_total(self) -> int:
        return self.run.classified.get(self.cls, 0) if self.cls else self.run.lines

    @property
    def next_offset(self) -> int | None:
        following = self.offset + LINES_SHOWN
        return following if following < self.shown_total else None

    @property
    def csv_url(self) -> str:
        return f"/console/finance/{self.run.kind}/{self.run.day.isoformat()}.csv"

    def needs_person(self, cls: str) -> bool:
        return cls in ALERT_CLASSES


@dataclass(frozen=True)
class CashFlowPage:
    template: ClassVar[str] = "finance/cashflow.html"
    chrome: Chrome
    flow: CashFlow


@dataclass(frozen=True)
class MarginPage:
    template: ClassVar[str] = "finance/margin.html"
    chrome: Chrome
    rows: list[MarginRow]
    by: By
    start: date
    end: date
    choices: tuple[By, ...] = BY_CHOICES

    @property
    def can_refresh(self) -> bool:
        return self.chrome.principal.role in FINANCE_ROLES

    @property
    def total(self) -> MarginRow | None:
        if not self.rows:
            return None
        fields = ("price", "cost", "commission", "freight", "taxes", "margin")
        sums = {f: sum(getattr(r, f) for r in self.rows) for f in fields}
        return MarginRow(
            key="total", orders=sum(r.orders for r in self.rows) if self.by != "sku" else 0,
            quantity=sum(r.quantity for r in self.rows),
            without_nfe=sum(r.without_nfe for r in self.rows), **sums,
        )  # fmt: skip


def _today(ctx: ContextDep) -> date:
    return business_day(datetime.now(UTC), ctx.settings.finance.timezone)


async def _waits(ctx: ContextDep, night: ReconKind, day: date) -> bool:
    """Whether the night's workflow waits for a person (False when Temporal is away)."""
    try:
        waiting = await ctx.gateway.night_waiting(reconciliation_workflow_id(night, day))
    except RetaguardaError:
        return False
    return waiting.failure is not None


def _kind(raw: str) -> ReconKind:
    try:
        return ReconKind(raw)
    except ValueError:
        raise Problem(
            404, "There is no “%(night)s” reconciliation: marketplace or bank.", night=raw[:20]
        ) from None


@router.get("")
async def finance(request: Request, ctx: ContextDep, session: SessionDep) -> HTMLResponse:
    session.allow(BOOKS_ROLES, "see the books")
    try:
        waiting: list[WaitingNight] | None = await ctx.gateway.waiting_nights()
    except RetaguardaError:
        waiting = None
    page = FinancePage(
        chrome(request, session), await ctx.reconciliations.runs(), waiting,
        can_decide=session.principal.role in FINANCE_ROLES,
    )  # fmt: skip
    return html(request, page)


@router.post("/{kind}/{day}/decision")
async def decide(
    kind: str, day: date, request: Request, ctx: ContextDep, session: SessionDep
) -> RedirectResponse:
    """Retry or skip the step a waiting night stopped at, from the finance page."""
    form = await checked_form(request, session)
    session.allow(FINANCE_ROLES, "decide for a waiting night")
    night, who = _kind(kind), session.principal.name
    action = text(form, "action", 10)
    if action not in ("retry", "skip"):
        return redirect("/console/finance", say("error", "Choose retry or skip."))
    body = NightDecision(action=action, reason=text(form, "reason", 500))
    try:
        answer = await decide_night(ctx, night, day, body, who)
    except RetaguardaError as exc:
        flash = say("error", "%(night)s %(day)s: refused: %(why)s", night=night.value,
                    day=day.isoformat(), why=exc.message)  # fmt: skip
        return redirect("/console/finance", flash)
    flash = say("ok", "%(night)s %(day)s: %(result)s (%(who)s).", night=night.value,
                day=day.isoformat(), result=answer, who=who)  # fmt: skip
    return redirect("/console/finance", flash)


@dataclass(frozen=True)
class MonthPage:
    template: ClassVar[str] = "finance/month.html"
    chrome: Chrome
    close: MonthClose

    @property
    def missing_nights(self) -> int:
        return sum(len(days) for days in self.close.not_reconciled.values())

    @property
    def previous(self) -> str:
        return f"{self.close.start - timedelta(days=1):%Y-%m}"

    @property
    def following(self) -> str:
        return f"{self.close.end + timedelta(days=1):%Y-%m}"


async def _month_close(ctx: ContextDep, month: str) -> MonthClose:
    try:
        return await ctx.month_close.summary(month[:7], _today(ctx))
    except MonthInvalid:
        raise Problem(422, "Ask for a month as YYYY-MM, e.g. 2026-11.") from None


@router.get("/month.csv")
async def month_close_csv(ctx: ContextDep, session: SessionDep, month: str = "") -> Response:
    """The month's class totals and nights as a spreadsheet, for the accountant."""
    session.allow(BOOKS_ROLES, "see the month's close")
    close = await _month_close(ctx, month)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # a row per class of the month, then a row per night that ended unreconciled
    writer.writerow(("month", "kind", "class", "night", "lines", "amount", "expected",
                     "difference"))  # fmt: skip
    for t in close.classes:
        writer.writerow((close.month, t.kind.value, t.cls, "", t.lines, t.amount,
                         _blank(t.expected), _blank(t.difference)))  # fmt: skip
    for kind, days in close.not_reconciled.items():
        for day in days:
            writer.writerow((close.month, kind.value, "not_reconciled", day.isoformat(),
                             0, "", "", ""))  # fmt: skip
    name = f"month-close-{close.month}.csv"
    return Response(
        buffer.getvalue(), media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


def _blank(value: object) -> object:
    return "" if value is None else value


@router.get("/month")
async def month_close(
    request: Request, ctx: ContextDep, session: SessionDep, month: str = ""
) -> HTMLResponse:
    session.allow(BOOKS_ROLES, "see the month's close")
    close = await _month_close(ctx, month)
    return html(request, MonthPage(chrome(request, session), close))


@router.get("/cashflow")
async def cash_flow(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    start: date | None = None,
    days: int | None = None,
) -> HTMLResponse:
    session.allow(BOOKS_ROLES, "see the cash flow")
    if days is not None and not 1 <= days <= 366:
        raise Problem(422, "days: from 1 to 366")
    flow = await ctx.books.cash_flow(start or _today(ctx), days)
    return html(request, CashFlowPage(chrome(request, session), flow))


@router.get("/margin")
async def margin(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    by: By = "channel",
    start: date | None = None,
    end: date | None = None,
) -> HTMLResponse:
    session.allow(BOOKS_ROLES, "see the margins")
    end = end or _today(ctx)
    start = start or end - timedelta(days=30)
    rows = await ctx.books.margins.summary(by, start, end)
    return html(request, MarginPage(chrome(request, session), rows, by, start, end))


@router.post("/margin/refresh")
async def refresh_margin(
    request: Request, ctx: ContextDep, session: SessionDep
) -> RedirectResponse:
    await checked_form(request, session)
    session.allow(FINANCE_ROLES, "recompute the margins")
    orders = await ctx.books.refresh_margins()
    back = urlsplit(request.headers.get("referer", ""))  # back to the same period: path only
    target = "/console/finance/margin"
    if back.path == target and back.query:
        target += "?" + back.query
    return redirect(target, say("ok", "Recomputed the margin of %(n)s order(s).", n=orders))


@router.get("/{kind}/{day}.csv")
async def run_csv(kind: str, day: date, ctx: ContextDep, session: SessionDep) -> StreamingResponse:
    session.allow(BOOKS_ROLES, "download reconciliations")
    night = _kind(kind)
    if await ctx.reconciliations.run(night.value, day) is None:
        raise Problem(
            404,
            "No %(night)s reconciliation for %(day)s yet.",
            night=night.value,
            day=day.isoformat(),
        )
    return csv_download(ctx, night.value, day)


@router.get("/{kind}/{day}")
async def run(
    kind: str,
    day: date,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    cls: str = "",
    offset: int = 0,
) -> Response:
    session.allow(BOOKS_ROLES, "see reconciliations")
    night = _kind(kind)
    found = await ctx.reconciliations.run(night.value, day)
    if found is None and await _waits(ctx, night, day):
        flash = say("error", "The %(night)s night of %(day)s has no lines yet: it waits for a "
                    "person (below).", night=night.value, day=day.isoformat())  # fmt: skip
        return redirect(f"/console/finance#waiting-{night.value}-{day.isoformat()}", flash)
    if found is None:
        raise Problem(
            404,
            "No %(night)s reconciliation for %(day)s yet: it runs every night, or ask for it "
            "with `retaguarda reconcile %(night)s --date %(day)s`.",
            night=night.value,
            day=day.isoformat(),
        )
    if cls and cls not in {c.value for c in LineClass}:
        raise Problem(404, "There is no class “%(cls)s”.", cls=cls[:30])
    alerts = await ctx.reconciliations.alerts(night.value, day, ALERT_CLASSES, ALERTS_SHOWN)
    lines = await ctx.reconciliations.lines(
        night.value, day, cls=cls or None, limit=LINES_SHOWN, offset=max(0, offset)
    )
    page = RunPage(chrome(request, session), found, alerts, lines, cls, max(0, offset))
    return html(request, page)
