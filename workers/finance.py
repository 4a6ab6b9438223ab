"""The `finance` worker's composition root: the database, the payment provider's API, the
reconciliation workflow and the steps of the `finance` queue (receivables, nightly
reconciliations: heavy data), away from the order flow's worker. It creates the nightly
schedules when it starts (config/schedules.py)."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
from temporalio.client import Client

from activities.finance import FinanceActivities, FinanceConfig
from config.schedules import ensure_schedules
from config.settings import Settings
from db.margins import MarginRepository
from db.receivables import ReceivableRepository
from db.reconciliation import ReconciliationRepository
from db.session import create_engine, create_sessionmaker
from integrations.bank.client import BankClient
from integrations.documents.settlement import SettlementDocuments
from integrations.fiscal.nfe_read import item_taxes
from integrations.payments.client import PaymentsClient
from workers.runtime import run_worker
from workflows.reconciliation import ReconciliationWorkflow
from workflows.steps import Queue

WORKFLOWS = (ReconciliationWorkflow,)


def finance_config(settings: Settings) -> FinanceConfig:
    f = settings.finance
    return FinanceConfig(
        terms=f.terms, timezone=f.timezone, work_dir=settings.finance_dir,
        window_days=f.window_days,
    )  # fmt: skip


async def build_holders(settings: Settings, stack: AsyncExitStack, client: Client) -> list[object]:
    """Every activity holder of the `finance` queue."""
    engine = create_engine(settings.database_url)
    stack.push_async_callback(engine.dispose)
    sessions = create_sessionmaker(engine)
    http = httpx.AsyncClient(timeout=httpx.Timeout(max(settings.providers.timeout_s, 60.0)))
    stack.push_async_callback(http.aclose)
    payments = PaymentsClient(
        http,
        settings.provider_url("payments"),
        settings.secrets.payments_api_token.get_secret_value(),
    )
    bank = BankClient(
        http, settings.provider_url("bank"), settings.secrets.bank_api_token.get_secret_value()
    )
    margins = MarginRepository(sessions)

    async def refresh_margins() -> int:
        return await margins.refresh(item_taxes, settings.finance.timezone)

    return [
        FinanceActivities(
            ReceivableRepository(sessions),
            ReconciliationRepository(sessions),
            payments,
            finance_config(settings),
            bank,
            refresh_margins,
            SettlementDocuments(settings.documents_dir),
        )
    ]


async def run(settings: Settings, client: Client | None = None) -> None:
    """Run the `finance` worker until cancelled."""

    async def started(client: Client) -> None:
        await ensure_schedules(client, settings)

    await run_worker(
        settings, Queue.FINANCE, build_holders, workflows=WORKFLOWS, client=client,
        on_connect=started,
    )  # fmt: skip
