"""Helpers for intake tests: signed store webhooks as the sandbox would send them."""

from __future__ import annotations

import json
import time
from typing import Any

from config.settings import Settings
from sandbox.core import sign

STORE_ORDER: dict[str, Any] = {
    "id": "5001",
    "created_at": "2026-11-27T12:00:00+00:00",
    "customer": {"name": "Maria Souza", "cpf": "529.982.247-25", "email": "maria@example.com"},
    "shipping_address": {
        "street": "Rua das Flores", "number": "10", "neighborhood": "Centro",
        "city": "Campinas", "state": "SP", "zipcode": "13010-000",
    },
    "items": [{"sku": "SKU-A", "quantity": 2, "price": "50.00"}],
    "shipping_cost": "15.00",
    "total": "115.00",
    "payment": {"method": "pix", "status": "pending"},
}  # fmt: skip


def store_webhook(order_id: str, event_id: str, **overrides: Any) -> bytes:
    order = {**STORE_ORDER, "id": order_id, **overrides}
    envelope = {"id": event_id, "type": "order.created", "created_at": order["created_at"]}
    return json.dumps({**envelope, "data": order}).encode()


def signed_headers(settings: Settings, body: bytes, *, at: float | None = None) -> dict[str, str]:
    secret = settings.secrets.store_webhook_secret.get_secret_value()
    ts = int(time.time() if at is None else at)
    return {"Content-Type": "application/json", "X-Signature": sign(secret, body, ts)}
