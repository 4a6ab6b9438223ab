"""Console pages for the quarantine: signed webhooks that did not validate. Ops read the
problem and the body as received, then fix it (a corrected body) or re-drive it (parse
it again as it is); both go through the same desk as the JSON API and are audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

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
from api.console.views import OPS_ROLES, Chrome, Flash, say
from api.deps import ContextDep
from db.quarantine import QuarantineEntry, Resolved
from domain.errors import RetaguardaError

router = APIRouter(
    prefix="/console/quarantine",
    tags=["console"],
    include_in_schema=False,
    route_class=ConsoleRoute,
)
LIST_SIZE = 200
BODY_SHOWN = 20_000  # characters of a body shown (and offered for editing)
BODY_MAX = 256 * 1024


@dataclass(frozen=True)
class QuarantineListPage:
    template: ClassVar[str] = "quarantine.html"
    chrome: Chrome
    entries: list[QuarantineEntry]
    include_resolved: bool = False


@dataclass(frozen=True)
class QuarantinedPage:
    template: ClassVar[str] = "quarantined.html"
    chrome: Chrome
    entry: QuarantineEntry

    @property
    def open(self) -> bool:
        return self.entry.status == "quarantined"

    @property
    def body(self) -> str:
        """The body pretty-printed when it is JSON, as received otherwise."""
        raw = self.entry.body
        try:
            shown = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):
            shown = raw
        return shown[:BODY_SHOWN]

    @property
    def truncated(self) -> bool:
        return len(self.entry.body) > BODY_SHOWN


def entry_url(entry_id: int, suffix: str = "") -> str:
    return f"/console/quarantine/{entry_id}{suffix}"


def _entry_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) < 16):
        raise Problem(
            404, "There is no quarantined event “%(id)s”: ids are whole numbers.", id=raw[:40]
        )
    return int(raw)


@router.get("")
async def quarantine_list(
    request: Request, ctx: ContextDep, session: SessionDep, all: str = ""
) -> HTMLResponse:
    session.allow(OPS_ROLES, "see quarantined events")
    include = all == "1"
    entries = await ctx.quarantine.list(include_resolved=include, limit=LIST_SIZE)
    return html(request, QuarantineListPage(chrome(request, session), entries, include))


@router.get("/{entry_id}")
async def quarantined(
    entry_id: str, request: Request, ctx: ContextDep, session: SessionDep
) -> HTMLResponse:
    session.allow(OPS_ROLES, "see quarantined events")
    entry = await ctx.quarantine.get(_entry_id(entry_id))
    if entry is None:
        raise Problem(
            404, "There is no quarantined event %(id)s: see the quarantine list.", id=entry_id
        )
    return html(request, QuarantinedPage(chrome(request, session), entry))


@router.post("/{entry_id}/fix")
async def fix(entry_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "fix quarantined events")
    number, back = _entry_id(entry_id), entry_url(_entry_id(entry_id))
    body, reason = text(form, "body", BODY_MAX), text(form, "reason", 500)
    try:
        json.loads(body)
    except (ValueError, RecursionError) as exc:
        return redirect(
            back, say("error", "The corrected body is not JSON: %(why)s", body, why=exc)
        )
    try:
        done = await ctx.desk.fix(number, body.encode(), by=session.principal.name, reason=reason)
    except RetaguardaError as exc:
        return redirect(back, say("error", "Not fixed: %(why)s", body, why=exc.message))
    return redirect(back, _done(done, N_("Fixed")))


@router.post("/{entry_id}/redrive")
async def redrive(
    entry_id: str, request: Request, ctx: ContextDep, session: SessionDep
) -> Response:
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "re-drive quarantined events")
    number = _entry_id(entry_id)
    reason = text(form, "reason", 500)
    try:
        done = await ctx.desk.redrive(number, by=session.principal.name, reason=reason)
    except RetaguardaError as exc:
        return redirect(entry_url(number), say("error", "Not re-driven: %(why)s", why=exc.message))
    return redirect(entry_url(number), _done(done, N_("Re-driven")))


def _done(done: Resolved, verb: str) -> Flash:
    if done.status == "pending":
        msg = N_("%(verb)s: inbox entry %(entry)s goes to %(workflow)s.")
        return say("ok", msg, verb=verb, entry=done.inbox_id, workflow=done.workflow_id)
    if done.status == "duplicate":
        msg = N_("%(verb)s: %(detail)s; nothing new to hand over.")
        return say("ok", msg, verb=verb, detail=done.detail)
    return say("ok", N_("%(verb)s: %(detail)s; closed without a workflow."), verb=verb,
               detail=done.detail)  # fmt: skip
