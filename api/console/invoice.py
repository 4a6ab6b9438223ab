"""The NF-e panel of the console's order page (view data, pure): the sale NF-e and what
became of it (cancelled, returned, waiting for its return NF-e), the return NF-e, the
voiding of an unused number at SEFAZ, the correction letters (CC-e), and whether ops may
send one now and why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from api.console.names import N_
from db.fiscal_lifecycle import CorrectionView, FiscalLifecycleRepository, NumberHeld
from db.invoices import InvoiceRepository, InvoiceView
from domain.fiscal import InvoiceStatus
from domain.fiscal_lifecycle import (
    CORRECTION_MAX,
    CORRECTION_MIN,
    CORRECTION_WINDOW,
    MAX_CORRECTIONS,
    CorrectionStatus,
    ReturnInvoice,
    within_correction_window,
)

# What each status means to a person, and the badge it wears: catalogue msgids, said in
# the page's language by the template (the notes and the reasons too).
STATUS_WORDS = {
    InvoiceStatus.AUTHORISED: (N_("authorised"), "ok"),
    InvoiceStatus.CANCELLED: (N_("cancelled"), "bad"),
    InvoiceStatus.NEEDS_RETURN_INVOICE: (N_("needs return"), "bad"),
    InvoiceStatus.RETURNED: (N_("returned"), ""),
    InvoiceStatus.NOT_AUTHORISED: (N_("not authorised"), "bad"),
}
STATUS_NOTES = {
    InvoiceStatus.CANCELLED: N_(
        "Cancelled at SEFAZ (event 110111) within the cancellation window."
    ),
    InvoiceStatus.NEEDS_RETURN_INVOICE: N_(
        "The order was cancelled after the cancellation window: the sale is undone by a "
        "return NF-e, not issued yet."
    ),
    InvoiceStatus.RETURNED: N_(
        "Past the cancellation window, the sale was undone by the return NF-e below."
    ),
    InvoiceStatus.NOT_AUTHORISED: N_("SEFAZ has no authorised NF-e for this order."),
}
NOT_CORRECTABLE = {
    InvoiceStatus.CANCELLED: N_(
        "The NF-e was cancelled: a correction letter needs an authorised NF-e."
    ),
    InvoiceStatus.NEEDS_RETURN_INVOICE: N_(
        "The order was cancelled and the NF-e waits for its return NF-e: a correction "
        "letter needs an authorised NF-e."
    ),
    InvoiceStatus.RETURNED: N_(
        "The NF-e was undone by a return NF-e: a correction letter needs an authorised NF-e."
    ),
    InvoiceStatus.NOT_AUTHORISED: N_(
        "SEFAZ has no authorised NF-e for this order: a correction letter needs an authorised NF-e."
    ),
}
TEXT_MAX = CORRECTION_MAX + 200  # what the form takes: the API's limit; spaces are folded


@dataclass(frozen=True)
class InvoicePanel:
    invoice: InvoiceView | None
    returned: ReturnInvoice | None = None
    numbers: list[NumberHeld] = field(default_factory=list)
    corrections: list[CorrectionView] = field(default_factory=list)
    text_max: ClassVar[int] = TEXT_MAX
    text_min: ClassVar[int] = CORRECTION_MIN
    text_limit: ClassVar[int] = CORRECTION_MAX
    max_corrections: ClassVar[int] = MAX_CORRECTIONS

    @property
    def status_words(self) -> str:
        return "" if self.invoice is None else STATUS_WORDS[self.invoice.status][0]

    @property
    def status_badge(self) -> str:
        return "" if self.invoice is None else STATUS_WORDS[self.invoice.status][1]

    @property
    def status_note(self) -> str:
        return "" if self.invoice is None else STATUS_NOTES.get(self.invoice.status, "")

    @property
    def voided(self) -> list[NumberHeld]:
        """Numbers the order gave up (its NF-e never authorised with them)."""
        return [n for n in self.numbers if n.voided_at is not None and not n.in_use]

    @property
    def registered(self) -> int:
        return sum(c.status is CorrectionStatus.REGISTERED for c in self.corrections)

    def correction_deadline(self) -> datetime | None:
        if self.invoice is None or self.invoice.authorised_at is None:
            return None
        return self.invoice.authorised_at + CORRECTION_WINDOW

    def why_no_correction(self, now: datetime) -> str:
        """Why a CC-e cannot be sent now, a catalogue msgid (`%(n)s` the most letters
        SEFAZ takes); empty when it can (the service decides again when the form is
        posted)."""
        invoice = self.invoice
        if invoice is None or invoice.access_key is None or invoice.authorised_at is None:
            return N_("There is no authorised NF-e to correct yet.")
        if invoice.status is not InvoiceStatus.AUTHORISED:
            return NOT_CORRECTABLE[invoice.status]
        if not within_correction_window(invoice.authorised_at, now):
            return N_(
                "The NF-e was authorised more than 720 h ago: SEFAZ no longer takes a "
                "correction letter. Issue a complementary or return NF-e instead."
            )
        if self.registered >= MAX_CORRECTIONS:
            return N_("The NF-e has %(n)s correction letters already, the most SEFAZ takes.")
        return ""


async def load_panel(
    order_id: str, invoices: InvoiceRepository, lifecycle: FiscalLifecycleRepository
) -> InvoicePanel:
    invoice = await invoices.get(order_id)
    return InvoicePanel(
        invoice=invoice,
        returned=await lifecycle.get_return(order_id),
        numbers=await lifecycle.numbers_of(order_id),
        corrections=await lifecycle.corrections(order_id) if invoice is not None else [],
    )
