"""The payment gateway's API (Mercado Pago-like): read a payment, refund it, download
the release report of a day."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict

from domain.payments import Payment, Refund, RefundRequest
from integrations.http import read_model, send

PROVIDER = "payments"
M = TypeVar("M", bound=BaseModel)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class RefundOut(_In):
    id: str
    payment_id: str
    amount: Decimal
    status: str


class PaymentOut(_In):
    id: str
    status: str
    external_reference: str | None = None
    transaction_amount: Decimal
    transaction_amount_refunded: Decimal = Decimal("0")
    payment_method_id: str | None = None
    payment_type_id: str | None = None


PaymentInfo = Payment  # a payment as the gateway shows it now


def _read(response: httpx.Response, model: type[M]) -> M:
    return read_model(response, model, PROVIDER)


class PaymentsClient:
    """`base_url` is the API root, e.g. `<sandbox>/payments`."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    async def refund(self, request: RefundRequest) -> Refund:
        """Refund `request.amount`; the idempotency key makes a retry return the same
        refund instead of paying twice."""
        response = await send(
            self._http,
            PROVIDER,
            "POST",
            f"{self._base}/v1/payments/{quote(request.payment_id, safe='')}/refunds",
            json={"amount": str(request.amount)},
            headers={**self._headers, "X-Idempotency-Key": request.idempotency_key},
        )
        out = _read(response, RefundOut)
        return Refund(
            refund_id=out.id, payment_id=out.payment_id, amount=out.amount, status=out.status
        )

    async def get_payment(self, payment_id: str) -> Payment:
        """`/v1/payments/{id}`: what a thin notification leaves out (status, reference,
        amount, `payment_method_id` = the card brand, `payment_type_id` = the kind)."""
        response = await send(
            self._http,
            PROVIDER,
            "GET",
            f"{self._base}/v1/payments/{quote(payment_id, safe='')}",
            headers=self._headers,
        )
        out = _read(response, PaymentOut)
        return Payment(
            payment_id=out.id,
            status=out.status,
            external_reference=out.external_reference,
            amount=out.transaction_amount,
            refunded=out.transaction_amount_refunded,
            method=out.payment_method_id,
            payment_type=out.payment_type_id,
        )

    async def release_report(self, day: date, into: Path) -> Path:
        """Download the release report of `day` (Mercado Pago's
        `/v1/account/release_report/{file_name}`) into the folder `into`, atomically;
        returns the file."""
        name = release_report_name(day)
        response = await send(
            self._http,
            PROVIDER,
            "GET",
            f"{self._base}/v1/account/release_report/{name}",
            headers=self._headers,
        )
        return await asyncio.to_thread(_write_atomically, into, name, response.content)


def _write_atomically(folder: Path, name: str, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.partial"
    partial.write_bytes(content)
    final = folder / name
    partial.replace(final)
    return final


def release_report_name(day: date) -> str:
    return f"release-report-{day.isoformat()}.csv"
