"""Human names for the codes people see on the console: order statuses and the steps an
order can be stuck at. English msgids of the console catalogue (`N_` marks them for
scripts/console_messages.py); templates show them with the `status_name` and
`step_name` filters, in the page's language, next to the code where ops need it."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional no-op marker
    return message


STATUS_NAMES = {
    "received": N_("Received"),
    "reserved": N_("Stock reserved"),
    "awaiting_payment": N_("Awaiting payment"),
    "paid": N_("Paid"),
    "invoiced": N_("Invoiced"),
    "picking": N_("Picking"),
    "picked": N_("Picked"),
    "packed": N_("Packed"),
    "checked": N_("Checked"),
    "dispatching": N_("Dispatching"),
    "shipped": N_("Shipped"),
    "delivered": N_("Delivered"),
    "cancelling": N_("Cancelling"),
    "cancelled": N_("Cancelled"),
}
STEP_NAMES = {
    "await_order": N_("Waiting for the order's content"),
    "fetch_order": N_("Fetching the order from the channel"),
    "reserve_stock": N_("Reserving stock"),
    "request_stock_sync": N_("Pushing stock to the channels"),
    "prepare_invoice": N_("Preparing the NF-e"),
    "emit_invoice": N_("Emitting the NF-e"),
    "open_warehouse_task": N_("Opening the warehouse task"),
    "await_warehouse": N_("Warehouse: pick, pack and check"),
    "book_shipment": N_("Booking the carrier"),
    "notify_shipped": N_("Telling the channel it shipped"),
    "dispatch": N_("Dispatching"),
    "await_delivery": N_("Waiting for delivery"),
    "notify_cancelled": N_("Telling the channel it was cancelled"),
    "undo_cancel_pickup": N_("Undo: cancel the pickup"),
    "undo_cancel_invoice": N_("Undo: cancel the NF-e"),
    "undo_void_invoice_number": N_("Undo: void the NF-e number"),
    "undo_release_stock": N_("Undo: release the stock"),
    "undo_refund": N_("Undo: refund the customer"),
    "shipping_incident": N_("Parcel lost, damaged or returned"),
    "download_settlement_report": N_("Downloading the report from the seller portal"),
    "reconcile_marketplace": N_("Reconciling the marketplace payouts"),
    "reconcile_bank": N_("Reconciling the bank statement"),
}
# The error types a stuck step records most (domain/errors.py's classes, the workflows'
# own, SEFAZ's cStat codes the runbook knows): shown by name beside the recorded message.
ERROR_NAMES = {
    "OutOfStock": N_("Not enough stock"),
    "OrderMissing": N_("The order never arrived"),
    "WarehouseOverdue": N_("Warehouse late"),
    "DeliveryOverdue": N_("Delivery late"),
    "ParcelLost": N_("Parcel lost"),
    "ParcelDamaged": N_("Parcel damaged"),
    "ParcelReturned": N_("Parcel returned to sender"),
    "ProviderUnavailable": N_("Provider unavailable"),
    "ProviderRejected": N_("Provider refused"),
    "no_freight_service": N_("No carrier takes the parcel"),
    "sefaz_237": N_("SEFAZ: invalid CPF"),
    "sefaz_272": N_("SEFAZ: issuer's city code"),
    "sefaz_273": N_("SEFAZ: issuer's city code"),
    "sefaz_274": N_("SEFAZ: recipient's city code"),
    "sefaz_275": N_("SEFAZ: recipient's city code"),
    "OSError": N_("Documents not saved"),
    "login_refused": N_("The portal refused our login"),
}
# Whole messages a workflow records with no values in them (a history's data, never
# changed there): said in the page's language when shown. Any other message is shown as
# recorded, under a label saying so.
RECORDED_PHRASES = (N_("the carrier has not reported delivery within the delivery window"),)
# A prefix workflows/attention.py puts before a message that outlived its step's deadline.
DEADLINE_PREFIX = N_("still failing when the step's deadline passed (%(kind)s): ")
CORRECTION_STATUS_NAMES = {
    "sending": N_("sending"),
    "registered": N_("registered"),
    "rejected": N_("rejected"),
}
# The finance pages' codes: reconciliation kinds, line classes, run states, margin axes.
FINANCE_NAMES = {
    "marketplace": N_("Marketplace"),
    "bank": N_("Bank"),
    "matched": N_("matched"),
    "fee_divergence": N_("fee divergence"),
    "amount_divergence": N_("amount divergence"),
    "missing_payout": N_("missing payout"),
    "unexpected_payout": N_("unexpected payout"),
    "chargeback": N_("chargeback"),
    "anticipated": N_("anticipated"),
    "unmatched_line": N_("unexplained bank line"),
    "unmatched_expected": N_("expected, not on the statement"),
    "running": N_("running"),
    "done": N_("done"),
    "channel": N_("channel"),
    "supplier": N_("supplier"),
    "sku": N_("SKU"),
    "order": N_("order"),
}
# How people call a payment method (domain/nfe_fields.py's KIND_NAMES), and the shipping
# documents (api/console/order_view.py): shown through the catalogue.
PAYMENT_NAMES = (
    N_("cash"), N_("credit card"), N_("debit card"), N_("boleto"), N_("Pix"), N_("other"),
)  # fmt: skip
DOCUMENT_NAMES = (N_("Label (PDF)"), N_("Packing slip (PDF)"))
# What an order workflow answers an ops decision with (its Update's result), shown in the
# flash that follows: catalogue phrases, so the flash reads in the page's language.
DECISION_ANSWERS = (
    N_("retry accepted"),
    N_("skip accepted"),
    N_("compensate accepted"),
    N_("reship accepted"),
    N_("return_to_stock accepted"),
    N_("cancelling"),
)
