"""Signed webhooks that do not validate are quarantined, shown to ops (API and console),
and fixed or re-driven into a normal inbox entry that reaches its workflow. Real HTTP,
a real Temporal dev server, SQLite."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.console import csrf_token
from db.quarantine import QuarantineRepository
from db.session import create_engine, create_sessionmaker
from tests.integration.intake_support import STORE_ORDER, signed_headers, store_webhook
from tests.integration.test_intake import admin_key, make_settings, wait_inbox
from tests.support.servers import serve

pytestmark = pytest.mark.integration

RUN = secrets.token_hex(3)  # the dev server is shared by the session: ids of our own
BAD_CPF = {**STORE_ORDER["customer"], "cpf": "529.982.247-26"}


async def post(http: httpx.AsyncClient, settings, body: bytes) -> httpx.Response:
    return await http.post("/webhooks/store", content=body, headers=signed_headers(settings, body))


async def running(env: WorkflowEnvironment, workflow_id: str) -> int:
    runs = [wf async for wf in env.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    for wf in runs:
        await env.client.get_workflow_handle(wf.id).terminate()
    return len(runs)


async def test_a_signed_invalid_webhook_is_refused_and_quarantined_once(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    body = store_webhook(f"{RUN}7001", f"evt-{RUN}7001", customer=BAD_CPF)
    ops = {"X-API-Key": admin_key(settings)}
    async with serve(create_app(settings, temporal_client=dev_env.client)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            first, again = await post(http, settings, body), await post(http, settings, body)
            unsigned = await http.post("/webhooks/store", content=body)
            listed = (await http.get("/ops/quarantine", headers=ops)).json()
            one = (await http.get(f"/ops/quarantine/{listed[0]['id']}", headers=ops)).json()
            counts = (await http.get("/ops/inbox", headers=ops)).json()

    assert (first.status_code, again.status_code, unsigned.status_code) == (422, 422, 401)
    assert first.json()["field"] == "data.customer.cpf"
    assert "check digits do not match" in first.json()["message"]
    assert "kept in quarantine as inbox entry" in first.json()["message"]
    assert len(listed) == 1
    assert listed[0] | {"id": 0, "received_at": ""} == listed[0] | {
        "id": 0, "received_at": "", "source": "store", "event_id": f"store:evt-{RUN}7001",
        "deliveries": 2, "field": "data.customer.cpf", "status": "quarantined",
        "resolution": None, "workflow_id": None,
    }  # fmt: skip
    assert json.loads(one["body"]) == json.loads(body)
    assert counts["quarantined"] == 1
    assert counts["pending"] == counts["started"] == 0


async def test_an_order_whose_city_is_not_of_its_state_is_quarantined_saying_what_to_fix(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    address = {**STORE_ORDER["shipping_address"], "city": "Campinas", "state": "MG"}
    body = store_webhook(f"{RUN}7010", f"evt-{RUN}7010", shipping_address=address)
    async with serve(create_app(settings, temporal_client=dev_env.client)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            refused = await post(http, settings, body)

    assert refused.status_code == 422
    assert refused.json()["field"] == "data.shipping_address.city"
    assert "city 'Campinas' not found in state MG" in refused.json()["message"]
    assert await running(dev_env, f"order:store:{RUN}7010") == 0


async def test_a_fixed_event_becomes_an_inbox_entry_reaches_its_workflow_and_is_audited(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    ops = {"X-API-Key": admin_key(settings)}
    broken = store_webhook(f"{RUN}7002", f"evt-{RUN}7002", customer=BAD_CPF)
    corrected = json.loads(store_webhook(f"{RUN}7002", f"evt-{RUN}7002"))
    async with serve(create_app(settings, temporal_client=dev_env.client)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await post(http, settings, broken)).status_code == 422
            entry_id = (await http.get("/ops/quarantine", headers=ops)).json()[0]["id"]
            still_bad = await http.post(
                f"/ops/quarantine/{entry_id}/fix",
                json={"body": json.loads(broken), "reason": "try as is"},
                headers=ops,
            )
            fixed = await http.post(
                f"/ops/quarantine/{entry_id}/fix",
                json={"body": corrected, "reason": "CPF confirmed by phone"},
                headers=ops,
            )
            twice = await http.post(
                f"/ops/quarantine/{entry_id}/fix", json={"body": corrected}, headers=ops
            )
            await wait_inbox(http, settings, started=1, quarantined=0)
            still_open = (await http.get("/ops/quarantine", headers=ops)).json()
            resolved = (await http.get("/ops/quarantine?include_resolved=true", headers=ops)).json()
            audit = (
                await http.get(f"/ops/audit?order_id=order:store:{RUN}7002", headers=ops)
            ).json()

    assert still_bad.status_code == 422
    assert "still not a valid event, nothing changed" in still_bad.json()["message"]
    assert fixed.status_code == 200
    assert fixed.json() | {"detail": ""} == {
        "inbox_id": entry_id, "status": "pending", "detail": "",
        "workflow_id": f"order:store:{RUN}7002",
    }  # fmt: skip
    assert twice.status_code == 409
    assert "already fixed by admin" in twice.json()["message"]
    assert still_open == []
    assert [(e["id"], e["resolution"], e["resolved_by"], e["status"]) for e in resolved] == [
        (entry_id, "fixed", "admin", "started")
    ]
    assert [(a["actor"], a["action"]) for a in audit] == [("admin", "intake:fixed")]
    assert audit[0]["details"]["reason"] == "CPF confirmed by phone"
    assert await running(dev_env, f"order:store:{RUN}7002") == 1


async def test_a_redriven_event_reaches_its_workflow_once_the_parser_accepts_it(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    """As after an upgrade: an older parser refused masked phones and kept the order in
    quarantine; re-driving it parses the stored body again, as it is."""
    settings = make_settings(sqlite_url, tmp_path)
    ops = {"X-API-Key": admin_key(settings)}
    masked = {**STORE_ORDER["customer"], "phone": "+55 (11) 98765-4321"}
    engine = create_engine(sqlite_url)
    quarantine = QuarantineRepository(create_sessionmaker(engine))
    kept = await quarantine.keep(
        "store",
        f"store:evt-{RUN}7003",
        store_webhook(f"{RUN}7003", f"evt-{RUN}7003", customer=masked),
        "malformed store webhook at data.customer.phone: at most 14 characters",
        "data.customer.phone",
    )
    hopeless = await quarantine.keep("store", f"store:evt-{RUN}7004", b"{not json", "not JSON", "")
    await engine.dispose()
    async with serve(create_app(settings, temporal_client=dev_env.client)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            redriven = await http.post(
                f"/ops/quarantine/{kept.id}/redrive", json={"reason": "parser fixed"}, headers=ops
            )
            refused = await http.post(
                f"/ops/quarantine/{hopeless.id}/redrive", json={}, headers=ops
            )
            await wait_inbox(http, settings, started=1, quarantined=1)
            left = (await http.get("/ops/quarantine", headers=ops)).json()
            audit = (
                await http.get(f"/ops/audit?order_id=order:store:{RUN}7003", headers=ops)
            ).json()

    assert redriven.status_code == 200
    assert redriven.json()["status"] == "pending"
    assert refused.status_code == 422
    assert "the stored body is still not a valid event" in refused.json()["message"]
    assert [e["id"] for e in left] == [hopeless.id]
    assert "not JSON" in left[0]["problem"]  # the problem found this time
    assert [(a["actor"], a["action"]) for a in audit] == [("admin", "intake:redriven")]
    assert await running(dev_env, f"order:store:{RUN}7003") == 1


async def test_a_quarantined_event_sent_again_valid_becomes_its_inbox_entry(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    ops = {"X-API-Key": admin_key(settings)}
    async with serve(create_app(settings, temporal_client=dev_env.client)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            broken = store_webhook(f"{RUN}7005", f"evt-{RUN}7005", customer=BAD_CPF)
            refused = await post(http, settings, broken)
            accepted = await post(http, settings, store_webhook(f"{RUN}7005", f"evt-{RUN}7005"))
            await wait_inbox(http, settings, started=1, quarantined=0)
            resolved = (await http.get("/ops/quarantine?include_resolved=true", headers=ops)).json()

    assert refused.status_code == 422
    assert accepted.status_code == 202
    assert accepted.json()["status"] == "accepted"
    assert [(e["resolution"], e["resolved_by"]) for e in resolved] == [
        ("redelivered", "channel:store")
    ]
    assert await running(dev_env, f"order:store:{RUN}7005") == 1


async def test_ops_fix_a_quarantined_event_from_the_console(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    key = admin_key(settings)
    broken = store_webhook(f"{RUN}7006", f"evt-{RUN}7006", customer=BAD_CPF)
    async with serve(create_app(settings, temporal_client=dev_env.client)) as url:
        async with httpx.AsyncClient(base_url=url, cookies={"rtg_console": key}) as http:
            assert (await post(http, settings, broken)).status_code == 422
            dashboard = await http.get("/console")
            listing = await http.get("/console/quarantine")
            entry_id = (await http.get("/ops/quarantine", headers={"X-API-Key": key})).json()[0][
                "id"
            ]
            page = await http.get(f"/console/quarantine/{entry_id}")
            fixed_body = store_webhook(f"{RUN}7006", f"evt-{RUN}7006").decode()
            form = {"csrf": csrf_token(key), "body": fixed_body, "reason": "typo"}
            done = await http.post(f"/console/quarantine/{entry_id}/fix", data=form)
            after = await http.get(done.headers["location"])
            await wait_inbox(http, settings, started=1, quarantined=0)

    assert 'href="/console/quarantine"' in dashboard.text  # navigation and the count
    assert listing.status_code == 200
    assert f"store:evt-{RUN}7006" in listing.text
    assert "check digits do not match" in listing.text
    assert page.status_code == 200
    assert "529.982.247-26" in page.text  # the body as received, ready to correct
    assert done.status_code == 303
    assert f"vai para order:store:{RUN}7006" in after.text  # the flash, in pt-BR
    assert await running(dev_env, f"order:store:{RUN}7006") == 1
