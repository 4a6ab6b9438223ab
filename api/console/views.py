"""Console view data and pure rendering: each page is a dataclass, `render(page)` is HTML."""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import BaseModel

from api.console.i18n import DEFAULT_LANG, LANGS, filters, language, local_time, nfe_key
from api.console.invoice import InvoicePanel
from api.console.order_view import CorrectionLine, OrderDetails, order_details
from api.console.runbook import FixPanel
from api.documents import describe, document_url
from api.gateway import StaleStockSync
from db.api_keys import ApiPrincipal, ApiRole
from db.audit import AuditEntry
from db.orders import OrderView
from db.shipments import ShipmentView
from db.warehouse import WarehouseTaskView
from domain.attention import StepFailure
from domain.fiscal import Invoice
from domain.freight import Booking
from domain.orders import CANCELLABLE, UFS, Channel, OrderStatus
from domain.steps import OrderState
from integrations.documents.store import StoredDocument

log = logging.getLogger("retaguarda.console")

SESSION_COOKIE = "rtg_console"
FLASH_COOKIE = "rtg_console_flash"
LOGIN_COOKIE = "rtg_console_login"
SESSION_MAX_AGE_S = 12 * 3600  # one long shift
PAGE_SIZE = 50
OPS_ROLES = frozenset({ApiRole.ADMIN, ApiRole.OPS})
WAREHOUSE_ROLES = frozenset({ApiRole.ADMIN, ApiRole.OPS, ApiRole.WAREHOUSE})
BOOKS_ROLES = frozenset({ApiRole.ADMIN, ApiRole.FINANCE, ApiRole.OPS, ApiRole.VIEWER})
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
    """A message for the next page. `text` is a catalogue msgid (English, with
    `%(name)s` for `args`), translated when shown, in the reader's language: the values
    are translated too when they are catalogue phrases (a workflow's "retry accepted"),
    and shown as they are otherwise (a provider's own message)."""

    kind: Literal["ok", "error"]
    text: str
    data: str = ""  # what a refused form carried (skip JSON, CC-e text): never typed twice
    form: str = ""  # which form `data` belongs to: "" the skip form, "correction" the CC-e
    args: tuple[tuple[str, str], ...] = ()

    def said(self, gettext: Any) -> str:
        template = gettext(self.text)
        if not self.args:
            return str(template)
        values = {name: gettext(value) if value else value for name, value in self.args}
        try:
            return str(template) % values
        except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder
            return self.text % dict(self.args)


def say(kind: Literal["ok", "error"], text: str, data: str = "", form: str = "",
        **args: object) -> Flash:  # fmt: skip
    """A flash from a msgid and its values: `say("error", "Refused: %(why)s", why=...)`."""
    return Flash(kind, text, data, form, tuple((k, str(v)) for k, v in args.items()))


@dataclass(frozen=True)
class Chrome:
    """What every signed-in page shows around its content."""

    principal: ApiPrincipal
    csrf: str
    now: datetime
    flash: Flash | None = None
    lang: str = DEFAULT_LANG

    @property
    def can_decide(self) -> bool:
        return self.principal.role in OPS_ROLES

    @property
    def can_warehouse(self) -> bool:
        return self.principal.role in WAREHOUSE_ROLES

    @property
    def can_read_books(self) -> bool:
        return self.principal.role in BOOKS_ROLES


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
    lang: str = DEFAULT_LANG


@dataclass(frozen=True)
class DashboardPage:
    template: ClassVar[str] = "dashboard.html"
    chrome: Chrome
    counts: dict[str, int]
    inbox: dict[str, int]
    stuck: list[OrderView]
    stale_stock: list[StaleStockSync] | None = None  # None: Temporal unreachable

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
    documents: list[StoredDocument] = field(default_factory=list)
    fiscal: InvoicePanel | None = None
    fix: FixPanel | None = None  # the runbook's advice and the fix in place, when stuck
    shipment: ShipmentView | None = None  # the carrier booked, its label and the quotes
    corrections: tuple[CorrectionLine, ...] = ()  # the customer's data corrected, oldest first

    @property
    def kept_fields(self) -> dict[str, str]:
        """The typed skip fields a refused form carried, to fill the form again."""
        flash = self.chrome.flash
        if flash is None or flash.form or not flash.data:
            return {}
        try:
            data = json.loads(flash.data)
        except ValueError:
            return {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return {}
        return {str(k): v for k, v in data.items()}

    @property
    def kept_customer(self) -> dict[str, str]:
        """The address or CPF fields a refused correction carried, to fill the form again."""
        flash = self.chrome.flash
        if flash is None or flash.form != "customer" or not flash.data:
            return {}
        try:
            data = json.loads(flash.data)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    @property
    def states(self) -> list[str]:
        return sorted(UFS)

    @property
    def document_links(self) -> list[tuple[str, str, int]]:
        """(title, console URL, size in bytes) of each of the order's NF-e documents."""
        return [(describe(d), document_url(d.name, "/console"), d.size) for d in self.documents]

    @property
    def details(self) -> OrderDetails:
        """Customer and address, payment, shipping documents, tracking and the quotes."""
        return order_details(self.order, self.live, self.shipment, self.chrome.principal.role)

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
    message: "str | Flash"  # a msgid, or a Flash when it carries values (a Problem's)
    lang: str = DEFAULT_LANG


Page = LoginPage | DashboardPage | OrdersPage | OrderPage | WarehousePage | ErrorPage


class Renderable(Protocol):
    """Any page: a template name and the chrome around it (pages of other console
    modules, e.g. api/console/quarantine.py, render through the same `render`)."""

    template: ClassVar[str]

    @property
    def chrome(self) -> Chrome | None: ...


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


def when(at: datetime | None, lang: str = DEFAULT_LANG) -> str:
    """A moment as people read it: the seller's clock (America/Sao_Paulo)."""
    return local_time(at, lang, seconds=True)


def brl(value: Decimal | str | None) -> str:
    if value is None:
        return ""
    text = f"{Decimal(value):,.2f}"
    return "R$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def order_url(order_id: str, suffix: str = "") -> str:
    return f"/console/orders/{quote(order_id, safe=':')}{suffix}"


@cache
def environment(lang: str = DEFAULT_LANG) -> Environment:
    """One environment per language: its catalogue and its number and time formats."""
    env = Environment(
        loader=PackageLoader("api", "templates/console"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    words = language(lang)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        words.gettext, words.ngettext, newstyle=True
    )
    env.filters.update(brl=brl, duration=duration, nfe_key=nfe_key, **filters(lang))
    env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, default=str, sort_keys=True)
    env.globals.update(order_url=order_url, quote=quote, lang=words.code, langs=LANGS)
    return env


def render(page: Renderable) -> str:
    chrome = page.chrome
    lang = chrome.lang if chrome is not None else str(getattr(page, "lang", DEFAULT_LANG))
    return environment(lang).get_template(page.template).render(page=page, chrome=page.chrome)
