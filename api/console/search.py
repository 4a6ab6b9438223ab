"""Finding orders (`/console/search`): one box for our order id or the channel's number,
the customer's name or CPF, a SKU, the NF-e key or the tracking code, with dates, status
and channel, the count of every match; and a bulk retry of the stuck ones found (after a
provider outage)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.console.names import N_
from api.console.session import ConsoleRoute, SessionDep, checked_form, chrome, html, redirect
from api.console.views import OPS_ROLES, PAGE_SIZE, Chrome, say
from api.deps import ContextDep
from api.errors import BadRequest
from api.routes.kpis import moment
from db.order_search import OrderSearch
from db.orders import OrderView
from domain.attention import OpsAction
from domain.errors import RetaguardaError
from domain.orders import Channel, OrderStatus

router = APIRouter(
    prefix="/console/search", tags=["console"], include_in_schema=False, route_class=ConsoleRoute
)
BULK_MAX = 200


@dataclass(frozen=True)
class SearchPage:
    template: ClassVar[str] = "search.html"
    chrome: Chrome
    orders: list[OrderView]
    total: int
    q: str = ""
    since: str = ""
    until: str = ""
    status: str = ""
    channel: str = ""
    stuck: str = ""
    page: int = 1
    error: str = ""
    statuses: ClassVar[tuple[str, ...]] = tuple(s.value for s in OrderStatus)
    channels: ClassVar[tuple[str, ...]] = tuple(c.value for c in Channel)

    @property
    def query(self) -> dict[str, str]:
        fields = {"q": self.q, "since": self.since, "until": self.until, "status": self.status,
                  "channel": self.channel, "stuck": self.stuck}  # fmt: skip
        return {k: v for k, v in fields.items() if v}

    def page_url(self, page: int) -> str:
        return "/console/search?" + urlencode({**self.query, "page": str(page)})

    @property
    def has_next(self) -> bool:
        return self.page * PAGE_SIZE < self.total


def _day(value: str, name: str, *, end: bool = False) -> datetime | None:
    return moment(value, name, end=end) if value else None


@router.get("")
async def search(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    q: str = "",
    since: str = "",
    until: str = "",
    status: str = "",
    channel: str = "",
    stuck: str = "",
    page: str = "1",
) -> HTMLResponse:
    number = int(page) if page.isascii() and page.isdigit() and 0 < len(page) < 6 else 1
    view = SearchPage(
        chrome(request, session), [], 0, q=q[:100], since=since[:10], until=until[:10],
        status=status[:20], channel=channel[:20], stuck="1" if stuck else "", page=number,
    )  # fmt: skip
    problems = []
    if status and status not in SearchPage.statuses:
        problems.append(f"unknown status {status!r}")
    if channel and channel not in SearchPage.channels:
        problems.append(f"unknown channel {channel!r}")
    start = end = None
    try:
        start, end = _day(since, "since"), _day(until, "until", end=True)
    except BadRequest as exc:
        problems.append(exc.message)
    if problems:
        return html(request, replace(view, error="; ".join(problems)), 422)
    found = await OrderSearch(ctx.sessionmaker).search(
        q,
        since=start,
        until=end,
        status=status or None,
        channel=channel or None,
        needs_attention=True if stuck else None,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    return html(request, replace(view, orders=found.orders, total=found.total))


@router.post("/retry")
async def bulk_retry(request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    """Retry every stuck order ticked (e.g. after a SEFAZ or carrier outage): each is its
    own decision, audited; the answer says how many were accepted and why others were not."""
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "retry stuck orders")
    ids = [v for v in form.getlist("order_id") if isinstance(v, str)][:BULK_MAX]
    back = str(form.get("back") or "/console/search?stuck=1")
    back = back if back.startswith("/console/search") else "/console/search?stuck=1"
    if not ids:
        return redirect(back, say("error", "Tick the orders to retry first."))
    who, accepted, refused = session.principal.name, 0, []
    for order_id in ids:
        try:
            await ctx.actions.decide(order_id, OpsAction.RETRY, who, "bulk retry")
            accepted += 1
        except RetaguardaError as exc:
            refused.append(f"{order_id}: {exc.message}")
    if refused:
        msg = N_("Retry accepted for %(n)s of %(of)s orders (%(who)s). Not retried: %(why)s")
        why = "; ".join(refused[:10])
        return redirect(back, say("error", msg, n=accepted, of=len(ids), who=who, why=why))
    msg = N_("Retry accepted for %(n)s of %(of)s orders (%(who)s).")
    return redirect(back, say("ok", msg, n=accepted, of=len(ids), who=who))
