"""Fixing a stuck order in place: the runbook's advice for its step and, for an order out
of stock, the receipt that unblocks it followed by the retry, in one form."""

from __future__ import annotations

import json
import secrets

from fastapi import APIRouter, Request, Response

from api.console.i18n import language
from api.console.names import N_
from api.console.runbook import CorrectionForm, FixPanel, Shortage, advice
from api.console.session import (
    ConsoleRoute,
    Problem,
    SessionDep,
    checked_form,
    chrome,
    redirect,
)
from api.console.views import OPS_ROLES, order_url, say
from api.deps import ContextDep
from api.gateway import TemporalUnavailable
from db.catalogue import CatalogueRepository
from db.orders import OrderView
from domain.attention import OpsAction
from domain.customer_fix import (
    ADDRESS_FIELDS,
    CorrectionKind,
    CustomerCorrection,
    InvalidCorrection,
    correction_for,
    typed_address,
    typed_cpf,
)
from domain.errors import RetaguardaError
from domain.formats import format_cep, format_cpf
from domain.steps import OrderState

router = APIRouter(
    prefix="/console/orders", tags=["console"], include_in_schema=False, route_class=ConsoleRoute
)
MAX_RECEIPT = 100_000


async def load_fix(
    order: OrderView, catalogue: CatalogueRepository, live: OrderState | None = None
) -> FixPanel | None:
    failure = order.failure if order.needs_attention else None
    if live is not None:
        failure = live.failure
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
    return FixPanel(
        advice(failure.step, failure.error_type),
        shortages,
        secrets.token_hex(8),
        correction_form(failure.step, failure.error_type, failure.message, live),
    )


def correction_form(
    step: str, error_type: str, message: str, live: OrderState | None
) -> CorrectionForm | None:
    """The address or CPF form, when the customer's data is what failed and the workflow
    (which holds the order) answers."""
    kind = correction_for(step, error_type, message)
    held = live.order if live is not None else None
    if kind is None or held is None:
        return None
    customer = held.customer
    if kind is CorrectionKind.CPF:
        return CorrectionForm(kind.value, {"cpf": format_cpf(customer.cpf)})
    a = customer.address
    values = {f: str(getattr(a, f)) for f in ADDRESS_FIELDS}
    values["postal_code"] = format_cep(a.postal_code)
    return CorrectionForm(kind.value, values)


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
            flash = say("error", "Type how many %(sku)s arrived: a whole number up to %(most)s.",
                        sku=sku, most=MAX_RECEIPT)  # fmt: skip
            return redirect(back, flash)
        if int(text) == 0:
            continue
        if await ctx.catalogue.get_product(sku) is None:
            raise Problem(404, "There is no product %(sku)s.", sku=sku)
        key = f"console:{order_id}:{sku}:{nonce}" if nonce else None
        await ctx.catalogue.receive_stock(sku, int(text), "receipt", key=key)
        await ctx.audit.record(who, "stock:receipt", order_id, {"sku": sku, "quantity": int(text)})
        try:
            await ctx.gateway.request_stock_sync(sku)
        except TemporalUnavailable:
            pass  # the next sync of the SKU carries it; the retry below says if Temporal is down
        received.append(f"{text} × {sku}")
    got = ", ".join(received)
    try:
        result = await ctx.actions.decide(order_id, OpsAction.RETRY, who, "stock received")
    except RetaguardaError as exc:
        if got:
            flash = say("error", "Received %(got)s. Retry refused: %(why)s", got=got,
                        why=exc.message)  # fmt: skip
            return redirect(back, flash)
        return redirect(back, say("error", "Retry refused: %(why)s", why=exc.message))
    if got:
        flash = say("ok", "Received %(got)s. %(result)s (%(who)s).", got=got, result=result,
                    who=who)  # fmt: skip
        return redirect(back, flash)
    return redirect(back, say("ok", "%(result)s (%(who)s).", result=result, who=who))


@router.post("/{order_id}/correct-and-retry")
async def correct_and_retry(
    order_id: str, request: Request, ctx: ContextDep, session: SessionDep
) -> Response:
    """Correct the customer's address or CPF that SEFAZ or the carrier refused, checked
    here field by field, and retry the step with it (once per form: the nonce)."""
    form = await checked_form(request, session)
    session.allow(OPS_ROLES, "correct customer data and retry")
    back, who = order_url(order_id), session.principal.name
    kind = str(form.get("kind") or "")
    fields = ("cpf",) if kind == CorrectionKind.CPF.value else ADDRESS_FIELDS
    typed = {f: str(form.get(f) or "")[:100] for f in fields}
    kept = json.dumps(typed, ensure_ascii=False)
    try:
        if kind == CorrectionKind.CPF.value:
            correction = CustomerCorrection(cpf=typed_cpf(typed["cpf"]))
        elif kind == CorrectionKind.ADDRESS.value:
            correction = CustomerCorrection(address=typed_address(typed))
        else:
            raise Problem(422, "Choose what to correct: the address or the CPF.")
    except InvalidCorrection as exc:
        said = language(chrome(request, session).lang).gettext
        words = "; ".join(
            f"{said(FIELD_WORDS.get(k, k))}: {said(v)}" for k, v in exc.problems.items()
        )
        return redirect(back, say("error", "Not corrected: %(why)s.", kept, "customer", why=words))
    nonce = str(form.get("nonce") or "")[:32]
    reason = str(form.get("reason") or "").strip()[:500]
    key = f"console:correct:{order_id}:{nonce}" if nonce else None
    try:
        result = await ctx.actions.correct_and_retry(order_id, correction, who, reason, key)
    except RetaguardaError as exc:
        flash = say("error", "Not corrected: %(why)s", kept, "customer", why=exc.message)
        return redirect(back, flash)
    if kind == CorrectionKind.CPF.value:
        return redirect(back, say("ok", "CPF corrected; %(result)s (%(who)s).", result=result,
                                  who=who))  # fmt: skip
    return redirect(back, say("ok", "Address corrected; %(result)s (%(who)s).", result=result,
                              who=who))  # fmt: skip


FIELD_WORDS = {
    "postal_code": "CEP", "street": N_("street"), "number": N_("number"),
    "complement": N_("complement"), "district": N_("district"), "city": N_("city"),
    "state": N_("state"), "city_code": N_("city"), "cpf": "CPF",
}  # fmt: skip
# The fixed phrases domain/customer_fix.py refuses a field with (those naming what was
# typed, a state or city, stay as they are): catalogue msgids, said in the page's language.
PROBLEM_WORDS = (
    N_("a CEP has 8 digits, e.g. 13010-000"), N_("type the street"),
    N_("type the number (or S/N)"), N_("type the district"), N_("type the city"),
    N_("60 characters at most"),
)  # fmt: skip
