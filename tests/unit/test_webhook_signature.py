"""Webhook signature verification: `X-Signature: t=<unix>,v1=<hex hmac_sha256>`."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from integrations.webhooks import WebhookSignatureError, verify_signature

pytestmark = pytest.mark.unit

SECRET = "whsec-test"
BODY = b'{"id":"evt_1","type":"order.created","data":{}}'
NOW = 1_800_000_000.0


def signed(body: bytes = BODY, *, t: int = int(NOW), secret: str = SECRET) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def test_valid_signature_is_accepted() -> None:
    verify_signature(SECRET, BODY, signed(), now=NOW, tolerance_s=300)


def test_signature_within_the_window_is_accepted() -> None:
    verify_signature(SECRET, BODY, signed(t=int(NOW) - 299), now=NOW, tolerance_s=300)


def test_any_matching_v1_is_accepted_during_secret_rotation() -> None:
    old = signed(secret="old-secret").split(",")[1]
    verify_signature(SECRET, BODY, f"{signed()},{old}", now=NOW, tolerance_s=300)


def test_tampered_body_is_refused() -> None:
    with pytest.raises(WebhookSignatureError, match="signature does not match") as caught:
        verify_signature(SECRET, BODY + b" ", signed(), now=NOW, tolerance_s=300)
    assert caught.value.code == "signature_mismatch"


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(WebhookSignatureError, match="signature does not match"):
        verify_signature(SECRET, BODY, signed(secret="other"), now=NOW, tolerance_s=300)


def test_tampered_timestamp_is_refused() -> None:
    mac = signed().split("v1=")[1]
    with pytest.raises(WebhookSignatureError, match="signature does not match"):
        verify_signature(SECRET, BODY, f"t={int(NOW) - 5},v1={mac}", now=NOW, tolerance_s=300)


@pytest.mark.parametrize("skew", [-301, 301])
def test_stale_or_future_timestamp_is_refused(skew: int) -> None:
    header = signed(t=int(NOW) + skew)
    with pytest.raises(WebhookSignatureError, match="timestamp outside the 300 s window"):
        verify_signature(SECRET, BODY, header, now=NOW, tolerance_s=300)


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_is_refused(header: str | None) -> None:
    with pytest.raises(WebhookSignatureError, match="missing X-Signature header"):
        verify_signature(SECRET, BODY, header, now=NOW, tolerance_s=300)


@pytest.mark.parametrize("header", ["v1=abc", "t=123", "garbage", "t=abc,v1=def"])
def test_malformed_header_is_refused_saying_the_expected_form(header: str) -> None:
    with pytest.raises(WebhookSignatureError, match="malformed X-Signature header"):
        verify_signature(SECRET, BODY, header, now=NOW, tolerance_s=300)


@pytest.mark.parametrize(
    "header",
    [
        "t=²,v1=" + "a" * 64,  # "²".isdigit() is True, int("²") fails
        "t=١٨٠٠٠٠٠٠٠٠,v1=" + "a" * 64,  # Arabic-Indic digits
        "t=1800000000,v1=not-hex",
        "t=99999999999999999999,v1=" + "a" * 64,
        "t=,v1=",
        "garbage",
    ],
)
def test_a_malformed_signature_header_is_refused_with_a_clear_message(header: str) -> None:
    with pytest.raises(WebhookSignatureError, match="malformed X-Signature") as caught:
        verify_signature(SECRET, BODY, header, now=NOW, tolerance_s=300)
    assert caught.value.code == "signature_malformed"


def test_an_uppercase_hex_signature_is_accepted() -> None:
    verify_signature(SECRET, BODY, signed().upper().replace("T=", "t=").replace("V1=", "v1="),
                     now=NOW, tolerance_s=300)  # fmt: skip
