"""Correction letters (CC-e) asked by people, in one place for the API, the console and
the CLI (through the API): checked here against what SEFAZ would refuse, sent by the
letter's own workflow, and its outcome read back from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from api.errors import BadRequest, NotFound
from api.gateway import TemporalGateway
from db.audit import AuditLog
from db.fiscal_lifecycle import CorrectionView, FiscalLifecycleRepository
from db.invoices import InvoiceRepository
from domain.errors import DomainError
from domain.fiscal import InvoiceStatus
from domain.fiscal_lifecycle import (
    MAX_CORRECTIONS,
    Correction,
    CorrectionRequest,
    within_correction_window,
)

WAIT_FOR_SEFAZ = timedelta(seconds=20)


class CorrectionRefused(DomainError):
    """The NF-e cannot take a CC-e now (cancelled, past 720 h, 20 letters already)."""


class InvoiceCorrections:
    def __init__(
        self,
        gateway: TemporalGateway,
        invoices: InvoiceRepository,
        lifecycle: FiscalLifecycleRepository,
        audit: AuditLog,
    ) -> None:
        self._gateway = gateway
        self._invoices = invoices
        self._lifecycle = lifecycle
        self._audit = audit

    async def ask(
        self, order_id: str, text: str, who: str, *, now: datetime | None = None
    ) -> tuple[str, Correction | None]:
        """Send a CC-e for the order's NF-e: (workflow id, SEFAZ's answer or None while
        it is still being sent). Raises NotFound, BadRequest (the text) or
        CorrectionRefused (the NF-e's state)."""
        invoice = await self._invoices.get(order_id)
        if invoice is None or invoice.access_key is None or invoice.authorised_at is None:
            raise NotFound(f"order {order_id} has no authorised NF-e to correct")
        if invoice.status is not InvoiceStatus.AUTHORISED:
            raise CorrectionRefused(
                f"NF-e {invoice.access_key} is {invoice.status.value}: a CC-e needs an "
                "authorised NF-e (SEFAZ: 580)",
                code="nfe_not_authorised",
            )
        moment = now or datetime.now(UTC)
        if not within_correction_window(invoice.authorised_at, moment):
            raise CorrectionRefused(
                f"NF-e {invoice.access_key} was authorised more than 720 h ago: a CC-e is no "
                "longer accepted; issue a complementary or return NF-e instead",
                code="correction_window_closed",
            )
        sequence = await self._lifecycle.next_correction_sequence(invoice.access_key)
        if sequence > MAX_CORRECTIONS:
            raise CorrectionRefused(
                f"NF-e {invoice.access_key} already has {MAX_CORRECTIONS} correction letters",
                code="too_many_corrections",
            )
        try:
            request = CorrectionRequest(
                order_id=order_id,
                access_key=invoice.access_key,
                sequence=sequence,
                text=text,
                requested_at=moment,
                requested_by=who,
            )
        except ValidationError as exc:
            reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise BadRequest(f"this correction cannot be sent: {reasons}", field="text") from exc
        held = await self._lifecycle.claim_correction(request)
        if held is not None:
            raise CorrectionRefused(
                f"CC-e {sequence} of NF-e {invoice.access_key} is already being sent with "
                f"another text ({held[:80]!r}): wait for SEFAZ's answer (the order's letters "
                "show it), then send yours",
                code="correction_in_progress",
            )
        await self._audit.record(
            who, "fiscal:correction", order_id, {"sequence": sequence, "text": request.text}
        )
        return await self._gateway.correct_invoice(request, WAIT_FOR_SEFAZ)

    async def list(self, order_id: str) -> list[CorrectionView]:
        return await self._lifecycle.corrections(order_id)
