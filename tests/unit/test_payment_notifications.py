"""Mercado Pago-shaped payment notifications: the signature over the manifest, the thin
body, and what a fetched payment means for its order."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.events import EventKind
from domain.orders import Channel
from domain.payments import Payment, PaymentNotice, payment_event, payment_notice_workflow_id
from integrations.payments.webhooks import (
    manifest,
    parse_payment_notification,
    sign_notification,
    verify_notification,
)
from integrations.webhooks import WebhookPayloadError, WebhookSignatureError
from sandbox.core import sign_mercadopago

SECRET = "mp-secret"
RECEIVED = datetime(2026, 11, 20, 16, 45, tzinfo=UTC)
NOW = 1_790_000_000


def notification(**extra: Any) -> dict[str, Any]:
    return {
        "id": 120000000001,
        "live_mode": False,
        "type": "payment",
        "date_created": "2026-11-20T16:45:00Z",
        "user_id": 44444444,
        "api_version": "v1",
        "action": "payment.updated",
        "data": {"id": "1300000001"},
    } | extra


def raw(note: dict[str, Any]) -> bytes:
    return json.dumps(note).encode()


def headers(signature: str, request_id: str | None = "req-1") -> dict[str, str | None]:
    return {"x-signature": signature, "x-request-id": request_id}


def test_manifest_is_mercado_pagos_template() -> None:
    assert manifest("1300000001", "req-1", "1790000000") == (
        "id:1300000001;request-id:req-1;ts:1790000000;"
    )
    assert manifest("ABC123", None, "1") == "id:abc123;ts:1;"  # alphanumeric: lowercased


def test_good_signature_is_accepted() -> None:
    signature = sign_notification(SECRET, "1300000001", "req-1", NOW)
    verify_notification(SECRET, raw(notification()), headers(signature), now=NOW, tolerance_s=300)


def test_a_signature_made_independently_by_the_sandbox_is_accepted() -> None:
    signed = sign_mercadopago(SECRET, notification(), timestamp=NOW)
    verify_notification(SECRET, raw(notification()), dict(signed), now=NOW + 5, tolerance_s=300)


def test_signature_in_milliseconds_is_read_as_such() -> None:
    ts = NOW * 1000
    digest = hmac.new(
        SECRET.encode(), f"id:1300000001;request-id:req-1;ts:{ts};".encode(), hashlib.sha256
    ).hexdigest()
    verify_notification(
        SECRET, raw(notification()), headers(f"ts={ts},v1={digest}"), now=NOW, tolerance_s=300
    )


@pytest.mark.parametrize(
    ("signature", "request_id", "body", "code"),
    [
        (sign_notification("other", "1300000001", "req-1", NOW), "req-1", None, "mismatch"),
        (sign_notification(SECRET, "1300000001", "req-1", NOW), "req-2", None, "mismatch"),
        (sign_notification(SECRET, "1300000001", "req-1", NOW), None, None, "mismatch"),
        (sign_notification(SECRET, "1300000002", "req-1", NOW), "req-1", None, "mismatch"),
        (sign_notification(SECRET, "1300000001", "req-1", NOW - 301), "req-1", None, "stale"),
        (sign_notification(SECRET, "1300000001", "req-1", NOW + 301), "req-1", None, "stale"),
        ("t=1790000000,v1=" + "0" * 64, "req-1", None, "malformed"),
        ("ts=1790000000", "req-1", None, "malformed"),
        ("", "req-1", None, "missing"),
        (
            sign_notification(SECRET, "1300000001", "req-1", NOW),
            "req-1",
            b'{"id": 1, "type": "payment"}',
            "malformed",
        ),
    ],
    ids=[
        "wrong-secret",
        "wrong-request-id",
        "request-id-dropped",
        "other-payment",
        "stale",
        "future",
        "our-own-scheme",
        "no-v1",
        "missing",
        "no-data-id",
    ],
)
def test_bad_signatures_are_refused(
    signature: str, request_id: str | None, body: bytes | None, code: str
) -> None:
    with pytest.raises(WebhookSignatureError) as caught:
        verify_notification(
            SECRET,
            body if body is not None else raw(notification()),
            headers(signature, request_id),
            now=NOW,
            tolerance_s=300,
        )
    assert caught.value.code == f"signature_{code}"


def test_live_clock_signature_round_trips() -> None:
    signed = sign_mercadopago(SECRET, notification())
    verify_notification(SECRET, raw(notification()), dict(signed), now=time.time(), tolerance_s=5)


def test_payment_notification_is_thin() -> None:
    notice = parse_payment_notification(raw(notification()), RECEIVED)

    assert notice == PaymentNotice(
        notice_id="120000000001",
        payment_id="1300000001",
        action="payment.updated",
        received_at=RECEIVED,
    )
    assert payment_notice_workflow_id(notice) == "payment-notice:payments:120000000001"


def test_other_notification_types_are_ignored() -> None:
    assert parse_payment_notification(raw(notification(type="merchant_order")), RECEIVED) is None


@pytest.mark.parametrize(
    ("note", "field"),
    [({"id": "n", "type": "payment"}, "data"), (notification(data={"id": ""}), "data.id")],
)
def test_malformed_notification_names_the_field(note: dict[str, Any], field: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_payment_notification(raw(note), RECEIVED)
    assert caught.value.field == field


def payment(**changes: Any) -> Payment:
    base: dict[str, Any] = {
        "payment_id": "1300000001",
        "status": "approved",
        "external_reference": "marketplace:2000000001",
        "amount": Decimal("123.45"),
        "method": "visa",
        "payment_type": "credit_card",
    }
    return Payment(**(base | changes))


NOTICE = PaymentNotice(notice_id="n1", payment_id="1300000001", received_at=RECEIVED)


def test_an_approved_payment_confirms_its_order() -> None:
    event = payment_event(NOTICE, payment())

    assert event is not None
    assert event.kind is EventKind.PAYMENT_CONFIRMED
    assert (event.channel, event.external_id) == (Channel.MARKETPLACE, "2000000001")
    assert event.payment_id == "1300000001"
    assert event.amount == Decimal("123.45")
    # every notice of one approval is one event to the order
    again = PaymentNotice(notice_id="n2", payment_id="1300000001", received_at=RECEIVED)
    assert payment_event(again, payment()) == event.model_copy()
    assert event.event_id == "payments:1300000001:approved"


@pytest.mark.parametrize("status", ["pending", "in_process", "rejected", "refunded"])
def test_a_payment_not_approved_tells_no_order(status: str) -> None:
    assert payment_event(NOTICE, payment(status=status)) is None


@pytest.mark.parametrize("reference", [None, "1001", "shopee:1001", "store:"])
def test_a_reference_naming_no_order_of_ours_tells_none(reference: str | None) -> None:
    assert payment_event(NOTICE, payment(external_reference=reference)) is None
