"""The warehouse station (`/console/station`): pick by scan, pack with the box suggested
and the parcel weighed, a blind check, then print the label and the DANFE.

No JavaScript: a scanner is a keyboard that types the code and Enter into the focused
field, so each scan is a form post answered with a redirect to the same screen, the
scans so far carried in its address (a reload shows the same screen, never a second
scan). A step is done only when the order's workflow says so (an Update, through the
same service as the JSON API); asking again after a lost response gets the same answer.
Operator and shift come from the login and the warehouse's clock."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.console.i18n import language
from api.console.session import (
    ConsoleRoute,
    Problem,
    Session,
    SessionDep,
    checked_form,
    chrome,
    html,
    redirect,
    text,
)
from api.console.station_views import (
    CheckScreen,
    MismatchScreen,
    PackScreen,
    PickScreen,
    PrintScreen,
    StationHome,
    TaskScreen,
    station_url,
)
from api.console.views import WAREHOUSE_ROLES, Chrome, Flash
from api.deps import ContextDep
from api.documents import document_url
from db.catalogue import ProductView
from db.lots import LotRepository
from db.orders import OrderView
from db.shipments import ShipmentRepository
from db.warehouse import WarehouseTaskView
from domain.errors import RetaguardaError
from domain.orders import Channel
from domain.station import (
    LOCAL_TZ,
    add_scan,
    decode_counts,
    differences,
    encode_counts,
    resolve_code,
    shift_of,
)
from domain.warehouse import PackedParcel, WarehouseAction, WarehouseStep
from integrations.documents.store import DocumentKind, DocumentName

router = APIRouter(
    prefix="/console/station", tags=["console"], include_in_schema=False, route_class=ConsoleRoute
)
HOME_TASKS = 8


@router.get("")
async def home(request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    session.allow(WAREHOUSE_ROLES, "use the warehouse station")
    view = chrome(request, session)
    tasks = await ctx.warehouse.open_tasks(HOME_TASKS)
    return html(request, StationHome(view, tasks))


@router.post("/open")
async def open_order(request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    """The order's code scanned or typed (our id, `store:123` or the channel's number)."""
    form = await checked_form(request, session)
    session.allow(WAREHOUSE_ROLES, "use the warehouse station")
    words = language(chrome(request, session).lang)
    code = text(form, "code", 200)
    candidates = [code, f"order:{code}"] + [f"order:{c.value}:{code}" for c in Channel]
    for order_id in candidates:
        if await ctx.warehouse.get(order_id) is not None:
            return redirect(station_url(order_id))
    message = words.gettext("No warehouse task for “%(code)s”. Scan the order's code again.")
    return redirect("/console/station", Flash("error", message % {"code": code}))


async def _task(ctx: ContextDep, order_id: str, view: Chrome) -> WarehouseTaskView:
    task = await ctx.warehouse.get(order_id)
    if task is None:
        words = language(view.lang)
        raise Problem(
            404, words.gettext("There is no warehouse task for %(order)s.") % {"order": order_id}
        )
    return task


@router.get("/{order_id}")
async def screen(
    order_id: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    mismatch: str = "",
    attempt: str = "",
) -> HTMLResponse:
    session.allow(WAREHOUSE_ROLES, "use the warehouse station")
    view = chrome(request, session)
    task = await _task(ctx, order_id, view)
    order = await ctx.orders.get(order_id)
    products = await ctx.catalogue.get_views(task.items)
    got = request.query_params.getlist("got")
    step = task.next_step
    if task.status == "cancelled" or step is None:
        return html(request, await _print_screen(ctx, view, task, order, products))
    known = set(task.items) if step is WarehouseStep.PICK else set(products) | set(got_skus(got))
    counts = decode_counts(got, known)
    attempt = attempt[:40]
    page: TaskScreen
    if step is WarehouseStep.PICK:
        lots = await LotRepository(ctx.sessionmaker).pick_list(
            order_id,
            task.items,
            {sku: p.bin for sku, p in products.items()},
            datetime.now(LOCAL_TZ).date(),
        )
        page = PickScreen(view, task, order, products, counts, attempt, lots=lots)
    elif step is WarehouseStep.PACK:
        page = PackScreen(view, task, order, products)
    elif mismatch:
        found = differences(task.items, counts)
        page = MismatchScreen(view, task, order, products, counts, attempt, differences=found)
    else:
        page = CheckScreen(view, task, order, products, counts, attempt or secrets.token_urlsafe(9))
    return html(request, page)


def got_skus(values: list[str]) -> list[str]:
    return [v.rpartition(":")[0] for v in values]


async def _print_screen(
    ctx: ContextDep,
    view: Chrome,
    task: WarehouseTaskView,
    order: OrderView | None,
    products: dict[str, ProductView],
) -> PrintScreen:
    danfe = label = ""
    if order is not None and order.invoice_key:
        name = DocumentName(DocumentKind.DANFE, order.invoice_key)
        if await ctx.documents.exists(name):
            danfe = document_url(name, "/console")
    shipment = await ShipmentRepository(ctx.sessionmaker).get(task.order_id)
    if shipment is not None and shipment.status != "cancelled":
        label = shipment.label_url
        if shipment.label_document:  # kept by us: served from the console
            kept = shipment.label_document.rsplit("/", 1)[-1]
            label = f"/console/orders/{quote(task.order_id, safe=':')}/shipping/{kept}"
    return PrintScreen(
        view, task, order, products, danfe_url=danfe, label_url=label,
        cancelled=task.status == "cancelled",
    )  # fmt: skip


@router.post("/{order_id}/scan")
async def scan(order_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    """One scanned code: counted toward the pick list (a wrong item or one too many is
    refused) or, in the blind check, toward what is in the box (any known product)."""
    form = await checked_form(request, session)
    session.allow(WAREHOUSE_ROLES, "use the warehouse station")
    view = chrome(request, session)
    words = language(view.lang)
    task = await _task(ctx, order_id, view)
    step, attempt = text(form, "step", 10), text(form, "attempt", 40)
    if task.next_step is None or step != task.next_step.value:
        return redirect(station_url(order_id))  # someone else moved it on: show where it is
    got = _multi(form, "got")
    code = text(form, "code", 100)
    products = await ctx.catalogue.get_views(task.items)
    here = [(sku, p.gtin) for sku, p in products.items()]
    sku = resolve_code(code, here)
    back: dict[str, str | list[str]] = {"attempt": attempt}
    if task.next_step is WarehouseStep.PICK:
        counts = decode_counts(got, task.items)
        if sku is None:
            message = words.gettext("Wrong item: “%(code)s” is not on this pick list. Put it back.")
            return _back(order_id, counts, back, Flash("error", message % {"code": code}))
        more = add_scan(counts, sku, task.items)
        if more is None:
            message = words.gettext("All %(n)s of %(name)s are picked already: put this one back.")
            name = products[sku].name if sku in products else sku
            flash = Flash("error", message % {"n": task.items[sku], "name": name})
            return _back(order_id, counts, back, flash)
        name = products[sku].name if sku in products else sku
        done = words.gettext("%(name)s: %(done)s of %(n)s") % {
            "name": name, "done": more[sku], "n": task.items[sku]
        }  # fmt: skip
        return _back(order_id, more, back, Flash("ok", done))
    known = sku or await ctx.catalogue.find_code(code)
    counts = decode_counts(got, set(got_skus(got)) | ({known} if known else set()))
    if known is None:
        message = words.gettext("Unknown code “%(code)s”: scan the item's barcode again.")
        return _back(order_id, counts, back, Flash("error", message % {"code": code}))
    more = add_scan(counts, known) or counts
    return _back(
        order_id, more, back, Flash("ok", words.gettext("Scanned: %(sku)s") % {"sku": known})
    )


def _multi(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)][:200]


def _back(
    order_id: str,
    counts: dict[str, int],
    query: dict[str, str | list[str]],
    flash: Flash,
) -> Response:
    return redirect(station_url(order_id, got=encode_counts(counts), **query), flash)


async def _step(
    ctx: ContextDep,
    session: Session,
    view: Chrome,
    order_id: str,
    action: WarehouseAction,
    attempt: str | None = None,
) -> str:
    """The workflow's answer as a sentence; raises RetaguardaError when it refuses."""
    outcome = await ctx.actions.warehouse_step(order_id, action, attempt)
    words = language(view.lang)
    done = {
        WarehouseStep.PICK: words.gettext("Pick recorded (%(who)s)."),
        WarehouseStep.PACK: words.gettext("Packing recorded (%(who)s)."),
        WarehouseStep.CHECK: words.gettext("Check recorded (%(who)s)."),
    }[outcome.record.step]
    return done % {"who": outcome.record.operator}


def _action(session: Session, step: WarehouseStep, **fields: object) -> WarehouseAction:
    return WarehouseAction(
        step=step,
        operator=session.principal.name,
        shift=shift_of(datetime.now(UTC)),
        **fields,
    )


@router.post("/{order_id}/pick")
async def pick(order_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    session.allow(WAREHOUSE_ROLES, "record warehouse steps")
    view = chrome(request, session)
    task = await _task(ctx, order_id, view)
    counts = decode_counts(_multi(form, "got"), task.items)
    if task.next_step is WarehouseStep.PICK and counts != task.items:
        words = language(view.lang)
        message = words.gettext("Scan every item on the list before finishing the pick.")
        return _back(order_id, counts, {}, Flash("error", message))
    try:
        done = await _step(ctx, session, view, order_id, _action(session, WarehouseStep.PICK))
    except RetaguardaError as exc:
        return redirect(station_url(order_id), Flash("error", exc.message))
    return redirect(station_url(order_id), Flash("ok", done))


@router.post("/{order_id}/pack")
async def pack(order_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    session.allow(WAREHOUSE_ROLES, "record warehouse steps")
    view = chrome(request, session)
    words = language(view.lang)
    names = ("weight_g", "length_cm", "width_cm", "height_cm")
    values = {n: text(form, n, 7) for n in names}
    try:
        parcel = PackedParcel(**{n: int(v) for n, v in values.items()})
    except (ValueError, ValidationError):
        message = words.gettext(
            "Weigh the box and type its weight in grams and its sides in whole centimetres "
            "(weight up to 100000 g, each side up to 200 cm)."
        )
        return redirect(station_url(order_id), Flash("error", message))
    action = _action(session, WarehouseStep.PACK, parcel=parcel)
    try:
        done = await _step(ctx, session, view, order_id, action)
    except RetaguardaError as exc:
        return redirect(station_url(order_id), Flash("error", exc.message))
    return redirect(station_url(order_id), Flash("ok", done))


@router.post("/{order_id}/check")
async def check(order_id: str, request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    session.allow(WAREHOUSE_ROLES, "record warehouse steps")
    view = chrome(request, session)
    words = language(view.lang)
    got, attempt = _multi(form, "got"), text(form, "attempt", 40)
    counts = decode_counts(got, got_skus(got))
    action = _action(session, WarehouseStep.CHECK, scanned=counts)
    try:
        done = await _step(ctx, session, view, order_id, action, attempt or None)
    except RetaguardaError as exc:
        if exc.message.startswith("check failed"):
            message = words.gettext("The check does not match: pick is reopened for what differs.")
            query: dict[str, str | list[str]] = {"mismatch": "1", "attempt": attempt}
            return _back(order_id, counts, query, Flash("error", message))
        return redirect(station_url(order_id), Flash("error", exc.message))
    return redirect(station_url(order_id), Flash("ok", done))
