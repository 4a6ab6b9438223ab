"""Fixing a stuck order in place: the runbook's advice for its step and, for an order out
of stock, the receipt that unblocks it followed by the retry, in one form."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response

from api.console.runbook import FixPanel, Shortage, advice
from api.console.session import ConsoleRoute, Problem, SessionDep, checked_form, redirect
from api.console.views import OPS_ROLES, Flash, order_url
from api.deps import ContextDep
from api.gateway import TemporalUnavailable
from db.catalogue import CatalogueRepository
from db.orders import OrderView
from domain.attention import OpsAction
from domain.errors import RetaguardaError

router = APIRouter(
    prefix="/console/orders", tags=["console"], include_in_schema=False, route_class=ConsoleRoute
)
MAX_RECEIPT = 100_000


async def load_fix(order: OrderView, catalogue: CatalogueRepository) -> FixPanel | None:
    failure = order.failure if order.needs_attention else None
    if failure is None:
        return None
    shortages: tuple[Shortage, ...] = ()
    if failure.step == "reserve_stock":
        wanted: dict[str, int] = {}
        for item in order.items:
            wanted[str(item["sku"])] = wanted.get(str(item["sku"]), 0) + int(item["quantity"])
        products = await catalogue.get_views(wanted)
        shortages = tuple(
            Shortage(sku, products[sku].name if sku in products else sku, qty,
                     products[sku].available if sku in products else 0)
            for sku, qty in sorted(wanted.items())
        )  # fmt: skip
    return FixPanel(advice(failure.step, failure.error_type), shortages, secrets.token_hex(8))


@router.post("/{order_id}/receive-and-retry")
async def receive_and_retry(
    order_id: str, request: Request, ctx: ContextDep, session: SessionDep
) -> Response:
    """Receive the stock typed for each SKU (once per form: the receipt key carries the
    form's nonce), ask the channels to sync it, then retry the stuck reservation."""
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "receive stock and retry")
    back, who = order_url(order_id), session.principal.name
    nonce = str(form.get("nonce") or "")[:32]
    received: list[str] = []
    for name, value in form.multi_items():
        if not name.startswith("receive:") or not isinstance(value, str) or not value.strip():
            continue
        sku, text = name.removeprefix("receive:"), value.strip()
        if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= MAX_RECEIPT:
            msg = f"Type how many {sku} arrived: a whole number up to {MAX_RECEIPT}."
            return redirect(back, Flash("error", msg))
        if int(text) == 0:
            continue
        if await ctx.catalogue.get_product(sku) is None:
            raise Problem(404, f"There is no product {sku}.")
        key = f"console:{order_id}:{sku}:{nonce}" if nonce else None
        await ctx.catalogue.receive_stock(sku, int(text), "receipt", key=key)
        await ctx.audit.record(who, "stock:receipt", order_id, {"sku": sku, "quantity": int(text)})
        try:
            await ctx.gateway.request_stock_sync(sku)
        except TemporalUnavailable:
            pass  # the next sync of the SKU carries it; the retry below says if Temporal is down
        received.append(f"{text} × {sku}")
    done = f"Received {', '.join(received)}. " if received else ""
    try:
        result = await ctx.actions.decide(order_id, OpsAction.RETRY, who, "stock received")
    except RetaguardaError as exc:
        return redirect(back, Flash("error", f"{done}Retry refused: {exc.message}"))
    return redirect(back, Flash("ok", f"{done}{result} ({who})."))
