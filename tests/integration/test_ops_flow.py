"""Ops through the public API against the real thing: Temporal dev server, worker,
sandbox over HTTP, SQLite."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from db.api_keys import ApiKeyRepository, ApiRole
from db.session import create_engine, create_sessionmaker
from domain.stock import StockSyncInput, stock_sync_workflow_id
from tests.support.live import Live, live_stack

pytestmark = pytest.mark.integration

PRODUCT = {
    "name": "Caneca ceramica", "ncm": "69120000", "price": "39.90", "cost": "15.00",
    "weight_g": 400, "height_cm": 10, "width_cm": 12, "length_cm": 12,
}  # fmt: skip


def store_order(order_id: str, sku: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer": {"name": "Maria Souza", "cpf": "52998224725", "email": "m@example.com"},
        "shipping_address": {
            "street": "Rua das Flores", "number": "10", "neighborhood": "Centro",
            "city": "Campinas", "state": "SP", "zipcode": "13010000",
        },
        "items": [{"sku": sku, "quantity": 1, "price": "39.90"}],
        "shipping_cost": "10.00",
        "payment": {"method": "pix", "status": "paid", "id": f"pay-{order_id}"},
    }  # fmt: skip


async def stuck_at(live: Live, order_id: str, step: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        rows = (await live.api.get("/ops/stuck")).json()
        return next(
            (r for r in rows if r["order_id"] == order_id and r["stuck_step"] == step), None
        )

    found: dict[str, Any] = await live.until(check, f"{order_id} stuck at {step}")
    return found


async def work_the_warehouse(live: Live, order_id: str) -> None:
    async def task() -> dict[str, Any] | None:
        tasks = (await live.api.get("/warehouse/tasks")).json()
        return next((t for t in tasks if t["order_id"] == order_id), None)

    found = await live.until(task, f"a warehouse task for {order_id}")
    for step in ("pick", "pack"):
        r = await live.api.post(f"/warehouse/orders/{order_id}/{step}", json={"shift": "A"})
        assert r.status_code == 200, r.text
    sku = next(iter(found["items"]))
    wrong = await live.api.post(f"/warehouse/orders/{order_id}/check", json={"scanned": {sku: 2}})
    assert wrong.status_code == 409
    assert f"{sku}: expected 1, scanned 2" in wrong.json()["message"]
    r = await live.api.post(f"/warehouse/orders/{order_id}/check", json={"scanned": found["items"]})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["operator"] == "admin"
    assert r.json()["next_step"] is None


async def test_out_of_stock_order_waits_for_ops_and_retry_after_a_receipt_delivers_it(
    tmp_path: Path, db_url: str, dev_env: WorkflowEnvironment
) -> None:
    """The whole path on SQLite and on PostgreSQL (the API and worker share the database)."""
    async with live_stack(tmp_path, db_url, dev_env.client) as live:
        run = uuid.uuid4().hex[:6]  # one Temporal server for the session: unique ids
        sku, external_id = f"MUG-{run}", f"7001-{run}"
        assert (await live.api.put(f"/products/{sku}", json=PRODUCT)).status_code == 200
        r = await live.sandbox.post("/store/admin/orders", json=store_order(external_id, sku))
        assert r.status_code == 201, r.text
        order_id = f"order:store:{external_id}"

        stuck = await stuck_at(live, order_id, "reserve_stock")
        assert stuck["failure"]["error_type"] == "OutOfStock"
        assert f"{sku}: 1 requested, 0 available" in stuck["failure"]["message"]

        receipt = await live.api.post(f"/products/{sku}/receipts", json={"quantity": 3})
        assert receipt.json()["available"] == 3
        assert receipt.json()["channels"] == "sync requested"

        async def pushed_to_the_store() -> bool:
            pushes = await live.sandbox.get("/admin/ledger", params={"kind": "stock_pushed"})
            return any(
                e["sku"] == sku and e["provider"] == "store" and e["available"] > 0
                for e in _entries(pushes.json())
            )

        await live.until(pushed_to_the_store, "the received stock on the store")
        r = await live.api.post(f"/ops/orders/{order_id}/retry", json={"reason": "restocked"})
        assert r.status_code == 200, r.text
        assert r.json()["result"] == "retry accepted"

        await work_the_warehouse(live, order_id)

        async def delivered() -> bool:
            order = await live.order(order_id)
            return order is not None and order["status"] == "delivered"

        await live.until(delivered, "delivery")
        detail = (await live.api.get(f"/orders/{order_id}")).json()
        assert detail["live"]["status"] == "delivered"
        assert len(detail["order"]["invoice_key"]) == 44
        assert detail["order"]["tracking_code"]
        product = next(p for p in (await live.api.get("/products")).json() if p["sku"] == sku)
        assert (product["on_hand"], product["reserved"]) == (2, 0)
        audit = (await live.api.get("/ops/audit", params={"order_id": order_id})).json()
        actions = [a["action"] for a in audit]
        assert "needs_attention" in actions
        assert "ops:retry" in actions
        assert next(a for a in audit if a["action"] == "ops:retry")["actor"] == "admin"


async def test_ops_compensate_cancels_a_stuck_paid_order_and_refunds_it(
    tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        await live.api.put("/products/MUG-2", json=PRODUCT)
        pay = {"external_reference": "store:7002", "amount": "49.90", "approve_after_s": 0}
        await live.sandbox.post("/store/admin/orders", json=store_order("7002", "MUG-2"))
        payment = (await live.sandbox.post("/payments/admin/payments", json=pay)).json()
        order_id = "order:store:7002"
        await stuck_at(live, order_id, "reserve_stock")

        missing = await live.api.post(f"/ops/orders/{order_id}/compensate", json={})
        assert missing.status_code == 200  # reason is optional for compensate

        async def cancelled() -> bool:
            order = await live.order(order_id)
            return order is not None and order["status"] == "cancelled"

        await live.until(cancelled, "the cancellation")
        refunds = (await live.sandbox.get("/admin/ledger", params={"kind": "refund"})).json()
        assert any(r["external_reference"] == "store:7002" for r in _entries(refunds))
        assert payment


def _entries(body: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = body["entries"] if isinstance(body, dict) else body
    return entries


async def test_only_ops_roles_decide_and_a_missing_key_is_refused(
    tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        engine = create_engine(sqlite_url)
        try:
            key = await ApiKeyRepository(create_sessionmaker(engine)).create(
                "joao", ApiRole.WAREHOUSE
            )
        finally:
            await engine.dispose()
        r = await live.api.post(
            "/ops/orders/order:store:1/retry", json={}, headers={"X-API-Key": key}
        )
        assert r.status_code == 403
        assert "role warehouse cannot do this" in r.json()["message"]
        r = await live.api.post(
            "/ops/orders/order:store:1/retry", json={}, headers={"X-API-Key": ""}
        )
        assert r.status_code == 401
        r = await live.api.post("/ops/orders/order:store:404/retry", json={})
        assert r.status_code == 404


async def test_a_channel_that_keeps_failing_shows_its_sku_as_stale(
    tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        await live.api.put("/products/MUG-5", json=PRODUCT)
        down = {"error_rate": 1.0}
        assert (await live.sandbox.put("/admin/faults/marketplace", json=down)).status_code == 200
        await dev_env.client.start_workflow(
            "StockSyncWorkflow",
            StockSyncInput(sku="MUG-5", push_deadline_s=2, stale_retry_s=1),
            id=stock_sync_workflow_id("MUG-5"),
            task_queue=live.settings.temporal.orders_queue,
            start_signal="request",
        )

        async def listed() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = (await live.api.get("/ops/stock-sync")).json()
            return [r for r in rows if r["sku"] == "MUG-5"]

        [row] = await live.until(listed, "the stale SKU")
        assert row["stuck_step"] == "push_channel_stock:marketplace"

        await live.sandbox.put("/admin/faults/marketplace", json={})

        async def cleared() -> bool:
            return not await listed()

        await live.until(cleared, "the channel to catch up")


async def test_a_correction_letter_is_sent_once_from_the_api_and_a_forbidden_one_is_refused(
    tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        run = uuid.uuid4().hex[:6]
        sku, external_id = f"MUG-{run}", f"7010-{run}"
        await live.api.put(f"/products/{sku}", json=PRODUCT)
        await live.api.post(f"/products/{sku}/receipts", json={"quantity": 2})
        await live.sandbox.post("/store/admin/orders", json=store_order(external_id, sku))
        order_id = f"order:store:{external_id}"

        async def invoiced() -> bool:
            order = await live.order(order_id)
            return order is not None and bool(order.get("invoice_key"))

        await live.until(invoiced, "the NF-e")
        path = f"/orders/{order_id}/invoice/corrections"

        refused = await live.api.post(path, json={"text": "Valor unitario correto e 35,00"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "text"
        assert "may not change values" in refused.json()["message"]

        text = "Endereco de entrega: casa dos fundos, portao azul, tocar a campainha"
        sent = await live.api.post(path, json={"text": text})
        assert sent.status_code == 201, sent.text
        assert sent.json()["status"] == "registered"
        assert sent.json()["sequence"] == 1
        again = await live.api.post(path, json={"text": text + " duas vezes"})
        assert again.json()["sequence"] == 2

        listed = (await live.api.get(path)).json()
        assert [(c["sequence"], c["status"]) for c in listed] == [
            (1, "registered"), (2, "registered"),
        ]  # fmt: skip
        assert listed[0]["requested_by"] == "admin"
        ledger = (
            await live.sandbox.get("/admin/ledger", params={"kind": "invoice_corrected"})
        ).json()
        assert [e["sequence"] for e in _entries(ledger)] == [1, 2]
        missing = await live.api.post("/orders/order:store:404/invoice/corrections", json={
            "text": text
        })  # fmt: skip
        assert missing.status_code == 404
