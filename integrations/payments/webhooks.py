"""The payment gateway's notifications, the Mercado Pago way.

They are thin: `{"id", "type": "payment", "action": "payment.updated", "data": {"id"}}`,
the payment itself is fetched from `/v1/payments/{data.id}` later (an activity). They are
signed with `x-signature: ts=<unix>,v1=<hex>`, the HMAC-SHA256 with the gateway's secret
of the manifest `id:<data.id>;request-id:<x-request-id>;ts:<ts>;` (the body itself is not
signed: what matters, the payment, is read from the gateway over an authenticated call).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.payments import PaymentNotice
from integrations.webhooks import (
    MAX_HEADER_PARTS,
    WebhookPayloadError,
    WebhookSignatureError,
    is_hex_digest,
    load_json,
    parse_payload,
)

REQUEST_ID_HEADER = "x-request-id"
MS_FROM = 10**11  # a `ts` this large is in milliseconds (Mercado Pago sends both)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class NoticeData(_In):
    id: str = Field(min_length=1, max_length=100)


class PaymentNotification(_In):
    id: str = Field(min_length=1, max_length=100)
    type: str = Field(max_length=60)
    action: str = Field(default="", max_length=60)
    data: NoticeData


def manifest(data_id: str, request_id: str | None, ts: str) -> str:
    """What Mercado Pago signs; an alphanumeric `data.id` is signed lowercased and a part
    whose value is absent is left out."""
    parts = [f"id:{data_id.lower() if data_id.isalnum() else data_id};"]
    if request_id:
        parts.append(f"request-id:{request_id};")
    parts.append(f"ts:{ts};")
    return "".join(parts)


def sign_notification(secret: str, data_id: str, request_id: str | None, timestamp: int) -> str:
    """The `x-signature` header value for a notification (the sandbox and tests sign
    with it)."""
    digest = hmac.new(
        secret.encode(), manifest(data_id, request_id, str(timestamp)).encode(), hashlib.sha256
    ).hexdigest()
    return f"ts={timestamp},v1={digest}"


def verify_notification(
    secret: str,
    body: bytes,
    headers: Mapping[str, str | None],
    *,
    now: float,
    tolerance_s: float,
) -> None:
    """Raise WebhookSignatureError unless `x-signature` signs this notification's
    `data.id` and `x-request-id` with `secret`, at a `ts` within `tolerance_s` of `now`."""
    header = headers.get("x-signature")
    if not header:
        raise WebhookSignatureError("missing x-signature header", code="signature_missing")
    ts: str | None = None
    candidates: list[str] = []
    for part in header.split(",", MAX_HEADER_PARTS):
        key, _, value = part.strip().partition("=")
        if key == "ts" and 0 < len(value) <= 16 and value.isascii() and value.isdigit():
            ts = value
        elif key == "v1" and is_hex_digest(value):
            candidates.append(value.lower())
    if ts is None or not candidates:
        raise WebhookSignatureError(
            "malformed x-signature header: expected 'ts=<unix time>,v1=<64 hex digits>'",
            code="signature_malformed",
        )
    seconds = int(ts) / 1000 if int(ts) >= MS_FROM else int(ts)
    if abs(now - seconds) > tolerance_s:
        raise WebhookSignatureError(
            f"timestamp outside the {tolerance_s:g} s window (signed at {ts}, now "
            f"{int(now)}): check the clocks or a replayed request",
            code="signature_stale",
        )
    data_id = _data_id(body)
    expected = hmac.new(
        secret.encode(),
        manifest(data_id, headers.get(REQUEST_ID_HEADER), ts).encode(),
        hashlib.sha256,
    ).hexdigest()
    matched = False
    for candidate in candidates:  # no early exit: timing says nothing about which
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise WebhookSignatureError(
            "signature does not match: wrong secret, or the notification's data.id or "
            "x-request-id is not the one signed",
            code="signature_mismatch",
        )


def _data_id(body: bytes) -> str:
    """`data.id` as signed; a body without one cannot be verified (401, nothing kept)."""
    try:
        data = load_json(body, what="payment notification")
    except WebhookPayloadError:
        data = None
    inner = data.get("data") if isinstance(data, dict) else None
    value = inner.get("id") if isinstance(inner, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise WebhookSignatureError(
            "cannot verify the notification: its body carries no data.id to check the "
            "signature against",
            code="signature_malformed",
        )
    return str(value)


def parse_payment_notification(body: bytes, received_at: datetime) -> PaymentNotice | None:
    """A `payment` notification -> PaymentNotice (the payment is fetched later); other
    types (merchant_order, chargebacks, ...) -> None (ignored)."""
    note = parse_payload(PaymentNotification, body, what="payment notification")
    if note.type != "payment":
        return None
    return PaymentNotice(
        notice_id=note.id, payment_id=note.data.id, action=note.action, received_at=received_at
    )
