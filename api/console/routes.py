"""Console pages and the forms they post."""

import hmac
import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import replace

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.console.fixes import load_fix
from api.console.i18n import LANG_COOKIE, lang_of
from api.console.invoice import TEXT_MAX, load_panel
from api.console.names import N_
from api.console.order_view import correction_lines
from api.console.session import (
    ConsoleRoute,
    Problem,
    SessionDep,
    checked_form,
    chrome,
    html,
    read_flash,
    redirect,
    text,
)
from api.console.views import (
    LOGIN_COOKIE,
    OPS_ROLES,
    PAGE_SIZE,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    SKIP_MODELS,
    WAREHOUSE_ROLES,
    DashboardPage,
    LoginPage,
    OrderPage,
    OrdersPage,
    WarehousePage,
    order_url,
    say,
    when,
)
from api.deps import ContextDep
from api.documents import document_response
from api.errors import BadRequest
from api.gateway import TemporalUnavailable
from api.routes.codec import CODEC_COOKIE
from db.order_corrections import OrderCorrectionRepository
from db.shipments import ShipmentRepository
from domain.attention import OpsAction
from domain.errors import RetaguardaError
from domain.fiscal_lifecycle import CORRECTION_MAX, CORRECTION_MIN, CorrectionStatus
from domain.warehouse import WarehouseAction, WarehouseStep
from integrations.documents.shipping import (
    InvalidShippingDocument,
    ShippingDocuments,
)
from integrations.documents.shipping import media_type as shipping_media_type

log = logging.getLogger("retaguarda.console")

router = APIRouter(
    prefix="/console", tags=["console"], include_in_schema=False, route_class=ConsoleRoute
)

# --- routes --------------------------------------------------------------------------


def login_page(request: Request, page: LoginPage, status: int = 200) -> HTMLResponse:
    """The login form with a fresh nonce, also set as a SameSite=Strict cookie: a form
    posted from another site carries neither, so nobody can be signed in behind their back."""
    nonce = secrets.token_urlsafe(24)
    response = html(request, replace(page, csrf=nonce), status)
    response.set_cookie(
        LOGIN_COOKIE, nonce, max_age=3600, path="/console", httponly=True, samesite="strict"
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/console") -> HTMLResponse:
    page = LoginPage(next=_safe_next(next), flash=read_flash(request), lang=_lang(request))
    return login_page(request, page)


@router.post("/login")
async def login(request: Request, ctx: ContextDep) -> Response:
    form = await request.form()
    key, target = text(form, "api_key", 200), _safe_next(text(form, "next", 300))
    nonce, sent = request.cookies.get(LOGIN_COOKIE, ""), text(form, "csrf", 100)
    if not nonce or not hmac.compare_digest(nonce, sent):
        page = LoginPage(
            next=target, error=N_("This sign-in form expired. Sign in again."), lang=_lang(request)
        )
        return login_page(request, page, 403)
    principal = await ctx.api_keys.authenticate(key) if key else None
    if principal is None:
        page = LoginPage(
            next=target,
            error=N_("That API key is unknown or revoked. Check it with whoever issued it."),
            lang=_lang(request),
        )
        return login_page(request, page, 401)
    response = redirect(target)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=SESSION_MAX_AGE_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or ctx.settings.mode == "production",
    )
    if principal.role in OPS_ROLES:  # the Temporal UI decodes for this person (api/routes/codec)
        response.set_cookie(
            CODEC_COOKIE,
            key,
            max_age=SESSION_MAX_AGE_S,
            path="/codec",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https" or ctx.settings.mode == "production",
        )
    return response


@router.get("/lang")
async def choose_language(to: str = "", next: str = "/console") -> Response:
    """A person's language (pt-BR or English), kept for a year in a cookie."""
    response = redirect(_safe_next(next))
    response.set_cookie(
        LANG_COOKIE, lang_of(to), max_age=365 * 86400, path="/console", samesite="strict"
    )
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    await checked_form(request, session)
    response = redirect("/console/login", say("ok", "Signed out."))
    response.delete_cookie(SESSION_COOKIE, path="/console")
    response.delete_cookie(CODEC_COOKIE, path="/codec")
    return response


def _lang(request: Request) -> str:
    return lang_of(request.cookies.get(LANG_COOKIE))


def _whole(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _safe_next(target: str) -> str:
    ok = target.startswith("/console") and not target.startswith("//") and "\\" not in target
    return target if ok else "/console"


@router.get("")
async def dashboard(request: Request, ctx: ContextDep, session: SessionDep) -> HTMLResponse:
    try:
        stale = await ctx.gateway.stale_stock_syncs()
    except TemporalUnavailable:
        stale = None
    page = DashboardPage(
        chrome(request, session),
        counts=await ctx.orders.count_by_status(),
        inbox=await ctx.inbox.counts(),
        stuck=await ctx.orders.list(needs_attention=True, limit=200),
        stale_stock=stale,
    )
    return html(request, page)


@router.get("/orders")
async def orders(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    status: str = "",
    channel: str = "",
    page: str = "1",
) -> HTMLResponse:
    problems = []
    if status and status not in OrdersPage.statuses:
        problems.append(f"unknown status {status!r}")
    if channel and channel not in OrdersPage.channels:
        problems.append(f"unknown channel {channel!r}")
    number = max(1, _whole(page) or 1)
    found = []
    if not problems:
        found = await ctx.orders.list(
            status=status or None,
            channel=channel or None,
            limit=PAGE_SIZE + 1,
            offset=(number - 1) * PAGE_SIZE,
        )
    view = OrdersPage(
        chrome(request, session),
        found[:PAGE_SIZE],
        status,
        channel,
        number,
        has_next=len(found) > PAGE_SIZE,
        error="; ".join(problems),
    )
    return html(request, view, 422 if problems else 200)


@router.get("/orders/{order_id}")
async def order(
    order_id: str, request: Request, ctx: ContextDep, session: SessionDep
) -> HTMLResponse:
    view = await ctx.orders.get(order_id)
    if view is None:
        raise Problem(
            404,
            "There is no order %(order)s. Order ids look like order:<channel>:<external id>; "
            "search the order list.",
            order=order_id,
        )
    live, live_error = None, ""
    try:
        live = await ctx.gateway.state(order_id)
    except TemporalUnavailable as exc:
        live_error = f"Temporal unreachable: {exc.message}"
    except RetaguardaError as exc:
        live_error = exc.message
    shipment = await ShipmentRepository(ctx.sessionmaker).get(order_id)
    page = OrderPage(
        chrome(request, session),
        view,
        live,
        live_error,
        task=await ctx.warehouse.get(order_id),
        audit=await ctx.audit.list(order_id=order_id, limit=200),
        documents=await ctx.documents.documents_of(view.invoice_key) if view.invoice_key else [],
        fiscal=await load_panel(order_id, ctx.invoices, ctx.lifecycle),
        fix=await load_fix(view, ctx.catalogue, live),
        corrections=correction_lines(
            await OrderCorrectionRepository(ctx.sessionmaker).of_order(order_id),
            session.principal.role,
        ),
        shipment=shipment,
    )
    return html(request, page)


@router.get("/documents/{name:path}")
async def document(name: str, ctx: ContextDep, session: SessionDep) -> Response:
    """An NF-e document for a signed-in person of any role (the warehouse prints the
    DANFE from here): the same names and checks as the API's /documents."""
    return await document_response(ctx.documents, name)


@router.get("/orders/{order_id}/shipping/{name}")
async def shipping_document(
    order_id: str, name: str, ctx: ContextDep, session: SessionDep
) -> Response:
    """An order's shipping document (the label, the packing slip) for a signed-in person
    of any role: the warehouse prints the label from here."""
    store = ShippingDocuments(ctx.settings.documents_dir)
    try:
        data = await store.get(order_id, name)
    except InvalidShippingDocument:
        data = None
    if data is None:
        raise Problem(
            404,
            "Order %(order)s has no shipping document %(name)s.",
            order=order_id,
            name=name[:80],
        )
    return Response(data, media_type=shipping_media_type(name))


@router.post("/orders/{order_id}/decide")
async def decide(order_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "decide on stuck orders")
    back = order_url(order_id)
    try:
        action = OpsAction(text(form, "action", 20))
    except ValueError:
        raise Problem(
            422,
            "Choose retry, skip, compensate, or (a lost parcel) reship, (a returned one) "
            "return_to_stock.",
        ) from None
    reason, raw = text(form, "reason", 500), text(form, "data", 20_000)
    if action is OpsAction.COMPENSATE and len(reason) < 3:
        return redirect(back, say("error", "Compensate needs a reason (3 characters or more)."))
    if action is OpsAction.COMPENSATE and text(form, "confirm", 5) != "yes":
        msg = N_("Nothing was done: tick “Yes, cancel this order” to confirm the compensation.")
        return redirect(back, say("error", msg))
    data = None
    typed = {
        name.removeprefix("field:"): value.strip()
        for name, value in form.multi_items()
        if name.startswith("field:") and isinstance(value, str) and value.strip()
    }
    if action is OpsAction.SKIP and typed and not raw:
        raw, data = json.dumps(typed, ensure_ascii=False), dict(typed)
        problem = await skip_problem(ctx, order_id, data)
        if problem:
            return redirect(back, say("error", "Not skipped: %(why)s", raw, why=problem))
    elif action is OpsAction.SKIP and raw:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            msg = N_(
                "The manual result is not valid JSON (%(why)s at line %(line)s, column %(col)s)."
            )
            flash = say("error", msg, raw, why=exc.msg, line=exc.lineno, col=exc.colno)
            return redirect(back, flash)
        if not isinstance(data, dict):
            return redirect(back, say("error", "The manual result must be a JSON object.", raw))
    try:
        result = await ctx.actions.decide(order_id, action, session.principal.name, reason, data)
    except RetaguardaError as exc:
        return redirect(back, say("error", "Refused: %(why)s", raw, why=in_words(exc.message)))
    return redirect(
        back, say("ok", "%(result)s (%(who)s).", result=result, who=session.principal.name)
    )


@router.post("/orders/{order_id}/cancel")
async def cancel(order_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "cancel orders")
    back, reason = order_url(order_id), text(form, "reason", 500)
    if len(reason) < 3:
        return redirect(back, say("error", "Cancelling needs a reason (3 characters or more)."))
    if text(form, "confirm", 5) != "yes":
        msg = N_("Nothing was done: tick “Yes, cancel it” to confirm the cancellation.")
        return redirect(back, say("error", msg))
    who = session.principal.name
    try:
        result = await ctx.actions.cancel(order_id, reason, who)
    except RetaguardaError as exc:
        return redirect(back, say("error", "Refused: %(why)s", why=exc.message))
    return redirect(back, say("ok", "Cancellation accepted: %(result)s.", result=result))


@router.post("/orders/{order_id}/corrections")
async def correct_invoice(
    order_id: str, request: Request, ctx: ContextDep, session: SessionDep
) -> Response:
    """Send a CC-e through the same service as the API; the outcome, or why it was not
    sent, comes back as a flash (a refused text stays in the form)."""
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "send correction letters")
    back = order_url(order_id, "#invoice")
    raw = form.get("text")
    wording = raw.strip() if isinstance(raw, str) else ""

    def refused(message: str, text: str = "CC-e not sent: %(why)s", **args: object) -> Response:
        kept = wording[:TEXT_MAX]
        return redirect(back, say("error", text, kept, "correction", why=message, **args))

    if len(wording) > TEXT_MAX:
        too_long = N_(
            "CC-e not sent: the text has %(n)s characters; a CC-e takes %(min)s to %(max)s "
            "characters."
        )
        return refused("", too_long, n=len(wording), min=CORRECTION_MIN, max=CORRECTION_MAX)
    try:
        workflow_id, result = await ctx.corrections.ask(order_id, wording, session.principal.name)
    except BadRequest as exc:
        return refused(_sentence(exc.message.removeprefix("this correction cannot be sent: ")))
    except TemporalUnavailable as exc:
        unreachable = N_(
            "CC-e not sent: Temporal is unreachable (%(why)s); nothing was sent, try again."
        )
        return refused(exc.message, unreachable)
    except RetaguardaError as exc:  # NotFound, CorrectionRefused: the NF-e's state
        return refused(_sentence(exc.message))
    if result is None:
        return redirect(
            back,
            say(
                "ok",
                "CC-e still sending: SEFAZ has not answered yet (%(workflow)s). It is "
                "retried until SEFAZ answers; reload this page in a minute to see it.",
                workflow=workflow_id,
            ),
        )
    if result.status is CorrectionStatus.REJECTED:
        rejected = N_("CC-e not sent: SEFAZ rejected CC-e nº %(n)s. SEFAZ's answer: %(why)s")
        return refused(result.message or "", rejected, n=result.sequence)
    return redirect(
        back,
        say(
            "ok",
            "CC-e nº %(n)s registered by SEFAZ, protocol %(protocol)s (%(who)s).",
            n=result.sequence,
            protocol=result.protocol,
            who=session.principal.name,
        ),
    )


async def skip_problem(ctx: ContextDep, order_id: str, data: Mapping[str, object]) -> str:
    """What is wrong with a typed manual result, in words, checked against the model the
    workflow will check it against ("" when it is fine or the workflow cannot be asked)."""
    try:
        live = await ctx.gateway.state(order_id)
    except RetaguardaError:
        return ""
    model = SKIP_MODELS.get(live.skip_result or "")
    if model is None:
        return ""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return validation_in_words(exc)
    return ""


def validation_in_words(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "the result"
        parts.append(f"{where}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts) + "."


def in_words(message: str) -> str:
    """A workflow's refusal without pydantic's links and type tags."""
    lines = [
        line.strip()
        for line in message.splitlines()
        if line.strip() and not line.strip().startswith("For further information")
    ]
    text = " ".join(lines)
    return re.sub(r"\s*\[type=[^\]]*\]", "", text)


def _sentence(message: str) -> str:
    return message.strip().rstrip(".") + "."


@router.get("/warehouse")
async def warehouse(request: Request, ctx: ContextDep, session: SessionDep) -> HTMLResponse:
    session.allow(WAREHOUSE_ROLES, "see warehouse tasks")
    tasks = await ctx.warehouse.open_tasks(200)
    return html(request, WarehousePage(chrome(request, session), tasks))


@router.post("/warehouse/{order_id}/{step}")
async def warehouse_step(
    order_id: str, step: str, request: Request, ctx: ContextDep, session: SessionDep
) -> Response:
    form = await checked_form(request, session)
    session.allow(WAREHOUSE_ROLES, "record warehouse steps")
    back = "/console/warehouse"
    try:
        kind = WarehouseStep(step)
    except ValueError:
        raise Problem(
            404, "There is no warehouse step “%(step)s”: use pick, pack or check.", step=step
        ) from None
    scanned: dict[str, int] = {}
    for name, value in form.multi_items():
        if name.startswith("scanned:") and isinstance(value, str):
            sku, count = name.removeprefix("scanned:"), value.strip()
            if (quantity := _whole(count)) is None:
                msg = N_(
                    "%(order)s: enter how many %(sku)s you scanned (a whole number, 0 if none)."
                )
                return redirect(back, say("error", msg, order=order_id, sku=sku))
            scanned[sku] = quantity
    try:
        action = WarehouseAction(
            step=kind,
            operator=text(form, "operator", 60) or session.principal.name,
            shift=text(form, "shift", 20),
            scanned=scanned,
        )
        record = (await ctx.actions.warehouse_step(order_id, action)).record
    except (RetaguardaError, ValidationError) as exc:
        message = exc.message if isinstance(exc, RetaguardaError) else str(exc)
        msg = N_("%(order)s: %(step)s refused: %(why)s")
        return redirect(back, say("error", msg, order=order_id, step=kind.value, why=message))
    return redirect(
        back,
        say(
            "ok",
            "%(order)s: %(step)s recorded (%(who)s, %(at)s).",
            order=order_id,
            step=record.step.value,
            who=record.operator,
            at=when(record.at),
        ),
    )
