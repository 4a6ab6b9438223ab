"""The `rpa` worker's composition root: one Chromium for the process (a browser pool of
`RETAGUARDA_RPA__POOL_SIZE` contexts), the carrier portal's and the seller portal's bots
and the printer that use it, and the steps of the `rpa` queue, run `pool size` at a
time (every bot shares the pool: concurrency is the pool size, whatever the task)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from temporalio.client import Client

from activities.portal import PortalActivities
from activities.settlement import SettlementActivities
from config.settings import Settings
from db.orders import OrderReadModel
from db.session import create_engine, create_sessionmaker
from db.shipments import ShipmentRepository
from integrations.documents.printing import ShippingPrinter
from integrations.documents.settlement import SettlementDocuments
from integrations.documents.shipping import ShippingDocuments
from integrations.portals.browser import BrowserPool
from integrations.portals.carrier_portal import CarrierPortalBot
from integrations.portals.seller_portal import SellerPortalBot
from workers.runtime import run_worker
from workflows.steps import Queue


async def build_holders(settings: Settings, stack: AsyncExitStack, client: Client) -> list[object]:
    """Every activity holder of the `rpa` queue, sharing one browser pool."""
    engine = create_engine(settings.database_url)
    stack.push_async_callback(engine.dispose)
    sessions = create_sessionmaker(engine)
    pool = await BrowserPool.launch(stack, settings.rpa.pool_size, settings.rpa.chromium_path)
    secrets = settings.secrets
    bot = CarrierPortalBot(
        pool,
        settings.provider_url("portal"),
        secrets.carrier_portal_username,
        secrets.carrier_portal_password.get_secret_value(),
        origin_postal_code=settings.warehouse_postal_code,
        timeout_s=settings.rpa.page_timeout_s,
        trace=settings.rpa.trace,
    )
    seller = SellerPortalBot(
        pool,
        settings.provider_url("seller"),
        secrets.seller_portal_username,
        secrets.seller_portal_password.get_secret_value(),
        timeout_s=settings.rpa.page_timeout_s,
        trace=settings.rpa.trace,
    )
    return [
        PortalActivities(
            bot,
            ShipmentRepository(sessions),
            OrderReadModel(sessions),
            ShippingDocuments(settings.documents_dir),
            ShippingPrinter(pool, settings.issuer),
        ),
        SettlementActivities(seller, SettlementDocuments(settings.documents_dir)),
    ]


async def run(settings: Settings, client: Client | None = None) -> None:
    """Run the `rpa` worker until cancelled."""
    tuning = {"max_concurrent_activities": settings.rpa.pool_size}
    await run_worker(settings, Queue.RPA, build_holders, client=client, tuning=tuning)
