"""The KPI dashboard (`/console/kpis`): the figures `GET /kpis` answers, for a window of
days and a channel, read from the same SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.console.names import N_
from api.console.session import ConsoleRoute, SessionDep, chrome, html
from api.console.views import Chrome, Flash, say
from api.deps import ContextDep
from api.errors import BadRequest
from api.routes.kpis import MAX_DAYS, window
from db.kpis import KpiRepository
from domain.kpis import DEFAULT_PROMISE_S, KpiReport
from domain.orders import Channel

router = APIRouter(
    prefix="/console/kpis", tags=["console"], include_in_schema=False, route_class=ConsoleRoute
)
PHASE_NAMES = ("payment", "invoicing", "picking", "packing", "checking", "dispatch", "delivery")


@dataclass(frozen=True)
class KpiPage:
    template: ClassVar[str] = "kpis.html"
    chrome: Chrome
    report: KpiReport | None
    since: str = ""
    until: str = ""
    channel: str = ""
    error: Flash | None = None
    channels: ClassVar[tuple[str, ...]] = tuple(c.value for c in Channel)

    @property
    def rate_percent(self) -> float | None:
        rate = self.report.perfect_order_rate if self.report else None
        return None if rate is None else rate * 100

    @property
    def days(self) -> list[tuple[str, int, int]]:
        """(day, picked, dispatched), oldest first."""
        if self.report is None:
            return []
        picked, sent = self.report.picked_per_day, self.report.dispatched_per_day
        return [(d, picked.get(d, 0), sent.get(d, 0)) for d in sorted(set(picked) | set(sent))]


@router.get("")
async def dashboard(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    since: str = "",
    until: str = "",
    channel: str = "",
) -> HTMLResponse:
    view = chrome(request, session)
    since, until, channel = since[:40], until[:40], channel[:20]

    def page(report: KpiReport | None, error: Flash | None = None) -> KpiPage:
        return KpiPage(view, report, since=since, until=until, channel=channel, error=error)

    if channel and channel not in KpiPage.channels:
        problem = say("error", N_("There is no channel %(channel)s."), channel=channel)
        return html(request, page(None, problem), 422)
    try:
        start, end = window(since or None, until or None)
    except BadRequest as exc:
        problem = _window_problem(exc, since, until)
        return html(request, page(None, problem), 422)
    report = await KpiRepository(ctx.sessionmaker).report(
        start, end, channel or None, promise_s=DEFAULT_PROMISE_S
    )
    return html(request, page(report))


def _window_problem(exc: BadRequest, since: str, until: str) -> Flash:
    """The window's refusal in the page's words (the API says it in English)."""
    if exc.code == "kpi_order":
        return say("error", N_("The first day must come before the last."))
    if exc.code == "kpi_span":
        return say("error", N_("Ask for %(days)s days at most."), days=MAX_DAYS)
    value = until if exc.field == "to" else since
    return say(
        "error",
        N_("%(value)s is not a day (27/11/2026 is written 2026-11-27) or a moment."),
        value=value,
    )
