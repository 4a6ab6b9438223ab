"""Sandbox provider: a payment gateway shaped like Mercado Pago.

Payments are created pending and approved after a delay (Pix/boleto/card confirmation),
which is announced by a thin notification (`{"id", "type": "payment", "action",
"data": {"id"}}`: the receiver fetches the payment) signed the Mercado Pago way
(`x-signature: ts=…,v1=…` over `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`);
refunds take an `X-Idempotency-Key`. A card payment's `payment_method_id` is its brand
(`visa`, `master`, …), its `payment_type_id` is `credit_card`.

- Control (no faults): `POST /admin/payments`, `POST /admin/payments/{id}/approve`.
- API (bearer): `GET /v1/payments/{id}`, `POST /v1/payments/{id}/refunds`,
  `GET /v1/account/release_report/release-report-<YYYY-MM-DD>.csv` (sandbox/settlement.py).
- Control: `GET /admin/release_report/<YYYY-MM-DD>/seeded`: the divergences seeded that day.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Response
from pydantic import BaseModel, Field

from sandbox.core import SandboxState, sign_mercadopago
from sandbox.settlement import build_report
from sandbox.store import bearer_check

PROVIDER = "payments"
CENT = Decimal("0.01")
PAYMENT_TYPES = {"pix": "bank_transfer", "boleto": "ticket", "credit_card": "credit_card"}
METHOD_IDS = {"pix": "pix", "boleto": "bolbradesco"}  # a card's is its brand


class PaymentIn(BaseModel):
    external_reference: str = Field(min_length=1, description="<channel>:<external order id>")
    amount: Decimal = Field(gt=0)
    method: str = "pix"
    brand: str = Field(default="visa", description="the card's brand, for method credit_card")
    approve_after_s: float = Field(default=1.0, ge=0)
    approve: bool = True


class RefundIn(BaseModel):
    amount: Decimal | None = Field(default=None, gt=0, description="omitted: what is left")


@dataclass
class PaymentsData:
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund_keys: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(_first_id()))


def _first_id() -> int:
    """Where this sandbox's ids start: after the last run's, as the real gateway's ids
    never repeat (a restarted sandbox counting from 1 again handed out payment and
    notification ids that Temporal and the database already had)."""
    return (int(time.time()) % 100_000_000) * 100 + 1


def _data(state: SandboxState) -> PaymentsData:
    data = state.data[PROVIDER].get("db")
    if not isinstance(data, PaymentsData):
        data = state.data[PROVIDER]["db"] = PaymentsData()
    return data


def _amount(value: Decimal) -> str:
    return str(value.quantize(CENT))


def build_router(state: SandboxState) -> APIRouter:
    db = _data(state)
    state.webhooks.signers[PROVIDER] = sign_mercadopago
    notices = itertools.count(_first_id())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for task in list(db.tasks):
            task.cancel()

    router = APIRouter(lifespan=lifespan)
    admin = APIRouter(prefix="/admin")
    api = APIRouter(prefix="/v1", dependencies=[Depends(bearer_check(state, PROVIDER))])

    def payment_or_404(payment_id: str) -> dict[str, Any]:
        payment = db.payments.get(payment_id)
        if payment is None:
            raise HTTPException(404, f"payment {payment_id} not found")
        return payment

    def approve(payment: dict[str, Any]) -> None:
        if payment["status"] != "pending":
            return
        now = state.clock().isoformat()
        payment.update(
            status="approved", status_detail="accredited", date_approved=now, date_last_updated=now
        )
        state.ledger.record(
            PROVIDER,
            "payment_approved",
            payment_id=payment["id"],
            external_reference=payment["external_reference"],
            amount=payment["transaction_amount"],
        )
        notify(payment, now)

    def notify(payment: dict[str, Any], now: str) -> None:
        """Thin, as Mercado Pago's: which payment changed, nothing of what it is now."""
        state.webhooks.send(
            PROVIDER,
            {
                "id": 120_000_000_000 + next(notices),
                "live_mode": False,
                "type": "payment",
                "date_created": now,
                "user_id": 44444444,
                "api_version": "v1",
                "action": "payment.updated",
                "data": {"id": payment["id"]},
            },
        )

    async def approve_later(payment: dict[str, Any], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        approve(payment)

    @admin.post("/payments", status_code=201)
    async def create_payment(body: PaymentIn) -> dict[str, Any]:
        payment_id = str(1_300_000_000 + next(db.seq))
        now = state.clock().isoformat()
        payment: dict[str, Any] = {
            "id": payment_id,
            "status": "pending",
            "status_detail": "pending_waiting_transfer",
            "external_reference": body.external_reference,
            "transaction_amount": _amount(body.amount),
            "transaction_amount_refunded": "0.00",
            "currency_id": "BRL",
            "payment_method_id": (
                body.brand
                if body.method == "credit_card"
                else METHOD_IDS.get(body.method, body.method)
            ),
            "payment_type_id": PAYMENT_TYPES.get(body.method, "account_money"),
            "date_created": now,
            "date_approved": None,
            "date_last_updated": now,
            "refunds": [],
        }
        db.payments[payment_id] = payment
        state.ledger.record(
            PROVIDER,
            "payment_created",
            payment_id=payment_id,
            external_reference=body.external_reference,
            amount=payment["transaction_amount"],
        )
        if body.approve:
            task = asyncio.create_task(approve_later(payment, body.approve_after_s))
            db.tasks.add(task)
            task.add_done_callback(db.tasks.discard)
        return payment

    @admin.post("/payments/{payment_id}/approve")
    async def approve_now(payment_id: str) -> dict[str, Any]:
        payment = payment_or_404(payment_id)
        approve(payment)
        return payment

    @api.get("/payments/{payment_id}")
    async def get_payment(payment_id: str) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        return payment_or_404(payment_id)

    @api.post("/payments/{payment_id}/refunds", status_code=201)
    async def refund(
        payment_id: str,
        body: RefundIn | None = None,
        x_idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        if not x_idempotency_key:
            raise HTTPException(400, "the X-Idempotency-Key header is required for refunds")
        await state.faults.before(PROVIDER)
        payment = payment_or_404(payment_id)
        known = db.refund_keys.get((payment_id, x_idempotency_key))
        if known is not None:
            state.faults.after(PROVIDER)
            return known
        if payment["status"] not in ("approved", "refunded"):
            raise HTTPException(
                400,
                f"payment {payment_id} is {payment['status']}; only approved payments "
                "can be refunded",
            )
        paid = Decimal(payment["transaction_amount"])
        left = paid - Decimal(payment["transaction_amount_refunded"])
        amount = (body.amount if body and body.amount is not None else left).quantize(CENT)
        if amount <= 0 or amount > left:
            raise HTTPException(
                400,
                f"refund of {amount} exceeds what is left to refund on payment "
                f"{payment_id}: {left} of {paid} paid",
            )
        refund_id = str(2_100_000_000 + next(db.seq))
        created = {
            "id": refund_id,
            "payment_id": payment_id,
            "amount": _amount(amount),
            "status": "approved",
            "source": {"type": "collector"},
            "date_created": state.clock().isoformat(),
        }
        db.refund_keys[(payment_id, x_idempotency_key)] = created
        refunded = Decimal(payment["transaction_amount_refunded"]) + amount
        payment["transaction_amount_refunded"] = _amount(refunded)
        payment["refunds"].append(created)
        if refunded == paid:
            payment.update(status="refunded", status_detail="refunded")
        state.ledger.record(
            PROVIDER,
            "refund",
            payment_id=payment_id,
            refund_id=refund_id,
            amount=created["amount"],
            external_reference=payment["external_reference"],
        )
        state.faults.after(PROVIDER)
        return created

    @api.get("/account/release_report/{file_name}")
    async def release_report(file_name: str) -> Response:
        await state.faults.before(PROVIDER)
        day = _report_day(file_name)
        report = build_report(state, day)
        if state.config.marketplace_report_on_portal_only:
            report = report.of_channels({"marketplace"}, keep_others=True)
        body = report.csv()
        state.faults.after(PROVIDER)
        return Response(body, media_type="text/csv")

    @admin.get("/release_report/{day}/seeded")
    async def seeded(day: date) -> list[dict[str, str]]:
        return build_report(state, day).seeded

    router.include_router(admin)
    router.include_router(api)
    return router


REPORT_NAME = re.compile(r"^release-report-(\d{4}-\d{2}-\d{2})\.csv$")


def _report_day(file_name: str) -> date:
    found = REPORT_NAME.match(file_name)
    try:
        return date.fromisoformat(found.group(1)) if found else date.fromisoformat("")
    except ValueError:
        raise HTTPException(
            404, f"no report {file_name[:80]!r}: names are release-report-YYYY-MM-DD.csv"
        ) from None
