"""The ops console: server-rendered pages for people (Jinja2, plain HTML forms, no JS).

Pages mirror the JSON API (orders, ops, warehouse) and call the same gateway. A person
logs in with an API key, kept in an HttpOnly, SameSite=Strict cookie scoped to /console;
every POST carries a CSRF token (an HMAC of that key). Rendering is pure: each page is a
dataclass of view data and `render(page)` turns it into HTML. Errors become pages or
flash messages a person can act on, never a stack trace.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import ContextDep
from api.errors import status_for
from api.gateway import TemporalUnavailable
from db.api_keys import ApiPrincipal, ApiRole
from db.audit import AuditEntry
from db.orders import OrderView
from db.warehouse import WarehouseTaskView
from domain.attention import OpsAction, OpsDecision, StepFailure
from domain.errors import RetaguardaError
from domain.fiscal import Invoice
from domain.freight import Booking
from domain.orders import Channel, OrderStatus
from domain.steps import OrderState
from domain.warehouse import WarehouseAction, WarehouseRecord, WarehouseStep
from workflows.order_base import CANCELLABLE

log = logging.getLogger("retaguarda.console")

SESSION_COOKIE = "rtg_console"
FLASH_COOKIE = "rtg_console_flash"
LOGIN_COOKIE = "rtg_console_login"
SESSION_MAX_AGE_S = 12 * 3600  # one long shift
PAGE_SIZE = 50
OPS_ROLES = frozenset({ApiRole.ADMIN, ApiRole.OPS})
WAREHOUSE_ROLES = frozenset({ApiRole.ADMIN, ApiRole.OPS, ApiRole.WAREHOUSE})
# The results a skip can carry, by the model name the workflow's `state` query reports
# for the stuck step (`skip_result`); whether a step may be skipped at all is its call.
SKIP_MODELS: dict[str, type[BaseModel]] = {"Invoice": Invoice, "Booking": Booking}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# --- view data and pure rendering ------------------------------------------------------


@dataclass(frozen=True)
class Flash:
    kind: Literal["ok", "error"]
    text: str
    data: str = ""  # the skip JSON a refused form carried, so nobody types it twice


@dataclass(frozen=True)
class Chrome:
    """What every signed-in page shows around its content."""

    principal: ApiPrincipal
    csrf: str
    now: datetime
    flash: Flash | None = None

    @property
    def can_decide(self) -> bool:
        return self.principal.role in OPS_ROLES

    @property
    def can_warehouse(self) -> bool:
        return self.principal.role in WAREHOUSE_ROLES


@dataclass(frozen=True)
class FieldHint:
    name: str
    kind: str
    required: bool
    example: Any


@dataclass(frozen=True)
class SkipHint:
    model: str
    fields: tuple[FieldHint, ...]

    @property
    def example(self) -> str:
        return json.dumps({f.name: f.example for f in self.fields}, indent=2)


@dataclass(frozen=True)
class LoginPage:
    template: ClassVar[str] = "login.html"
    csrf: str = ""
    next: str = "/console"
    error: str = ""
    flash: Flash | None = None
    chrome: None = None


@dataclass(frozen=True)
class DashboardPage:
    template: ClassVar[str] = "dashboard.html"
    chrome: Chrome
    counts: dict[str, int]
    inbox: dict[str, int]
    stuck: list[OrderView]

    @property
    def status_counts(self) -> list[tuple[str, int]]:
        return [(s.value, self.counts.get(s.value, 0)) for s in OrderStatus]


@dataclass(frozen=True)
class OrdersPage:
    template: ClassVar[str] = "orders.html"
    chrome: Chrome
    orders: list[OrderView]
    status: str = ""
    channel: str = ""
    page: int = 1
    has_next: bool = False
    error: str = ""
    statuses: tuple[str, ...] = tuple(s.value for s in OrderStatus)
    channels: tuple[str, ...] = tuple(c.value for c in Channel)

    def page_url(self, page: int) -> str:
        query = {"status": self.status, "channel": self.channel, "page": str(page)}
        return "/console/orders?" + urlencode({k: v for k, v in query.items() if v})


@dataclass(frozen=True)
class OrderPage:
    template: ClassVar[str] = "order.html"
    chrome: Chrome
    order: OrderView
    live: OrderState | None = None
    live_error: str = ""
    task: WarehouseTaskView | None = None
    audit: list[AuditEntry] = field(default_factory=list)

    @property
    def status(self) -> OrderStatus:
        return self.live.status if self.live is not None else self.order.status

    @property
    def failure(self) -> StepFailure | None:
        if self.live is not None:
            return self.live.failure
        return self.order.failure if self.order.needs_attention else None

    @property
    def cancellable(self) -> bool:
        return self.failure is None and self.status in CANCELLABLE

    @property
    def can_skip(self) -> bool:
        """Only the live workflow knows; without it, skip is not offered."""
        return self.live is not None and self.live.can_skip

    @property
    def skip_hint(self) -> SkipHint | None:
        if self.failure is None or self.live is None or self.live.skip_result is None:
            return None
        return skip_hint(self.live.skip_result, self.order.order_id)

    @property
    def timeline(self) -> list[tuple[str, datetime, str]]:
        """(status, first reached, time since the previous phase), oldest first."""
        out: list[tuple[str, datetime, str]] = []
        for status, at in sorted(self.order.phase_times.items(), key=lambda kv: kv[1]):
            out.append((status, at, duration(at - out[-1][1]) if out else ""))
        return out


@dataclass(frozen=True)
class WarehousePage:
    template: ClassVar[str] = "warehouse.html"
    chrome: Chrome
    tasks: list[WarehouseTaskView]


@dataclass(frozen=True)
class ErrorPage:
    template: ClassVar[str] = "error.html"
    chrome: Chrome | None
    status: int
    title: str
    message: str


Page = LoginPage | DashboardPage | OrdersPage | OrderPage | WarehousePage | ErrorPage


def skip_hint(result: str, order_id: str) -> SkipHint | None:
    """The fields a manual result needs, from the model the workflow checks it against."""
    model = SKIP_MODELS.get(result)
    if model is None:
        return None
    schema = model.model_json_schema()
    defs, required = schema.get("$defs", {}), set(schema.get("required", ()))
    hints = []
    for name, prop in schema["properties"].items():
        if "$ref" in prop:
            prop = {**defs[prop["$ref"].rsplit("/", 1)[-1]], **prop}
        hints.append(FieldHint(name, _kind(prop), name in required, _example(name, prop, order_id)))
    return SkipHint(model.__name__, tuple(hints))


def _kind(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + ", ".join(map(str, prop["enum"]))
    if "anyOf" in prop:
        return " or ".join(p.get("type", "?") for p in prop["anyOf"])
    if prop.get("format") == "date-time":
        return "date-time (ISO 8601 with offset)"
    if "pattern" in prop:
        return f"{prop.get('type', 'string')} matching {prop['pattern']}"
    return str(prop.get("type", "any"))


def _example(name: str, prop: dict[str, Any], order_id: str) -> Any:
    if name == "order_id":
        return order_id
    if "default" in prop:
        return prop["default"]
    if prop.get("format") == "date-time":
        return "2024-11-29T14:30:00-03:00"
    if prop.get("pattern") == r"^\d{44}$":
        return "35241112345678000195550010000012341000012345"
    kind = prop.get("type") or prop.get("anyOf", [{}])[0].get("type")
    return {"integer": 1, "number": "0.00"}.get(str(kind), "")


def duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def when(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def brl(value: Decimal | str | None) -> str:
    if value is None:
        return ""
    text = f"{Decimal(value):,.2f}"
    return "R$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def order_url(order_id: str, suffix: str = "") -> str:
    return f"/console/orders/{quote(order_id, safe=':')}{suffix}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("api", "templates/console"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, brl=brl, duration=duration)
    env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, default=str, sort_keys=True)
    env.globals.update(order_url=order_url, quote=quote)
    return env


def render(page: Page) -> str:
    return environment().get_template(page.template).render(page=page, chrome=page.chrome)


# --- sessions, CSRF, errors ------------------------------------------------------------


def csrf_token(session_key: str) -> str:
    return hmac.new(session_key.encode(), b"retaguarda-console-csrf-v1", "sha256").hexdigest()


@dataclass(frozen=True)
class Session:
    principal: ApiPrincipal
    key: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.key)

    def allow(self, roles: frozenset[ApiRole], doing: str) -> None:
        if self.principal.role not in roles:
            names = ", ".join(sorted(r.value for r in roles))
            raise Problem(
                403,
                f"Your role ({self.principal.role.value}) cannot {doing}; "
                f"it needs one of: {names}.",
            )


class LoginRequired(Exception):
    pass


class Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def current_session(request: Request, ctx: ContextDep) -> Session:
    key = request.cookies.get(SESSION_COOKIE)
    principal = await ctx.api_keys.authenticate(key) if key else None
    if key is None or principal is None:
        raise LoginRequired
    return Session(principal, key)


SessionDep = Annotated[Session, Depends(current_session)]


async def checked_form(request: Request, session: Session) -> FormData:
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
        raise Problem(
            403,
            "This form is out of date or did not come from the console. "
            "Go back, reload the page and try again.",
        )
    return form


def text(form: FormData, name: str, max_length: int) -> str:
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > max_length:
        raise Problem(422, f"{name} is too long: keep it under {max_length} characters.")
    return value


def read_flash(request: Request) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return Flash("error" if data["k"] == "error" else "ok", str(data["t"]), str(data["d"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def redirect(url: str, flash: Flash | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        data = flash.data if len(flash.data) <= 1200 else ""
        payload = json.dumps({"k": flash.kind, "t": flash.text[:800], "d": data})
        value = base64.urlsafe_b64encode(payload.encode()).decode()
        response.set_cookie(
            FLASH_COOKIE, value, max_age=60, path="/console", httponly=True, samesite="strict"
        )
    return response


def html(request: Request, page: Page, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(render(page), status_code=status, headers=SECURITY_HEADERS)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/console")
    return response


def chrome(request: Request, session: Session) -> Chrome:
    return Chrome(session.principal, session.csrf, datetime.now(UTC), read_flash(request))


def _error(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {401: "Sign in again", 403: "Not allowed", 404: "Not found", 503: "Unavailable"}
    page = ErrorPage(None, status, titles.get(status, "Could not do that"), message)
    return html(request, page, status)


class ConsoleRoute(APIRoute):
    """Turns every failure of a console route into a page a person can act on."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path if request.method == "GET" else "/console"
                return redirect("/console/login?" + urlencode({"next": target}))
            except Problem as exc:
                return _error(request, exc.status, exc.message)
            except RetaguardaError as exc:
                return _error(request, status_for(exc), exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return _error(request, 422, f"{where}: {first.get('msg', 'invalid value')}")
            except StarletteHTTPException as exc:
                return _error(request, exc.status_code, str(exc.detail))
            except Exception:
                log.exception("console %s %s failed", request.method, request.url.path)
                return _error(
                    request,
                    500,
                    "Something went wrong on our side and it was "
                    "logged. Try again; if it keeps happening, call the engineer "
                    "on duty.",
                )

        return guarded


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
    return login_page(request, LoginPage(next=_safe_next(next), flash=read_flash(request)))


@router.post("/login")
async def login(request: Request, ctx: ContextDep) -> Response:
    form = await request.form()
    key, target = text(form, "api_key", 200), _safe_next(text(form, "next", 300))
    nonce, sent = request.cookies.get(LOGIN_COOKIE, ""), text(form, "csrf", 100)
    if not nonce or not hmac.compare_digest(nonce, sent):
        page = LoginPage(next=target, error="This sign-in form expired. Sign in again.")
        return login_page(request, page, 403)
    principal = await ctx.api_keys.authenticate(key) if key else None
    if principal is None:
        page = LoginPage(
            next=target,
            error="That API key is unknown or revoked. Check it with whoever issued it.",
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
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    await checked_form(request, session)
    response = redirect("/console/login", Flash("ok", "Signed out."))
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


def _whole(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _safe_next(target: str) -> str:
    ok = target.startswith("/console") and not target.startswith("//") and "\\" not in target
    return target if ok else "/console"


@router.get("")
async def dashboard(request: Request, ctx: ContextDep, session: SessionDep) -> HTMLResponse:
    page = DashboardPage(
        chrome(request, session),
        counts=await ctx.orders.count_by_status(),
        inbox=await ctx.inbox.counts(),
        stuck=await ctx.orders.list(needs_attention=True, limit=200),
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
            f"There is no order {order_id}. Order ids look like "
            "order:<channel>:<external id>; search the order list.",
        )
    live, live_error = None, ""
    try:
        live = await ctx.gateway.state(order_id)
    except TemporalUnavailable as exc:
        live_error = f"Temporal unreachable: {exc.message}"
    except RetaguardaError as exc:
        live_error = exc.message
    page = OrderPage(
        chrome(request, session),
        view,
        live,
        live_error,
        task=await ctx.warehouse.get(order_id),
        audit=await ctx.audit.list(order_id=order_id, limit=200),
    )
    return html(request, page)


@router.post("/orders/{order_id}/decide")
async def decide(order_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "decide on stuck orders")
    back = order_url(order_id)
    try:
        action = OpsAction(text(form, "action", 20))
    except ValueError:
        raise Problem(422, "Choose retry, skip or compensate.") from None
    reason, raw = text(form, "reason", 500), text(form, "data", 20_000)
    if action is OpsAction.COMPENSATE and len(reason) < 3:
        return redirect(back, Flash("error", "Compensate needs a reason (3 characters or more)."))
    data = None
    if action is OpsAction.SKIP and raw:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            msg = f"The manual result is not valid JSON ({exc.msg} at line {exc.lineno}, "
            return redirect(back, Flash("error", msg + f"column {exc.colno}).", raw))
        if not isinstance(data, dict):
            return redirect(back, Flash("error", "The manual result must be a JSON object.", raw))
    decision = OpsDecision(action=action, actor=session.principal.name, reason=reason, data=data)
    try:
        result: str = await ctx.gateway.update(order_id, "decide", decision, str)
    except RetaguardaError as exc:
        return redirect(back, Flash("error", f"Refused: {exc.message}", raw))
    return redirect(back, Flash("ok", f"{result} ({session.principal.name})."))


@router.post("/orders/{order_id}/cancel")
async def cancel(order_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "cancel orders")
    back, reason = order_url(order_id), text(form, "reason", 500)
    if len(reason) < 3:
        return redirect(back, Flash("error", "Cancelling needs a reason (3 characters or more)."))
    who = session.principal.name
    try:
        result: str = await ctx.gateway.update(order_id, "cancel", f"{reason} ({who})", str)
    except RetaguardaError as exc:
        return redirect(back, Flash("error", f"Refused: {exc.message}"))
    await ctx.audit.record(who, "ops:cancel", order_id, {"reason": reason})
    return redirect(back, Flash("ok", f"Cancellation accepted: {result}."))


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
            404, f"There is no warehouse step {step!r}: use pick, pack or check."
        ) from None
    scanned: dict[str, int] = {}
    for name, value in form.multi_items():
        if name.startswith("scanned:") and isinstance(value, str):
            sku, count = name.removeprefix("scanned:"), value.strip()
            if (quantity := _whole(count)) is None:
                msg = f"{order_id}: enter how many {sku} you scanned (a whole number, 0 if none)."
                return redirect(back, Flash("error", msg))
            scanned[sku] = quantity
    try:
        action = WarehouseAction(
            step=kind,
            operator=text(form, "operator", 60) or session.principal.name,
            shift=text(form, "shift", 20),
            scanned=scanned,
        )
        record: WarehouseRecord = await ctx.gateway.update(
            order_id, "warehouse", action, WarehouseRecord
        )
    except (RetaguardaError, ValidationError) as exc:
        message = exc.message if isinstance(exc, RetaguardaError) else str(exc)
        return redirect(back, Flash("error", f"{order_id}: {kind.value} refused: {message}"))
    return redirect(
        back,
        Flash(
            "ok",
            f"{order_id}: {record.step.value} recorded ({record.operator}, {when(record.at)}).",
        ),
    )
