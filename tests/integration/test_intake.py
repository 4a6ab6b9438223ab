"""Webhook intake over real HTTP, against a real Temporal dev server."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config.settings import DatabaseSettings, Settings, TemporalSettings
from config.temporal import SEARCH_ATTRIBUTES, data_converter
from tests.integration.intake_support import signed_headers, store_webhook
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.integration


def make_settings(db_url: str, tmp_path: Path, temporal_address: str = "") -> Settings:
    return Settings(
        var_dir=tmp_path,
        db=DatabaseSettings(url=db_url),
        temporal=TemporalSettings(
            address=temporal_address or "127.0.0.1:7233", orders_queue="intake-tests"
        ),
    )


async def test_webhook_with_a_bad_signature_or_stale_timestamp_is_refused(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    app = create_app(settings, temporal_client=dev_env.client)
    body = store_webhook("6001", "evt-6001")
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        forged = {**signed_headers(settings, body), "X-Signature": "t=1,v1=deadbeef"}
        r = await http.post("/webhooks/store", content=body, headers=forged)
        assert r.status_code == 401
        stale = signed_headers(settings, body, at=time.time() - 3600)
        r = await http.post("/webhooks/store", content=body, headers=stale)
        assert r.status_code == 401
        assert "window" in r.json()["message"]
        r = await http.post("/webhooks/store", content=body)
        assert r.status_code == 401
        assert "X-Signature" in r.json()["message"]
        r = await http.get("/ops/inbox", headers={"X-API-Key": admin_key(settings)})
        assert r.json() == {} or sum(r.json().values()) == 0


def admin_key(settings: Settings) -> str:
    return settings.secrets.bootstrap_admin_key.get_secret_value()


async def wait_inbox(
    http: httpx.AsyncClient, settings: Settings, timeout_s: float = 20, **want: int
) -> dict[str, int]:
    """Poll the inbox counts until they include `want` (e.g. started=1)."""
    counts: dict[str, int] = {}
    for _ in range(int(timeout_s / 0.1)):
        counts = (await http.get("/ops/inbox", headers={"X-API-Key": admin_key(settings)})).json()
        if all(counts.get(k) == v for k, v in want.items()):
            return counts
        await asyncio.sleep(0.1)
    raise AssertionError(f"inbox never reached {want}: {counts}")


async def test_malformed_webhook_gets_422_naming_the_field(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    app = create_app(settings, temporal_client=dev_env.client)
    bad_cpf = store_webhook(
        "6002", "evt-6002", customer={"name": "Maria Souza", "cpf": "111.111.111-12"}
    )
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        r = await http.post(
            "/webhooks/store", content=bad_cpf, headers=signed_headers(settings, bad_cpf)
        )
        assert r.status_code == 422
        assert r.json()["field"] == "data.customer.cpf"
        assert "CPF" in r.json()["message"]
        not_json = b"{not json"
        r = await http.post(
            "/webhooks/store", content=not_json, headers=signed_headers(settings, not_json)
        )
        assert r.status_code == 422


async def test_duplicate_webhook_starts_no_second_workflow(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    app = create_app(settings, temporal_client=dev_env.client)
    body = store_webhook("6003", "evt-6003")
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        first = await http.post(
            "/webhooks/store", content=body, headers=signed_headers(settings, body)
        )
        again = await http.post(
            "/webhooks/store", content=body, headers=signed_headers(settings, body)
        )
        assert first.status_code == 202
        assert first.json()["status"] == "accepted"
        assert again.status_code == 202
        assert again.json()["status"] == "duplicate"
        assert again.json()["inbox_id"] == first.json()["inbox_id"]
        await wait_inbox(http, settings, started=1)
    runs = [
        wf
        async for wf in dev_env.client.list_workflows(
            f"WorkflowId = '{first.json()['workflow_id']}'"
        )
    ]
    assert len(runs) == 1
    handle = dev_env.client.get_workflow_handle(first.json()["workflow_id"])
    await handle.terminate()


async def test_webhook_accepted_while_temporal_is_down_starts_its_workflow_when_it_is_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    settings = make_settings(sqlite_url, tmp_path, f"127.0.0.1:{port}")
    app = create_app(settings, relay_interval_s=0.2)
    body = store_webhook("6004", "evt-6004")
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post("/webhooks/store", content=body, headers=signed_headers(settings, body))
        assert r.status_code == 202
        assert r.json()["status"] == "accepted"
        workflow_id = r.json()["workflow_id"]
        health = (await http.get("/health")).json()
        assert health["inbox"].get("pending", 0) + health["inbox"].get("failed", 0) == 1

        env = await WorkflowEnvironment.start_local(
            port=port,
            dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
            search_attributes=list(SEARCH_ATTRIBUTES),
            data_converter=data_converter(),
            ui=False,
        )
        try:
            for _ in range(150):
                counts = (
                    await http.get("/ops/inbox", headers={"X-API-Key": admin_key(settings)})
                ).json()
                if counts.get("started") == 1:
                    break
                await asyncio.sleep(0.2)
            assert counts.get("started") == 1, counts
            described = await env.client.get_workflow_handle(workflow_id).describe()
            assert described.status is WorkflowExecutionStatus.RUNNING
        finally:
            await env.shutdown()
