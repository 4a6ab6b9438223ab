"""The seller portal's bot in a real Chromium against the sandbox's seller centre over
HTTP: the report it downloads classifies exactly as the API's does, an expired session
logs in again, a maintenance page is retryable (and leaves its screenshot), bad
credentials are a clear rejection."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.settlement import SettlementActivities
from db.session import create_engine, create_sessionmaker
from domain.errors import ProviderRejected, ProviderUnavailable
from domain.reconciliation import (
    AccrueRequest,
    LineClass,
    ReconcileRequest,
    ReconKind,
    SettlementDownload,
)
from integrations.documents.settlement import SettlementDocuments
from integrations.portals.bot import PortalError
from integrations.portals.browser import BrowserPool, chromium_path
from integrations.portals.seller_portal import SellerPortalBot
from tests.integration.finance_world import FinanceWorld, finance_activities, sell_a_day
from tests.support.sandbox import World, sandbox_world

pytestmark = pytest.mark.browser
USER, PASSWORD = "vendas@loja.example", "seller-bot-secret-password"


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[BrowserPool]:
    try:
        chromium_path()
    except ProviderUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc} (CI=true: browser tests are mandatory)")
        pytest.skip(str(exc))
    async with AsyncExitStack() as stack:
        yield await BrowserPool.launch(stack, 2)


@pytest.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(sqlite_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def world(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[FinanceWorld]:
    async with sandbox_world(seed=11, seller_username=USER, seller_password=PASSWORD) as sandbox:
        yield await sell_a_day(sandbox, sessions, tmp_path / "finance")


def bot(pool: BrowserPool, world: World, password: str = PASSWORD) -> SellerPortalBot:
    return SellerPortalBot(pool, f"{world.url}/seller", USER, password, timeout_s=8)


def download(world: FinanceWorld, portal: SellerPortalBot, docs: Path) -> Any:
    activities = SettlementActivities(portal, SettlementDocuments(docs))
    request = SettlementDownload(day=world.day, channel="marketplace")
    return ActivityEnvironment().run(activities.download_settlement_report, request)


async def configure(world: World, **config: Any) -> None:
    response = await world.http.put(f"{world.url}/seller/admin/config", json=config)
    assert response.status_code == 200, response.text


async def stats(world: World) -> dict[str, Any]:
    return dict((await world.http.get(f"{world.url}/seller/admin/stats")).json())


def release_rows(data: str) -> list[dict[str, str]]:
    return [r for r in csv.DictReader(io.StringIO(data)) if r["RECORD_TYPE"] == "release"]


async def night(world: FinanceWorld, request: ReconcileRequest) -> list[tuple[Any, ...]]:
    env = ActivityEnvironment()
    await env.run(world.activities.accrue_receivables, AccrueRequest(day=world.day))
    await env.run(world.activities.reconcile_marketplace, request)
    lines = await world.results.lines("marketplace", world.day)
    seqs = [ln.seq for ln in lines]
    assert seqs == list(range(1, len(lines) + 1)), "the night's lines are numbered 1..n"
    # A line's number is its place in the night's report file, and a night from two
    # sources lists the portal's lines after the API's: compare what was stored, unnumbered.
    return sorted(
        ((ln.cls, ln.key, ln.description, ln.amount) for ln in lines),
        key=lambda row: tuple(str(part) for part in row),
    )


async def test_the_downloaded_report_classifies_exactly_as_the_api_report(
    pool: BrowserPool, world: FinanceWorld, tmp_path: Path
) -> None:
    docs = tmp_path / "documents"
    report = await download(world, bot(pool, world.sandbox), docs)

    kept = docs / report.path
    assert report.path == f"settlement/marketplace/{world.day}/release-report-{world.day}.csv"
    assert report.lines == len(kept.read_text().splitlines()) - 1
    api = await world.sandbox.payments().release_report(world.day, tmp_path / "api")
    from_api = [r for r in release_rows(api.read_text()) if r["ORDER_ID"]]
    assert release_rows(kept.read_text()) == from_api  # the marketplace's lines, as the API's
    assert from_api, "the day sold on the marketplace"

    by_api = await night(world, ReconcileRequest(kind=ReconKind.MARKETPLACE, day=world.day))
    world.activities = finance_activities(
        world.sandbox, world.sessions, tmp_path / "finance-portal", 5, SettlementDocuments(docs)
    )
    by_portal = await night(
        world,
        ReconcileRequest(kind=ReconKind.MARKETPLACE, day=world.day, portal_reports=[report]),
    )
    assert by_portal == by_api
    marketplace = {ln[0] for ln in by_portal if ln[1].startswith("marketplace:")}
    seeded = {s["kind"] for s in await world.seeded() if s["key"].startswith("marketplace:")}
    assert seeded <= {LineClass(c).value for c in marketplace}
    assert (await stats(world.sandbox))["downloads"] == [world.day.isoformat()]


async def test_an_expired_session_logs_in_again(
    pool: BrowserPool, world: FinanceWorld, tmp_path: Path
) -> None:
    portal = bot(pool, world.sandbox)
    first = await download(world, portal, tmp_path / "documents")
    again = await download(world, portal, tmp_path / "documents")  # the kept session
    assert portal.logins == 1
    # the kept session expires (ended by the portal, not by a clock a loaded machine
    # could overrun mid-task): the portal asks to log in again
    ended = await world.sandbox.http.delete(f"{world.sandbox.url}/seller/admin/sessions")
    assert ended.json() == {"ended": 1}
    second = await download(world, portal, tmp_path / "documents")

    assert portal.logins == 2
    assert second == again == first  # the same night, the same bytes, the same file
    assert (await stats(world.sandbox))["logins"] == 2


async def test_a_maintenance_page_is_retryable_then_the_download_succeeds(
    pool: BrowserPool, world: FinanceWorld, tmp_path: Path
) -> None:
    docs = tmp_path / "documents"
    portal = bot(pool, world.sandbox)
    await configure(world.sandbox, maintenance_rate=1.0)
    with pytest.raises(PortalError) as down:
        await download(world, portal, docs)
    assert down.value.code == "maintenance"
    assert isinstance(down.value, ProviderUnavailable)  # retried by Temporal
    kept = docs / "settlement" / "marketplace" / world.day.isoformat()
    assert (kept / "portal-1-screenshot.png").read_bytes().startswith(b"\x89PNG")
    assert (kept / "portal-1-trace.zip").read_bytes().startswith(b"PK")
    assert not list(kept.glob("*.csv"))

    await configure(world.sandbox, maintenance_rate=0.0)  # back: the retry succeeds
    report = await download(world, portal, docs)
    assert (docs / report.path).is_file()
    assert report.lines > 0


async def test_bad_credentials_are_a_clear_rejection_not_retried(
    pool: BrowserPool, world: FinanceWorld, tmp_path: Path
) -> None:
    wrong = "not-the-password-123"
    with pytest.raises(ProviderRejected) as refused:
        await download(world, bot(pool, world.sandbox, password=wrong), tmp_path / "documents")
    message = str(refused.value)
    assert refused.value.code == "login_refused"
    assert not isinstance(refused.value, ProviderUnavailable)
    assert "RETAGUARDA_SECRETS__SELLER_PORTAL_USERNAME" in message
    assert wrong not in message
    assert USER not in message
    assert (await stats(world.sandbox))["refused_logins"] == 1
