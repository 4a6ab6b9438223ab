"""The nightly reconciliation of a channel whose settlement is only on its seller portal:
on a real dev server, the workflow on the finance queue has the bot on the rpa queue
download the marketplace's report in a real Chromium, and the night is reconciled from
both sources (the store's lines from the API, the marketplace's from the portal) as one.
Twice gives the same; the histories replay (the new path is behind its patch)."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.errors import ErrorTranslation
from activities.settlement import SOURCES_FILE, SettlementActivities
from api.app import create_app
from api.console.views import SESSION_COOKIE
from api.gateway import TemporalGateway
from config.temporal import EncryptionCodec, data_converter
from db.api_keys import ApiKeyRepository, ApiRole
from db.audit import AuditLog
from db.session import create_engine, create_sessionmaker
from domain.attention import OpsAction, OpsDecision
from domain.errors import ProviderUnavailable
from domain.reconciliation import (
    LineClass,
    NightWaiting,
    ReconcileRequest,
    ReconcileResult,
    ReconKind,
    reconciliation_workflow_id,
)
from domain.steps import TaskQueues
from integrations.documents.settlement import SettlementDocuments
from integrations.portals.browser import BrowserPool, chromium_path
from integrations.portals.seller_portal import SellerPortalBot
from tests.integration.finance_world import FinanceWorld, finance_activities, sell_a_day
from tests.integration.test_intake import make_settings
from tests.integration.test_marketplace_reconciliation import SEEDED_LINES
from tests.support.sandbox import sandbox_world
from tests.support.servers import serve
from tests.workflows.conftest import HISTORIES, POLICY, append_to_manifest
from workers.runtime import activities_of
from workflows.reconciliation import PORTAL_SETTLEMENT, ReconciliationWorkflow
from workflows.search import NEEDS_ATTENTION, STUCK_STEP
from workflows.steps import DECIDE_UPDATE, Queue

pytestmark = [pytest.mark.workflow, pytest.mark.browser]
USER, PASSWORD = "vendas@loja.example", "seller-bot-secret-password"


@dataclass
class Night:
    world: FinanceWorld
    finance_queue: str
    rpa_queue: str
    work_dir: Path
    bot: SellerPortalBot

    def request(self, *portal: str) -> ReconcileRequest:
        return ReconcileRequest(
            kind=ReconKind.MARKETPLACE, day=self.world.day, finance_queue=self.finance_queue,
            rpa_queue=self.rpa_queue, portal_channels=list(portal),
        )  # fmt: skip


@pytest.fixture
async def night(
    dev_env: WorkflowEnvironment, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Night]:
    try:
        chromium_path()
    except ProviderUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc} (CI=true: browser tests are mandatory)")
        pytest.skip(str(exc))
    engine = create_engine(sqlite_url)
    suffix = uuid.uuid4().hex[:8]
    finance_queue, rpa_queue = f"finance-{suffix}", f"rpa-{suffix}"
    documents = SettlementDocuments(tmp_path / "documents")  # both workers share it
    config = {"seed": 5, "seller_username": USER, "seller_password": PASSWORD,
              "marketplace_report_on_portal_only": True}  # fmt: skip
    try:
        async with AsyncExitStack() as stack, sandbox_world(**config) as sandbox:
            world = await sell_a_day(sandbox, create_sessionmaker(engine), tmp_path / "fin")
            world.activities = finance_activities(
                sandbox, world.sessions, tmp_path / "fin", 5, documents
            )
            pool = await BrowserPool.launch(stack, 1)
            bot = SellerPortalBot(pool, f"{sandbox.url}/seller", USER, PASSWORD, timeout_s=8)
            settlement = SettlementActivities(bot, documents)
            async with (
                Worker(
                    dev_env.client, task_queue=finance_queue, workflows=[ReconciliationWorkflow],
                    activities=activities_of([world.activities], Queue.FINANCE),
                    interceptors=[ErrorTranslation()],
                ),
                Worker(
                    dev_env.client, task_queue=rpa_queue,
                    activities=[settlement.download_settlement_report],
                    interceptors=[ErrorTranslation()], max_concurrent_activities=pool.size,
                ),
            ):  # fmt: skip
                yield Night(world, finance_queue, rpa_queue, tmp_path / "fin", bot)
    finally:
        await engine.dispose()


async def run(client: Client, request: ReconcileRequest) -> tuple[ReconcileResult, str]:
    assert request.day is not None
    workflow_id = reconciliation_workflow_id(request.kind, request.day)
    handle = await client.start_workflow(
        ReconciliationWorkflow.run, request, id=workflow_id, task_queue=request.finance_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        execution_timeout=timedelta(minutes=3),
    )  # fmt: skip
    result = await handle.result()
    return result, handle.result_run_id or ""


async def replay_and_keep(client: Client, workflow_id: str, run_id: str, name: str) -> None:
    """The run's history replays on today's code; kept for the archive when recording."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    replayer = Replayer(workflows=[ReconciliationWorkflow], data_converter=data_converter())
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None, replayed.replay_failure
    path = HISTORIES / f"{name}.{PORTAL_SETTLEMENT}-0.json"
    if os.environ.get("RETAGUARDA_RECORD_HISTORIES") == "1" and not path.exists():
        path.write_text(WorkflowHistory(workflow_id, history.events).to_json())
        append_to_manifest(path)


async def test_the_nightly_run_reconciles_a_channel_whose_report_is_only_on_its_portal(
    dev_env: WorkflowEnvironment, night: Night
) -> None:
    world = night.world
    first, run_id = await run(dev_env.client, night.request("marketplace"))
    stored = await world.results.fingerprint("marketplace", world.day)
    second, _ = await run(dev_env.client, night.request("marketplace"))

    assert second == first  # idempotent per night: the same download, the same lines
    assert await world.results.fingerprint("marketplace", world.day) == stored
    lines = await world.results.lines("marketplace", world.day)
    for case in await world.seeded():  # every divergence, the marketplace's from the portal
        description, expected = SEEDED_LINES[case["kind"]]
        got = [ln.cls for ln in lines if ln.key == case["key"] and ln.description == description]
        assert got == [expected.value], (case, got)
    market = [ln for ln in lines if ln.key.startswith("marketplace:")]
    assert any(ln.cls == LineClass.MATCHED.value for ln in market)
    assert any(ln.key.startswith("store:") for ln in lines)  # the store's, from the API
    downloads = (await world.sandbox.http.get(f"{world.sandbox.url}/seller/admin/stats")).json()
    assert downloads["downloads"] == [world.day.isoformat()] * 2
    sources = (night.work_dir / "marketplace" / world.day.isoformat() / SOURCES_FILE).read_text()
    assert '"marketplace"' in sources
    assert '"excluding": [\n   "marketplace"\n  ]' in sources
    workflow_id = reconciliation_workflow_id(ReconKind.MARKETPLACE, world.day)
    await replay_and_keep(dev_env.client, workflow_id, run_id, "nightly_run_from_the_portal")


async def test_without_the_portal_the_marketplace_payouts_are_missing(
    dev_env: WorkflowEnvironment, night: Night
) -> None:
    """The contrast: the API's report lacks the marketplace's sales (they are only on its
    seller centre), so an API-only night misses every one of them."""
    world = night.world
    result, run_id = await run(dev_env.client, night.request())
    lines = await world.results.lines("marketplace", world.day)
    market = {ln.cls for ln in lines if ln.key.startswith("marketplace:")}
    assert market == {LineClass.MISSING_PAYOUT.value}
    assert result.classified[LineClass.MISSING_PAYOUT.value] >= 3
    stats = (await world.sandbox.http.get(f"{world.sandbox.url}/seller/admin/stats")).json()
    assert stats["downloads"] == []  # the bot was not asked
    workflow_id = reconciliation_workflow_id(ReconKind.MARKETPLACE, world.day)
    await replay_and_keep(dev_env.client, workflow_id, run_id, "nightly_run_from_the_api")


async def stuck(handle: WorkflowHandle[Any, Any]) -> NightWaiting:
    """The night's state once it waits for a person (polled: the bot needs a moment)."""
    for _ in range(200):
        waiting: NightWaiting = await handle.query("state", result_type=NightWaiting)
        if waiting.failure is not None:
            return waiting
        await asyncio.sleep(0.1)
    raise AssertionError("the night never stopped to ask a person")


async def flagged(handle: WorkflowHandle[Any, Any]) -> tuple[bool | None, str | None]:
    attributes = (await handle.describe()).typed_search_attributes
    return attributes.get(NEEDS_ATTENTION), attributes.get(STUCK_STEP)


async def start(client: Client, request: ReconcileRequest) -> WorkflowHandle[Any, Any]:
    assert request.day is not None
    return await client.start_workflow(
        ReconciliationWorkflow.run, request, id=reconciliation_workflow_id(request.kind,
        request.day), task_queue=request.finance_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,  # a failed test's
        execution_timeout=timedelta(minutes=3),
    )  # fmt: skip


def decision(action: OpsAction) -> OpsDecision:
    return OpsDecision(action=action, actor="fernanda", reason="portal password changed")


async def test_a_portal_that_refuses_the_password_makes_the_night_wait_for_a_person(
    dev_env: WorkflowEnvironment, night: Night
) -> None:
    """The seller centre refuses the bot's password for good: the night does not fail, it
    waits flagged with the reason; once the password is fixed, a retry reconciles it."""
    night.bot._password = "an-old-password"  # what the secrets held before the change
    handle = await start(dev_env.client, night.request("marketplace"))
    waiting = await stuck(handle)
    assert waiting.failure is not None
    assert waiting.failure.step == "download_settlement_report"
    assert waiting.failure.error_type == "login_refused"
    assert "refused our login" in waiting.failure.message  # what to fix, in words
    assert waiting.can_skip
    assert await flagged(handle) == (True, "download_settlement_report")
    with pytest.raises(WorkflowUpdateFailedError):  # nothing else is asked for
        await handle.execute_update(DECIDE_UPDATE, decision(OpsAction.COMPENSATE))

    night.bot._password = PASSWORD  # the person fixes the secret, then retries
    answer = await handle.execute_update(DECIDE_UPDATE, decision(OpsAction.RETRY), result_type=str)
    assert answer == "retry accepted"
    result = await handle.result()
    lines = await night.world.results.lines("marketplace", night.world.day)
    assert result.lines == len(lines)
    assert any(ln.key.startswith("marketplace:") and ln.cls == LineClass.MATCHED.value
               for ln in lines)  # fmt: skip
    assert (await handle.query("state", result_type=NightWaiting)).failure is None
    assert (await flagged(handle))[1] is None
    await replay_and_keep(dev_env.client, handle.id, handle.result_run_id or "",
                          "nightly_run_waits_for_the_portal_password")  # fmt: skip


async def test_asking_for_a_night_that_waits_for_a_person_answers_at_once_with_why(
    dev_env: WorkflowEnvironment, night: Night
) -> None:
    """`POST /finance/reconciliations/…` waits up to 110 s for the night's result; a night
    that stops to ask a person answers as soon as it is seen waiting (the API then says
    where and why), not when the wait runs out."""
    night.bot._password = "an-old-password"
    queues = TaskQueues(finance=night.finance_queue, rpa=night.rpa_queue)

    async def connect() -> Client:
        return dev_env.client

    gateway = TemporalGateway(connect, queues, POLICY, EncryptionCodec(bytes(32)))
    started = time.monotonic()
    workflow_id, result = await gateway.reconcile(
        night.request("marketplace"), timedelta(seconds=100)
    )
    took = time.monotonic() - started
    assert result is None
    assert took < 60, f"answered after {took:.0f} s: the wait ran out instead"
    waiting = await gateway.night_waiting(workflow_id)
    assert waiting.failure is not None
    assert waiting.failure.step == "download_settlement_report"
    night.bot._password = PASSWORD
    handle = dev_env.client.get_workflow_handle(workflow_id)
    await handle.execute_update(DECIDE_UPDATE, decision(OpsAction.RETRY), result_type=str)
    _, done = await gateway.reconcile(night.request("marketplace"), timedelta(seconds=100))
    assert done is not None
    assert done.lines > 0


async def a_waiting_night(
    dev_env: WorkflowEnvironment, night: Night, sqlite_url: str, tmp_path: Path
) -> tuple[WorkflowHandle[Any, Any], str, str, Any]:
    """A night stopped at the portal's refused password, a finance and a viewer key, and
    the API app that serves them."""
    night.bot._password = "an-old-password"
    handle = await start(dev_env.client, night.request("marketplace"))
    await stuck(handle)
    keys = ApiKeyRepository(night.world.sessions)
    finance = await keys.create("fernanda", ApiRole.FINANCE)
    viewer = await keys.create("vera", ApiRole.VIEWER)
    app = create_app(make_settings(sqlite_url, tmp_path), temporal_client=dev_env.client)
    return handle, finance, viewer, app


async def finance_page(http: httpx.AsyncClient, shown: str) -> str:
    """The finance page once the waiting night is listed (visibility lags a moment)."""
    for _ in range(100):
        page = await http.get("/console/finance")
        assert page.status_code == 200, page.text
        if shown in page.text:
            return page.text
        await asyncio.sleep(0.1)
    raise AssertionError(f"the finance page never showed {shown!r}")


async def test_the_finance_page_shows_a_waiting_night_and_a_finance_person_retries_it_there(
    dev_env: WorkflowEnvironment, night: Night, sqlite_url: str, tmp_path: Path
) -> None:
    """The console's finance page lists the night that waits, with the step and the
    reason in pt-BR; a viewer only reads it, a finance person retries it in place (once
    the password is fixed) and the night is reconciled; the decision is audited."""
    handle, finance, viewer, app = await a_waiting_night(dev_env, night, sqlite_url, tmp_path)
    day = night.world.day.isoformat()
    action = f'action="/console/finance/marketplace/{day}/decision"'
    async with serve(app) as url:
        async with httpx.AsyncClient(base_url=url, cookies={SESSION_COOKIE: viewer}) as http:
            seen = await finance_page(http, f'id="waiting-marketplace-{day}"')
            no_lines = await http.get(f"/console/finance/marketplace/{day}")
            told = await http.get(no_lines.headers.get("location", "/console/finance"))
        async with httpx.AsyncClient(base_url=url, cookies={SESSION_COOKIE: finance}) as http:
            page = await finance_page(http, action)
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token is not None
            night.bot._password = PASSWORD  # the person fixes the secret, then retries
            form = {"csrf": token.group(1), "action": "retry", "reason": "senha trocada"}
            done = await http.post(f"/console/finance/marketplace/{day}/decision", data=form)
            flashed = await http.get(done.headers["location"])
    assert "Noites esperando uma pessoa" in seen
    assert "Baixando o relatório do portal do vendedor" in seen
    assert "O portal recusou nosso login" in seen
    assert action not in seen  # a viewer reads, does not decide
    assert no_lines.status_code == 303  # the night's own page sends them to why it waits
    assert no_lines.headers["location"] == f"/console/finance#waiting-marketplace-{day}"
    assert "ainda não tem linhas: ela espera uma pessoa" in told.text
    assert 'value="skip"' in page  # a portal download may be skipped
    assert done.status_code == 303
    assert "nova tentativa aceita (fernanda)" in flashed.text
    result = await handle.result()
    assert result.lines > 0
    audit = await AuditLog(night.world.sessions).list(limit=20)
    assert any(e.action == "finance:decide" and e.actor == "fernanda" for e in audit)


async def test_skipping_the_portal_reads_that_channel_from_the_api(
    dev_env: WorkflowEnvironment, night: Night, sqlite_url: str, tmp_path: Path
) -> None:
    """Through the finance API a person reads what the night waits at and skips the
    portal: that channel's lines then come from the API's report (none: all missing)."""
    handle, finance, viewer, app = await a_waiting_night(dev_env, night, sqlite_url, tmp_path)
    path = f"/finance/reconciliations/marketplace/{night.world.day.isoformat()}"
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        waiting = await http.get(f"{path}/waiting", headers={"X-API-Key": viewer})
        assert waiting.status_code == 200
        assert waiting.json()["failure"]["step"] == "download_settlement_report"
        for _ in range(100):  # every waiting night at once (visibility lags a moment)
            listed = await http.get(
                "/finance/reconciliations/waiting", headers={"X-API-Key": viewer}
            )
            if listed.json():
                break
            await asyncio.sleep(0.1)
        assert [(n["kind"], n["day"], n["step"], n["can_skip"]) for n in listed.json()] == [
            ("marketplace", night.world.day.isoformat(), "download_settlement_report", True)
        ]
        body = {"action": "skip", "reason": "portal down for the month"}
        refused = await http.post(f"{path}/decision", json=body, headers={"X-API-Key": viewer})
        assert refused.status_code == 403
        done = await http.post(f"{path}/decision", json=body, headers={"X-API-Key": finance})
        assert done.status_code == 200, done.text
        assert done.json()["answer"] == "skip accepted"
    result = await handle.result()
    lines = await night.world.results.lines("marketplace", night.world.day)
    market = {ln.cls for ln in lines if ln.key.startswith("marketplace:")}
    assert market == {LineClass.MISSING_PAYOUT.value}  # the API's report has none of them
    assert result.alerts > 0
    audit = await AuditLog(night.world.sessions).list(limit=20)
    assert any(e.action == "finance:decide" and e.actor == "fernanda" for e in audit)
