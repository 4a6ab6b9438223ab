"""The order page's details: the customer and where the parcel goes, the payment, the
shipping documents, the tracking link and the freight quotes (chosen and left aside).

Built from the live workflow state when Temporal answers (the order as the workflow
holds it, corrections included) and from the read model and the shipment otherwise, so
what the page shows is what the next step will use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from pydantic import ValidationError

from db.api_keys import ApiRole
from db.order_corrections import CorrectionView
from db.orders import OrderView
from db.shipments import ShipmentView
from domain.carriers import promised_date, tracking_url
from domain.formats import format_cep, format_cpf, mask_cpf
from domain.freight import FreightChoice, FreightQuote
from domain.nfe_fields import payment_kind_and_brand
from domain.orders import Address
from domain.station import LOCAL_TZ
from domain.steps import OrderState

# Who reads the whole CPF: ops correct it, finance refunds and reconciles against it,
# admin. Everyone else (warehouse, viewer) recognises the customer by the masked form.
FULL_CPF_ROLES = frozenset({ApiRole.ADMIN, ApiRole.OPS, ApiRole.FINANCE})


@dataclass(frozen=True, slots=True)
class CustomerPanel:
    name: str
    cpf: str  # formatted, masked unless the role needs it
    masked: bool
    email: str = ""
    phone: str = ""
    address: Address | None = None

    @property
    def cep(self) -> str:
        return format_cep(self.address.postal_code) if self.address else ""


@dataclass(frozen=True, slots=True)
class PaymentPanel:
    method: str  # "credit card", "Pix", "boleto" (translated by the template)
    brand: str
    amount: Decimal | None
    paid: bool | None  # None: unknown (Temporal unreachable)
    payment_id: str


@dataclass(frozen=True, slots=True)
class QuoteRow:
    carrier: str
    service: str
    price: Decimal
    days: int
    promised: date | None
    reason: str
    chosen: bool
    failed: bool  # the carrier could not quote: no price, no date


@dataclass(frozen=True, slots=True)
class FreightPanel:
    reason: str  # why the chosen one was chosen
    rows: tuple[QuoteRow, ...]
    channel_logistics: bool  # the marketplace's own label: nothing was quoted


@dataclass(frozen=True, slots=True)
class Tracking:
    carrier: str
    code: str
    url: str


@dataclass(frozen=True, slots=True)
class OrderDetails:
    customer: CustomerPanel | None
    payment: PaymentPanel
    shipping_documents: tuple[tuple[str, str], ...]  # (title, console URL)
    tracking: Tracking | None
    freight: FreightPanel | None


def order_details(
    order: OrderView,
    live: OrderState | None,
    shipment: ShipmentView | None,
    role: ApiRole,
) -> OrderDetails:
    full = role in FULL_CPF_ROLES
    return OrderDetails(
        customer=_customer(order, live, full),
        payment=_payment(order, live),
        shipping_documents=_shipping_documents(order.order_id, live, shipment),
        tracking=_tracking(order, live, shipment),
        freight=_freight(live, shipment),
    )


def _customer(order: OrderView, live: OrderState | None, full: bool) -> CustomerPanel | None:
    held = live.order if live is not None else None
    if held is None:
        if not order.customer_name and not order.customer_cpf:
            return None
        cpf = order.customer_cpf or ""
        return CustomerPanel(order.customer_name or "", _cpf(cpf, full), not full)
    c = held.customer
    return CustomerPanel(c.name, _cpf(c.cpf, full), not full, c.email, c.phone, c.address)


def _cpf(cpf: str, full: bool) -> str:
    return format_cpf(cpf) if full else mask_cpf(cpf)


def _payment(order: OrderView, live: OrderState | None) -> PaymentPanel:
    held = live.order if live is not None else None
    method = held.payment_method if held is not None else ""
    kind, brand = payment_kind_and_brand(method) if method else ("", "")
    return PaymentPanel(
        method=kind,
        brand=brand,
        amount=held.total if held is not None else order.total,
        paid=live.paid if live is not None else None,
        payment_id=(live.payment_id if live is not None else None) or "",
    )


def _shipping_documents(
    order_id: str, live: OrderState | None, shipment: ShipmentView | None
) -> tuple[tuple[str, str], ...]:
    base = f"/console/orders/{quote(order_id, safe=':')}/shipping/"
    names: list[tuple[str, str]] = []
    docs = live.documents if live is not None else None
    label = docs.label if docs is not None else (shipment.label_document if shipment else "")
    if label:
        names.append(("Label (PDF)", base + quote(label.rsplit("/", 1)[-1])))
    elif shipment is not None and shipment.label_url.startswith("https://"):
        names.append(("Label (PDF)", shipment.label_url))
    if docs is not None and docs.packing_slip:
        names.append(("Packing slip (PDF)", base + quote(docs.packing_slip.rsplit("/", 1)[-1])))
    return tuple(names)


def _tracking(
    order: OrderView, live: OrderState | None, shipment: ShipmentView | None
) -> Tracking | None:
    booking = live.booking if live is not None else None
    code = (booking.tracking_code if booking else "") or order.tracking_code or ""
    if shipment is not None and not code:
        code = shipment.tracking_code
    if not code:
        return None
    carrier = (booking.carrier if booking else "") or order.carrier or ""
    if shipment is not None and not carrier:
        carrier = shipment.carrier
    return Tracking(carrier, code, tracking_url(carrier, code))


def _freight(live: OrderState | None, shipment: ShipmentView | None) -> FreightPanel | None:
    choice = live.freight if live is not None else None
    if choice is None and shipment is not None and shipment.freight:
        try:
            choice = FreightChoice.model_validate(shipment.freight)
        except ValidationError:
            choice = None
    if choice is None:
        return None
    quoted_on = _quoted_on(live, shipment)
    rows = []
    if choice.quote is not None:
        rows.append(_row(choice.quote, quoted_on, choice.reason, chosen=True))
    rows += [_row(r.quote, quoted_on, r.reason, chosen=False) for r in choice.rejected]
    return FreightPanel(choice.reason, tuple(rows), channel_logistics=choice.quote is None)


def _quoted_on(live: OrderState | None, shipment: ShipmentView | None) -> date | None:
    at: datetime | None = shipment.booked_at if shipment is not None else None
    if at is None and live is not None:
        at = next((h.at for h in reversed(live.history) if h.status.value == "checked"), None)
    return at.astimezone(LOCAL_TZ).date() if at is not None else None


def _row(quote_: FreightQuote, quoted_on: date | None, reason: str, *, chosen: bool) -> QuoteRow:
    failed = quote_.error is not None
    promised = None
    if quoted_on is not None and not failed and quote_.delivery_days:
        promised = promised_date(quoted_on, quote_.delivery_days)
    return QuoteRow(
        carrier=quote_.carrier,
        service=quote_.service,
        price=quote_.price,
        days=quote_.delivery_days,
        promised=promised,
        reason=reason if not failed or reason else (quote_.error or ""),
        chosen=chosen,
        failed=failed,
    )


@dataclass(frozen=True, slots=True)
class CorrectionLine:
    at: datetime
    actor: str
    reason: str
    summary: str  # what it is now
    original_summary: str  # what it was


def correction_lines(
    corrections: list[CorrectionView], role: ApiRole
) -> tuple[CorrectionLine, ...]:
    """Each correction as a line: the address or CPF now and what it was (a CPF masked
    for roles that do not need it)."""
    full = role in FULL_CPF_ROLES
    return tuple(
        CorrectionLine(c.at, c.actor, c.reason, _said(c.kind, c.corrected, full),
                       _said(c.kind, c.original, full))
        for c in corrections
    )  # fmt: skip


def _said(kind: str, data: dict[str, object], full: bool) -> str:
    if kind == "cpf":
        return "CPF " + _cpf(str(data.get("cpf", "")), full)
    parts = [f"{data.get('street', '')}, {data.get('number', '')}"]
    if data.get("complement"):
        parts.append(str(data["complement"]))
    parts += [str(data.get("district", "")), f"{data.get('city', '')}/{data.get('state', '')}"]
    parts.append(f"CEP {format_cep(str(data.get('postal_code', '')))}")
    parts.append(f"IBGE {data.get('city_code', '')}")
    return " · ".join(parts)
