"""Mercado Pago-shaped payment notifications end to end: the sandbox gateway approves a
payment and sends a thin, signed notification; the API verifies it the gateway's way and
keeps it; its workflow fetches the payment and the order it names is paid."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from db.models import InboxRow
from db.session import create_engine, create_sessionmaker
from domain.payments import PaymentNoticeResult
from integrations.payments.webhooks import sign_notification
from sandbox.core import sign
from tests.integration.test_ops_flow import PRODUCT, store_order
from tests.support.live import Live, live_stack

pytestmark = pytest.mark.integration


def unpaid(order_id: str, sku: str) -> dict[str, Any]:
    order = store_order(order_id, sku)
    order["payment"] = {"method": "pix", "status": "pending"}
    return order


async def inbox_rows(url: str, source: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(InboxRow.kind, InboxRow.workflow_id).where(InboxRow.source == source)
            )
            return [(kind, workflow_id) for kind, workflow_id in rows]
    finally:
        await engine.dispose()


async def status_of(live: Live, order_id: str) -> str | None:
    order = await live.order(order_id)
    return None if order is None else str(order["status"])


async def test_a_thin_notification_pays_its_order_through_the_gateway(
    tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        await live.api.put("/products/MUG-9", json=PRODUCT)
        await live.api.post("/products/MUG-9/receipts", json={"quantity": 5})
        # one Temporal server for the session: an id of its own (test_station has 9101)
        external_id = f"9101-{uuid.uuid4().hex[:6]}"
        await live.sandbox.post("/store/admin/orders", json=unpaid(external_id, "MUG-9"))
        order_id = f"order:store:{external_id}"

        async def waiting() -> bool:
            return await status_of(live, order_id) == "awaiting_payment"

        await live.until(waiting, "the order waiting for its payment")
        pay = {
            "external_reference": f"store:{external_id}",
            "amount": "49.90",
            "approve_after_s": 0,
        }
        payment = (await live.sandbox.post("/payments/admin/payments", json=pay)).json()

        async def paid() -> bool:
            return await status_of(live, order_id) not in (None, "awaiting_payment", "reserved")

        await live.until(paid, "the payment reaching the order")
        detail = (await live.api.get(f"/orders/{order_id}")).json()
        assert detail["live"]["payment_id"] == payment["id"]
        notices = await inbox_rows(sqlite_url, "payments")
        assert notices
        assert all(kind == "payment_notified" for kind, _ in notices)
        handle = live.temporal.get_workflow_handle(notices[0][1], result_type=PaymentNoticeResult)
        result = await handle.result()
        assert (result.status, result.order_id) == ("delivered", order_id)
        # the receivable exists the moment the order is paid, not at the nightly sweep
        receivables = (await live.api.get("/finance/receivables")).json()
        (owed,) = [r for r in receivables if r["order_id"] == order_id]
        assert Decimal(owed["gross"]) == Decimal("49.90")
        assert Decimal(owed["commission"]) == Decimal("2.49")  # the store checkout's 4.99%


async def test_the_api_verifies_payments_the_mercado_pago_way(
    tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        secret = live.settings.secrets.payments_webhook_secret.get_secret_value()
        note = {"id": 77, "type": "payment", "action": "payment.updated", "data": {"id": "13"}}
        body = json.dumps(note).encode()
        now = int(time.time())

        async def post(signature: str, request_id: str) -> int:
            response = await live.api.post(
                "/webhooks/payments",
                content=body,
                headers={"x-signature": signature, "x-request-id": request_id},
            )
            return response.status_code

        assert await post(sign_notification("wrong", "13", "r1", now), "r1") == 401
        assert await post(sign_notification(secret, "13", "r1", now), "r2") == 401
        assert await post(sign_notification(secret, "13", "r1", now - 3600), "r1") == 401
        assert await post(sign_notification(secret, "13", "r1", now), "r1") == 202
        assert await post(sign_notification(secret, "13", "r3", now), "r3") == 202  # duplicate
        # the store's scheme does not open the gateway's door
        store_signed = sign(secret, body)
        assert await post(store_signed, "r1") == 401
