"""A fake outside world for workflow tests: activities registered under the real names,
recording every call, with failures injected per step."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.carriers import (
    ShippingDocuments,
    ShippingDocumentsRequest,
    TrackingQuery,
    TrackingUpdate,
)
from domain.channels import CancelledNotice, FetchOrderRequest, ShippedNotice
from domain.events import EventKind, OrderEvent
from domain.fiscal import (
    Invoice,
    InvoiceCancellation,
    InvoiceCancellationRequest,
    InvoiceNumberVoid,
    InvoiceRequest,
    InvoiceStatus,
    access_key,
    numeric_code,
)
from domain.fiscal_lifecycle import (
    NumberVoided,
    NumberVoiding,
    ReturnInvoice,
    ReturnInvoiceRequest,
    VoidingStatus,
)
from domain.freight import (
    Booking,
    BookingRequest,
    CarrierKind,
    ChannelLabelRequest,
    FreightQuote,
    PickupCancellation,
    QuoteRequest,
    QuoteSet,
)
from domain.incidents import IncidentRecord, IncidentResolution, RestockRequest
from domain.orders import Address, Channel, Customer, Order, OrderItem, PaymentStatus
from domain.payments import Refund, RefundRequest
from domain.steps import (
    AttentionChange,
    DispatchRequest,
    PrepareInvoice,
    RecordOrder,
    StatusChange,
    WarehouseStepRecorded,
)
from domain.stock import (
    ProductInfo,
    Released,
    ReleaseRequest,
    Reservation,
    ReserveRequest,
    StockPush,
)
from domain.warehouse import WarehouseTaskRequest
from workflows import steps


def make_order(
    external_id: str = "1001",
    channel: Channel = Channel.STORE,
    paid: bool = False,
    cancelled: bool = False,
) -> Order:
    return Order(
        channel=channel,
        external_id=external_id,
        placed_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        customer=Customer(
            name="Maria Souza",
            cpf="52998224725",
            email="maria@example.com",
            address=Address(
                street="Rua das Flores",
                number="10",
                district="Centro",
                city="Campinas",
                state="SP",
                postal_code="13010000",
            ),
        ),
        items=(
            OrderItem(sku="SKU-A", quantity=2, unit_price=Decimal("50.00")),
            OrderItem(sku="SKU-B", quantity=1, unit_price=Decimal("20.00")),
        ),
        shipping_price=Decimal("15.00"),
        total=Decimal("135.00"),
        payment_status=PaymentStatus.APPROVED if paid else PaymentStatus.PENDING,
        payment_id="pay-1" if paid else None,
        channel_cancelled=cancelled,
    )


def placed(order: Order, event_id: str = "store:evt-1") -> OrderEvent:
    return OrderEvent(
        event_id=event_id,
        kind=EventKind.ORDER_PLACED,
        channel=order.channel,
        external_id=order.external_id,
        received_at=datetime.now(UTC),
        order=order,
    )


def event(kind: EventKind, event_id: str, **kw: Any) -> OrderEvent:
    return OrderEvent(
        event_id=event_id,
        kind=kind,
        channel=kw.pop("channel", Channel.STORE),
        external_id=kw.pop("external_id", "1001"),
        received_at=datetime.now(UTC),
        **kw,
    )


class FakeWorld:
    """Call log plus injected failures: `fail[step] = n` fails the next n calls of that
    step non-retryably (a business rejection)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.args: dict[str, list[Any]] = defaultdict(list)
        self.fail: dict[str, int] = {}
        self.fail_as: dict[str, tuple[str, str]] = {}  # step -> (error type, message)
        self.shortage = False
        self.reserved: set[str] = set()  # SKUs the order holds (release gives them back)
        self.marketplace_orders: dict[str, Order] = {}
        self.on_call: dict[str, Any] = {}  # step -> callable run when the step is called
        self.portal_price = Decimal("31.00")  # the portal carrier's quote (PAC is 22.50)
        self.tracking: list[TrackingUpdate] = []  # what polls answer, in turn (then nothing)
        # The API carrier's own ledger, by booking reference (tag): booking looks first.
        self.carrier_ledger: dict[str, list[Booking]] = defaultdict(list)
        self.lose_booking_answer: set[str] = set()  # tags whose first answer is lost

    def _called(self, name: str, arg: Any) -> None:
        self.calls.append(name)
        self.args[name].append(arg)
        if name in self.on_call:
            self.on_call[name]()
        if self.fail.get(name, 0) > 0:
            self.fail[name] -= 1
            kind, message = self.fail_as.get(
                name, ("ProviderRejected", f"{name} rejected by the provider (test)")
            )
            raise ApplicationError(message, {"attempt": 1}, type=kind, non_retryable=True)

    def activities(self) -> list[Any]:
        w = self

        @activity.defn(name=steps.RECORD_ORDER.name)
        async def record_order(r: RecordOrder) -> None:
            w._called(steps.RECORD_ORDER.name, r)

        @activity.defn(name=steps.RECORD_STATUS.name)
        async def record_status(r: StatusChange) -> None:
            w._called(steps.RECORD_STATUS.name, r)

        @activity.defn(name=steps.RECORD_TRACKING.name)
        async def record_tracking(r: StatusChange) -> None:
            w._called(steps.RECORD_TRACKING.name, r)

        @activity.defn(name=steps.RECORD_ATTENTION.name)
        async def record_attention(r: AttentionChange) -> None:
            w._called(steps.RECORD_ATTENTION.name, r)

        @activity.defn(name=steps.FETCH_ORDER.name)
        async def fetch_order(r: FetchOrderRequest) -> Order:
            w._called(steps.FETCH_ORDER.name, r)
            return w.marketplace_orders[r.external_id]

        @activity.defn(name=steps.RESERVE_STOCK.name)
        async def reserve_stock(r: ReserveRequest) -> Reservation:
            w._called(steps.RESERVE_STOCK.name, r)
            if w.shortage:
                from domain.stock import Shortage

                return Reservation(
                    order_id=r.order_id,
                    reserved=False,
                    shortages=(Shortage(sku="SKU-A", requested=2, available=0),),
                )
            w.reserved |= set(r.quantities)
            return Reservation(
                order_id=r.order_id,
                reserved=True,
                products=tuple(
                    ProductInfo(
                        sku=sku, name=f"Product {sku}", ncm="61091000", weight_g=300,
                        height_cm=5, width_cm=20, length_cm=30,
                    )
                    for sku in r.quantities
                ),
            )  # fmt: skip

        @activity.defn(name=steps.RELEASE_STOCK.name)
        async def release_stock(r: ReleaseRequest) -> Released:
            w._called(steps.RELEASE_STOCK.name, r)
            released, w.reserved = tuple(sorted(w.reserved)), set()
            return Released(skus=released)

        @activity.defn(name=steps.REQUEST_STOCK_SYNC.name)
        async def request_stock_sync(r: StockPush) -> None:
            w._called(steps.REQUEST_STOCK_SYNC.name, r)

        @activity.defn(name=steps.PREPARE_INVOICE.name)
        async def prepare_invoice(r: PrepareInvoice) -> int:
            w._called(steps.PREPARE_INVOICE.name, r)
            return 7

        @activity.defn(name=steps.EMIT_INVOICE.name)
        async def emit_invoice(r: InvoiceRequest) -> Invoice:
            w._called(steps.EMIT_INVOICE.name, r)
            key = access_key(
                uf="SP", issued_at=r.issued_at, cnpj="11222333000181", series=r.series,
                number=r.number, cnf=numeric_code(r.order_id, r.number),
            )  # fmt: skip
            return Invoice(
                order_id=r.order_id, access_key=key, number=r.number, series=r.series,
                protocol="135260000000001", authorised_at=r.issued_at,
            )  # fmt: skip

        @activity.defn(name=steps.CANCEL_INVOICE.name)
        async def cancel_invoice(r: InvoiceCancellationRequest) -> InvoiceCancellation:
            w._called(steps.CANCEL_INVOICE.name, r)
            if r.access_key is None:  # the emission's outcome was lost: SEFAZ has none
                return InvoiceCancellation(access_key="0" * 44, status=InvoiceStatus.NOT_AUTHORISED)
            if (
                r.window_s is not None
                and r.authorised_at is not None
                and ((r.requested_at - r.authorised_at).total_seconds() > r.window_s)
            ):  # as the service: past the window SEFAZ would answer 501
                return InvoiceCancellation(
                    access_key=r.access_key, status=InvoiceStatus.NEEDS_RETURN_INVOICE
                )
            return InvoiceCancellation(access_key=r.access_key, status=InvoiceStatus.CANCELLED)

        @activity.defn(name=steps.EMIT_RETURN_INVOICE.name)
        async def emit_return_invoice(r: ReturnInvoiceRequest) -> ReturnInvoice:
            w._called(steps.EMIT_RETURN_INVOICE.name, r)
            key = access_key(
                uf="SP", issued_at=r.issued_at, cnpj="11222333000181", series=r.series,
                number=8, cnf=numeric_code(r.order_id + "/return", 8),
            )  # fmt: skip
            return ReturnInvoice(
                order_id=r.order_id, refers_to=r.refers_to, access_key=key, number=8,
                series=r.series, protocol="135260000000002", authorised_at=r.issued_at,
            )  # fmt: skip

        @activity.defn(name=steps.VOID_NUMBER_AT_SEFAZ.name)
        async def void_invoice_number_at_sefaz(r: NumberVoiding) -> NumberVoided:
            w._called(steps.VOID_NUMBER_AT_SEFAZ.name, r)
            return NumberVoided(status=VoidingStatus.NONE, series=r.series)

        @activity.defn(name=steps.FLAG_RETURN_INVOICE.name)
        async def flag_return_invoice(r: InvoiceCancellationRequest) -> None:
            w._called(steps.FLAG_RETURN_INVOICE.name, r)

        @activity.defn(name=steps.VOID_INVOICE_NUMBER.name)
        async def void_invoice_number(r: InvoiceNumberVoid) -> None:
            w._called(steps.VOID_INVOICE_NUMBER.name, r)

        @activity.defn(name=steps.OPEN_WAREHOUSE_TASK.name)
        async def open_warehouse_task(r: WarehouseTaskRequest) -> None:
            w._called(steps.OPEN_WAREHOUSE_TASK.name, r)

        @activity.defn(name=steps.RECORD_WAREHOUSE_STEP.name)
        async def record_warehouse_step(r: WarehouseStepRecorded) -> None:
            w._called(steps.RECORD_WAREHOUSE_STEP.name, r)

        @activity.defn(name=steps.QUOTE_FREIGHT.name)
        async def quote_freight(r: QuoteRequest) -> QuoteSet:
            w._called(steps.QUOTE_FREIGHT.name, r)
            return QuoteSet(
                quotes=(
                    FreightQuote(service_id=1, carrier="Correios", service="PAC",
                                 price=Decimal("22.50"), delivery_days=6),
                    FreightQuote(service_id=2, carrier="Correios", service="SEDEX",
                                 price=Decimal("39.90"), delivery_days=2),
                )
            )  # fmt: skip

        @activity.defn(name=steps.BOOK_SHIPMENT.name)
        async def book_shipment(r: BookingRequest) -> Booking:
            w._called(steps.BOOK_SHIPMENT.name, r)
            found = w.carrier_ledger[r.tag]
            if found:  # looked before it acted: the earlier attempt's label
                return found[0]
            n = sum(len(b) for b in w.carrier_ledger.values()) + 1
            booking = Booking(
                order_id=r.order_id, shipment_id=f"shp-{n}",
                tracking_code="ME123456789BR" if n == 1 else f"ME{123456788 + n}BR",
                carrier=r.quote.carrier, service=r.quote.service, price=r.quote.price,
                reference=r.reference,
            )  # fmt: skip
            found.append(booking)
            if r.tag in w.lose_booking_answer:  # bought, but the answer never came back
                w.lose_booking_answer.discard(r.tag)
                raise ApplicationError("carrier: upstream timed out (test)", type="timeout")
            return booking

        @activity.defn(name=steps.RECORD_INCIDENT.name)
        async def record_incident(r: IncidentRecord) -> None:
            w._called(steps.RECORD_INCIDENT.name, r)

        @activity.defn(name=steps.RESOLVE_INCIDENT.name)
        async def resolve_incident(r: IncidentResolution) -> None:
            w._called(steps.RESOLVE_INCIDENT.name, r)

        @activity.defn(name=steps.RESTOCK_RETURN.name)
        async def restock_return(r: RestockRequest) -> None:
            w._called(steps.RESTOCK_RETURN.name, r)

        @activity.defn(name=steps.QUOTE_PORTAL.name)
        async def quote_portal_freight(r: QuoteRequest) -> QuoteSet:
            w._called(steps.QUOTE_PORTAL.name, r)
            return QuoteSet(quotes=(
                FreightQuote(service_id=1, carrier="Expresso Serra", service="Rodoviário",
                             price=w.portal_price, delivery_days=5, kind=CarrierKind.PORTAL),
            ))  # fmt: skip

        @activity.defn(name=steps.BOOK_PORTAL_PICKUP.name)
        async def book_portal_pickup(r: BookingRequest) -> Booking:
            w._called(steps.BOOK_PORTAL_PICKUP.name, r)
            return Booking(
                order_id=r.order_id, shipment_id="COL-000001", tracking_code="ES700000001BR",
                carrier=r.quote.carrier, service=r.quote.service, price=r.quote.price,
                kind=CarrierKind.PORTAL,
            )  # fmt: skip

        @activity.defn(name=steps.CANCEL_PORTAL_PICKUP.name)
        async def cancel_portal_pickup(r: PickupCancellation) -> None:
            w._called(steps.CANCEL_PORTAL_PICKUP.name, r)

        @activity.defn(name=steps.FETCH_CHANNEL_LABEL.name)
        async def fetch_channel_label(r: ChannelLabelRequest) -> Booking:
            w._called(steps.FETCH_CHANNEL_LABEL.name, r)
            return Booking(
                order_id=r.order_id, shipment_id=r.shipment_id, tracking_code="MEL4000000001",
                carrier="Mercado Envios", service="drop_off", price=Decimal("0"),
                kind=CarrierKind.MARKETPLACE,
            )  # fmt: skip

        @activity.defn(name=steps.RENDER_SHIPPING_DOCUMENTS.name)
        async def render_shipping_documents(r: ShippingDocumentsRequest) -> ShippingDocuments:
            w._called(steps.RENDER_SHIPPING_DOCUMENTS.name, r)
            return ShippingDocuments(label=f"{r.order_id}/label.pdf",
                                     packing_slip=f"{r.order_id}/packing-slip.pdf")  # fmt: skip

        async def _track(name: str, r: TrackingQuery) -> TrackingUpdate:
            w._called(name, r)
            return w.tracking.pop(0) if w.tracking else TrackingUpdate()

        @activity.defn(name=steps.TRACK_SHIPMENT.name)
        async def track_shipment(r: TrackingQuery) -> TrackingUpdate:
            return await _track(steps.TRACK_SHIPMENT.name, r)

        @activity.defn(name=steps.TRACK_PORTAL_PICKUP.name)
        async def track_portal_pickup(r: TrackingQuery) -> TrackingUpdate:
            return await _track(steps.TRACK_PORTAL_PICKUP.name, r)

        @activity.defn(name=steps.NOTIFY_SHIPPED.name)
        async def notify_shipped(r: ShippedNotice) -> None:
            w._called(steps.NOTIFY_SHIPPED.name, r)

        @activity.defn(name=steps.DISPATCH.name)
        async def dispatch(r: DispatchRequest) -> None:
            w._called(steps.DISPATCH.name, r)

        @activity.defn(name=steps.CANCEL_PICKUP.name)
        async def cancel_pickup(r: PickupCancellation) -> None:
            w._called(steps.CANCEL_PICKUP.name, r)

        @activity.defn(name=steps.REFUND.name)
        async def refund_payment(r: RefundRequest) -> Refund:
            w._called(steps.REFUND.name, r)
            return Refund(refund_id="rf-1", payment_id=r.payment_id, amount=r.amount,
                          status="approved")  # fmt: skip

        @activity.defn(name=steps.NOTIFY_CANCELLED.name)
        async def notify_cancelled(r: CancelledNotice) -> None:
            w._called(steps.NOTIFY_CANCELLED.name, r)

        return [
            record_order, record_status, record_tracking, record_attention, fetch_order,
            reserve_stock, release_stock, request_stock_sync, prepare_invoice, emit_invoice,
            cancel_invoice, flag_return_invoice, void_invoice_number, open_warehouse_task,
            record_warehouse_step, emit_return_invoice, void_invoice_number_at_sefaz,
            quote_freight, book_shipment, notify_shipped, dispatch, cancel_pickup,
            refund_payment, notify_cancelled, quote_portal_freight, book_portal_pickup,
            cancel_portal_pickup, fetch_channel_label, track_shipment, track_portal_pickup,
            render_shipping_documents, record_incident, resolve_incident, restock_return,
        ]  # fmt: skip

    def effects(self) -> list[str]:
        """The calls that change something outside, bookkeeping left out."""
        bookkeeping = {
            steps.RECORD_ORDER.name, steps.RECORD_STATUS.name, steps.RECORD_TRACKING.name,
            steps.RECORD_ATTENTION.name, steps.RECORD_WAREHOUSE_STEP.name,
        }  # fmt: skip
        return [c for c in self.calls if c not in bookkeeping]
