"""The runbook's rows (docs/operations.md), keyed by the step an order is stuck at and
the error's type: what it means and what to do, shown beside the fix on the order page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Advice:
    means: str
    to_do: str


RUNBOOK: dict[tuple[str, str | None], Advice] = {
    ("await_order", None): Advice(
        "A payment was confirmed for an order whose content never arrived within the SLA.",
        "Look the order up on the channel. The flag clears by itself if it arrives; retry "
        "waits another period; compensate refunds the payment.",
    ),
    ("fetch_order", None): Advice(
        "The marketplace did not answer for 10 minutes, or refused (order unknown, credentials).",
        "Check the marketplace credentials, then retry. If the order does not exist there, "
        "compensate.",
    ),
    ("reserve_stock", None): Advice(
        "Not enough stock available for some line of the order.",
        "Receive the stock below and retry in one go, or compensate (the customer is "
        "refunded). It cannot be skipped.",
    ),
    ("request_stock_sync", None): Advice(
        "Temporal refused the stock-sync signal.",
        "Retry; skipping is safe (the next order or receipt of the SKU syncs it).",
    ),
    ("prepare_invoice", None): Advice("The database was unavailable.", "Retry."),
    ("emit_invoice", None): Advice(
        "SEFAZ rejected the NF-e (the message carries cStat and xMotivo), or stayed down "
        "past 30 minutes.",
        "Fix the cause (issuer data, NCM, customer address) and retry; or emit it by hand "
        "and skip with the NF-e's data; or compensate.",
    ),
    ("emit_invoice", "sefaz_237"): Advice(
        "SEFAZ refused the customer's CPF (237: its check digits do not match).",
        "Ask the customer (or the channel) for the CPF, type it below and retry: the NF-e "
        "is emitted again, same number, with the corrected CPF.",
    ),
    ("emit_invoice", "sefaz_274"): Advice(
        "SEFAZ refused the customer's city code (274: not an IBGE code).",
        "Check CEP, city and state with the customer, correct the address below and retry: "
        "the city's IBGE code is looked up from the name.",
    ),
    ("emit_invoice", "sefaz_275"): Advice(
        "SEFAZ refused the customer's city code (275: a city of another state).",
        "Check CEP, city and state with the customer, correct the address below and retry: "
        "the city's IBGE code is looked up from the name.",
    ),
    ("emit_invoice", "sefaz_272"): Advice(
        "SEFAZ refused our own (the issuer's) city code (272).",
        "Correct the issuer's address in the settings (RETAGUARDA_FISCAL__*) and retry.",
    ),
    ("emit_invoice", "sefaz_273"): Advice(
        "SEFAZ refused our own (the issuer's) city code: it is of another state (273).",
        "Correct the issuer's address in the settings (RETAGUARDA_FISCAL__*) and retry.",
    ),
    ("emit_invoice", "OSError"): Advice(
        "The NF-e is authorised but its documents could not be kept (disk, permissions).",
        "Fix the disk or permissions and retry: the retry finds the NF-e at SEFAZ and only "
        "writes the documents. Do not skip.",
    ),
    ("open_warehouse_task", None): Advice("The database was unavailable.", "Retry."),
    ("await_warehouse", None): Advice(
        "Not picked, packed and checked within the warehouse SLA.",
        "Find the order on the floor: operators can still work it and the check clears the "
        "flag by itself; retry waits another period; compensate cancels the order.",
    ),
    ("book_shipment", None): Advice(
        "No carrier service takes this parcel or route.",
        "Buy the label elsewhere and skip with the booking, retry once the carrier allows "
        "it, or compensate.",
    ),
    ("notify_shipped", None): Advice(
        "The channel refused the tracking code or NF-e key.",
        "Fix it on the channel and skip, or retry.",
    ),
    ("dispatch", None): Advice("The database was unavailable.", "Retry."),
    ("await_delivery", None): Advice(
        "The carrier sent no 'delivered' within the delivery window.",
        "Ask the carrier: skip when the customer has it, retry to keep waiting.",
    ),
    ("shipping_incident", "ParcelLost"): Advice(
        "The carrier reports the parcel lost; a claim for its declared value is open.",
        "Ship again (a replacement from stock, booked and tracked), or skip with the reason "
        "once it is settled by hand (e.g. refunded); retry asks the carrier again.",
    ),
    ("shipping_incident", "ParcelDamaged"): Advice(
        "The carrier reports the parcel damaged; a claim for its declared value is open.",
        "Send the carrier the photos, then ship again, or skip with the reason once it is "
        "settled by hand; retry asks the carrier again.",
    ),
    ("shipping_incident", "ParcelReturned"): Advice(
        "The parcel came back to the sender.",
        "Check the parcel, then put it back to stock (the order closes as returned) and "
        "contact the customer; or skip with the reason; retry asks the carrier again.",
    ),
    ("notify_cancelled", None): Advice(
        "The channel refused the cancellation notice.", "Retry, or skip if told by hand."
    ),
}
UNDO = Advice(
    "An undo failed during a cancellation (e.g. a refund refused).",
    "Retry, or do it by hand (gateway panel, SEFAZ portal) and skip.",
)
UNKNOWN = Advice(
    "This step failed after its retries.",
    "Read the message, fix the cause and retry; compensate if the order cannot go on.",
)


@dataclass(frozen=True, slots=True)
class Shortage:
    sku: str
    name: str
    requested: int
    available: int

    @property
    def missing(self) -> int:
        return max(self.requested - self.available, 0)


@dataclass(frozen=True, slots=True)
class CorrectionForm:
    """The customer's data the failure is about, as the workflow holds it now: the form
    to correct it opens with these values."""

    kind: str  # "address" or "cpf"
    values: dict[str, str]


@dataclass(frozen=True)
class FixPanel:
    advice: Advice
    shortages: tuple[Shortage, ...] = ()
    nonce: str = ""
    correction: CorrectionForm | None = None


def advice(step: str, error_type: str | None) -> Advice:
    if (step, error_type) in RUNBOOK:
        return RUNBOOK[(step, error_type)]
    if (step, None) in RUNBOOK:
        return RUNBOOK[(step, None)]
    return UNDO if step.startswith("undo_") else UNKNOWN
