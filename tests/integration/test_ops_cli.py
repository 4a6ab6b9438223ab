"""`retaguarda ops stuck | retry | compensate` against a live API, worker and Temporal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from retaguarda.cli import app
from tests.integration.test_ops_flow import PRODUCT, store_order, stuck_at
from tests.support.live import Live, live_stack

pytestmark = pytest.mark.integration


async def run_cli(live: Live, *args: str) -> tuple[int, str]:
    env = {"RETAGUARDA_API__PORT": str(live.settings.api.port)}
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    return result.exit_code, result.stdout


async def test_ops_commands_list_a_stuck_order_and_compensate_it(
    tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        await live.api.put("/products/MUG-9", json=PRODUCT)
        unpaid = {**store_order("7101", "MUG-9"), "payment": {"method": "pix", "status": "pending"}}
        await live.sandbox.post("/store/admin/orders", json=unpaid)
        order_id = "order:store:7101"
        await stuck_at(live, order_id, "reserve_stock")

        code, out = await run_cli(live, "ops", "stuck", "--json")
        assert code == 0
        stuck = {row["order_id"]: row for row in json.loads(out)}
        assert stuck[order_id]["failure"]["error_type"] == "OutOfStock"

        code, out = await run_cli(live, "ops", "skip", order_id, "--data", "not json")
        assert code == 2

        code, out = await run_cli(live, "ops", "compensate", order_id, "--reason", "no restock")
        assert code == 0, out
        assert "compensate accepted" in out

        async def cancelled() -> bool:
            order = await live.order(order_id)
            return order is not None and order["status"] == "cancelled"

        await live.until(cancelled, "the cancellation")
        code, out = await run_cli(live, "ops", "retry", order_id)
        assert code == 1  # nothing is stuck any more: the API's refusal is shown
