"""Inbound webhooks: signature verification and the errors a malformed body raises.

The store, the marketplace and the carrier sign `f"{t}." + raw_body` with HMAC-SHA256 and
send `X-Signature: t=<unix seconds>,v1=<hex>` (several `v1=` entries are accepted, for
secret rotation). The timestamp window stops replays of captured requests. A provider with
its own scheme (the payment gateway: integrations/payments/webhooks.py) brings its own
`Verifier`; each source is verified with its provider's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import DomainError, RetaguardaError

SIGNATURE_HEADER = "X-Signature"
MAX_HEADER_PARTS = 8  # a timestamp and a few v1= signatures (secret rotation)
HEX = frozenset("0123456789abcdef")
M = TypeVar("M", bound=BaseModel)


class WebhookSignatureError(RetaguardaError):
    """The request cannot be proven to come from the provider: answer 401, store nothing."""


class WebhookPayloadError(DomainError):
    """The body is signed but not what the provider documents; `field` is the dotted path
    of the first bad field ("" when the body is not JSON at all)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, code="webhook_payload")
        self.field = field


class Verifier(Protocol):
    """Proves a request comes from its provider (raises WebhookSignatureError); `headers`
    maps lowercased header names to their values."""

    def __call__(
        self,
        secret: str,
        body: bytes,
        headers: Mapping[str, str | None],
        *,
        now: float,
        tolerance_s: float,
    ) -> None: ...


def verify_body_signature(
    secret: str,
    body: bytes,
    headers: Mapping[str, str | None],
    *,
    now: float,
    tolerance_s: float,
) -> None:
    """The `X-Signature: t=…,v1=…` scheme over the raw body, as a Verifier."""
    verify_signature(secret, body, headers.get("x-signature"), now=now, tolerance_s=tolerance_s)


def verify_signature(
    secret: str, body: bytes, header: str | None, *, now: float, tolerance_s: float
) -> None:
    """Raise WebhookSignatureError unless `header` signs `body` with `secret` within
    `tolerance_s` seconds of `now` (unix seconds)."""
    if not header:
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} header", code="signature_missing")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(",", MAX_HEADER_PARTS):
        key, _, value = part.strip().partition("=")
        if key == "t" and _is_unix_seconds(value):
            timestamp = int(value)
        elif key == "v1" and is_hex_digest(value):
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise WebhookSignatureError(
            f"malformed {SIGNATURE_HEADER} header: expected 't=<unix seconds>,v1=<64 hex "
            f"digits>' (ASCII digits; at most {MAX_HEADER_PARTS} parts)",
            code="signature_malformed",
        )
    if abs(now - timestamp) > tolerance_s:
        raise WebhookSignatureError(
            f"timestamp outside the {tolerance_s:g} s window "
            f"(signed at {timestamp}, now {int(now)}): check the clocks or a replayed request",
            code="signature_stale",
        )
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    # Compare every candidate (no early exit) so timing says nothing about which matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise WebhookSignatureError(
            "signature does not match: wrong secret or the body was altered in transit",
            code="signature_mismatch",
        )


def _is_unix_seconds(value: str) -> bool:
    # str.isdigit() alone accepts "²" and other non-ASCII digits, which int() refuses.
    return 0 < len(value) <= 12 and value.isascii() and value.isdigit()


def is_hex_digest(value: str) -> bool:
    return len(value) == 64 and value.isascii() and all(c in HEX for c in value.lower())


def payload_error(
    exc: ValidationError, *, what: str, prefix: str = "", rename: dict[str, str] | None = None
) -> WebhookPayloadError:
    """A WebhookPayloadError naming the first bad field of a pydantic ValidationError.
    `rename` maps a path (or its leading part) of the validated model to the provider's
    own field names, so the message points at what the provider actually sent; `prefix`
    is prepended (e.g. "data" for an envelope)."""
    first = exc.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    for ours, theirs in (rename or {}).items():
        if path == ours or path.startswith(ours + "."):
            path = theirs + path[len(ours) :]
            break
    field = ".".join(part for part in (prefix, path) if part)
    message = first["msg"].removeprefix("Value error, ")
    where = f" at {field}" if field else ""
    return WebhookPayloadError(f"malformed {what}{where}: {message}", field=field)


def load_json(body: bytes, *, what: str) -> Any:
    try:
        return json.loads(body, parse_float=Decimal)
    except RecursionError as exc:
        raise WebhookPayloadError(
            f"malformed {what}: the JSON is nested too deeply to be an event "
            "(hundreds of levels of arrays or objects)"
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookPayloadError(f"malformed {what}: the body is not JSON ({exc})") from exc


def envelope_id(body: bytes, key: str = "id") -> str | None:
    """The provider's event id (`key` of the top-level object) of a body that may not
    validate, when it can be read at all; None otherwise."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def parse_payload(model: type[M], body: bytes, *, what: str) -> M:
    """Validate a JSON body against `model`, turning failures into WebhookPayloadError."""
    data = load_json(body, what=what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise payload_error(exc, what=what) from exc
