"""The API's composition root: `create_app(settings)` builds the engine, repositories,
the Temporal gateway and the intake, and runs the inbox relay for the app's lifetime
(unless `intake.relay` is off: then another API process's relay hands entries over)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from temporalio.client import Client

from api import console, errors
from api.actions import OpsActions
from api.books import Books
from api.codec_cors import CodecCors
from api.console import finance as console_finance
from api.console import fixes as console_fixes
from api.console import kpis as console_kpis
from api.console import quarantine as console_quarantine
from api.console import search as console_search
from api.console import station as console_station
from api.context import ApiContext
from api.corrections import InvoiceCorrections
from api.deps import ContextDep
from api.gateway import TemporalGateway, TemporalUnavailable
from api.intake import Intake
from api.limits import BodySizeLimit
from api.quarantine import QuarantineDesk
from api.relay import InboxRelay, RelayConfig
from api.routes import (
    books,
    catalogue,
    codec,
    documents,
    finance,
    fiscal,
    kpis,
    ops,
    orders,
    quarantine,
    warehouse,
    webhooks,
)
from api.webhook_door import WebhookDoor
from config.settings import Settings
from config.temporal import EncryptionCodec, connect
from db.api_keys import ApiKeyRepository, ApiRole
from db.audit import AuditLog
from db.catalogue import CatalogueRepository
from db.fiscal_lifecycle import FiscalLifecycleRepository
from db.inbox import InboxRepository
from db.inbox_writer import InboxWriter
from db.invoices import InvoiceRepository
from db.month_close import MonthCloseRepository
from db.order_corrections import OrderCorrectionRepository
from db.orders import OrderReadModel
from db.quarantine import QuarantineRepository
from db.receivables import ReceivableRepository
from db.reconciliation import ReconciliationRepository
from db.session import create_engine, create_sessionmaker
from db.shipments import ShipmentRepository
from db.stock import StockRepository
from db.warehouse import WarehouseRepository
from domain.steps import OrderPolicy
from integrations.documents.store import FileDocumentStore

log = logging.getLogger("retaguarda.api")


def order_policy(settings: Settings) -> OrderPolicy:
    d = settings.durations
    return OrderPolicy(
        payment_window_s=d.payment_window_s,
        delivery_window_s=d.delivery_window_s,
        invoice_cancel_window_s=settings.fiscal.cancel_window_s(settings.issuer.address.state),
        late_payment_grace_s=d.late_payment_grace_s,
        order_arrival_sla_s=d.order_arrival_sla_s,
        warehouse_sla_s=d.warehouse_sla_s,
        tracking_poll_s=d.tracking_poll_s,
        from_postal_code=settings.warehouse_postal_code,
    )


def webhook_secrets(settings: Settings) -> dict[str, str]:
    s = settings.secrets
    return {
        "store": s.store_webhook_secret.get_secret_value(),
        "marketplace": s.marketplace_webhook_secret.get_secret_value(),
        "payments": s.payments_webhook_secret.get_secret_value(),
        "carrier": s.carrier_webhook_secret.get_secret_value(),
    }


_FROZEN = False
FULL_PASS_EVERY = 1000  # middle-generation passes per full pass (Python's default: 10)


def freeze_startup_objects() -> None:
    """Everything loaded at start-up (modules, schemas, the app) lives as long as the
    process: keep it out of the collector's full passes, each of which otherwise walks
    ~140,000 objects and stalls every request in flight (docs/BENCHMARKS.md, "Intake").
    Once per process (tests build many apps in one)."""
    global _FROZEN
    if not _FROZEN:
        gc.collect()
        gc.freeze()
        # With the start-up objects frozen, the young generations' survivors soon look
        # like a quarter of the (now small) old one, and full passes came every few
        # seconds under a burst, 20-100 ms each: let them come 100 times less often.
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_PASS_EVERY)
        _FROZEN = True


def codec_origins(settings: Settings) -> list[str]:
    """The embedded Temporal UI's origin (as `retaguarda up` starts it), under both names
    of the loopback, and any configured ones."""
    host = settings.temporal.address.rpartition(":")[0] or "127.0.0.1"
    port = settings.temporal.ui_port
    names = {host, "127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost") else {host}
    return sorted({f"http://{n}:{port}" for n in names} | set(settings.api.codec_origins))


def create_app(
    settings: Settings,
    *,
    temporal_client: Client | None = None,
    relay_interval_s: float | None = None,
) -> FastAPI:
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    codec_key = settings.secrets.codec_key.get_secret_value()

    async def _connect() -> Client:
        if temporal_client is not None:
            return temporal_client
        return await connect(settings.temporal.address, settings.temporal.namespace, codec_key)

    gateway = TemporalGateway(
        _connect,
        settings.temporal.task_queues(),
        order_policy(settings),
        EncryptionCodec(base64.b64decode(codec_key)),
    )
    inbox = InboxRepository(sessionmaker)
    read_model, tasks = OrderReadModel(sessionmaker), WarehouseRepository(sessionmaker)
    quarantined = QuarantineRepository(sessionmaker)
    i = settings.intake
    relay = InboxRelay(
        inbox,
        gateway,
        RelayConfig(
            batch=i.relay_batch,
            concurrency=i.relay_concurrency,
            lease_s=i.relay_lease_s,
            idle_s=relay_interval_s if relay_interval_s is not None else i.relay_idle_s,
            yield_above_per_s=i.relay_yield_above_per_s,
        ),
        shipments=ShipmentRepository(sessionmaker),
    )
    writer = InboxWriter(sessionmaker, inbox)
    intake = Intake(
        writer,
        quarantined,
        webhook_secrets(settings),
        settings.durations.webhook_tolerance_s,
        on_stored=relay.notify,
    )
    audit = AuditLog(sessionmaker)
    invoices, lifecycle = InvoiceRepository(sessionmaker), FiscalLifecycleRepository(sessionmaker)
    ctx = ApiContext(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        gateway=gateway,
        intake=intake,
        inbox=inbox,
        quarantine=quarantined,
        relay=relay,
        desk=QuarantineDesk(intake, quarantined, audit),
        orders=read_model,
        warehouse=tasks,
        catalogue=CatalogueRepository(sessionmaker),
        stock=StockRepository(sessionmaker),
        audit=audit,
        api_keys=ApiKeyRepository(sessionmaker),
        actions=OpsActions(
            gateway, read_model, tasks, audit, OrderCorrectionRepository(sessionmaker)
        ),
        corrections=InvoiceCorrections(gateway, invoices, lifecycle, audit),
        invoices=invoices,
        lifecycle=lifecycle,
        documents=FileDocumentStore(settings.documents_dir),
        receivables=ReceivableRepository(sessionmaker),
        reconciliations=ReconciliationRepository(sessionmaker),
        month_close=MonthCloseRepository(sessionmaker),
        books=Books.build(sessionmaker, settings.finance),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.mode == "local":
            await ctx.api_keys.ensure(
                settings.secrets.bootstrap_admin_key.get_secret_value(), "admin", ApiRole.ADMIN
            )
        relaying = asyncio.create_task(relay.run()) if settings.intake.relay else None
        freeze_startup_objects()
        try:
            yield
        finally:
            if relaying is not None:
                relaying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relaying
            await writer.close()
            await engine.dispose()

    app = FastAPI(
        title="Retaguarda",
        version="0.1.0",
        description="Back-office automation for e-commerce sellers: orders, stock, NF-e, "
        "warehouse, shipping, ops.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    app.add_middleware(WebhookDoor)  # inside the size limit, before routing
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(CodecCors, origins=codec_origins(settings))
    routers = (
        webhooks, orders, fiscal, documents, warehouse, ops, quarantine, catalogue, codec, finance,
        books,
        kpis,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    app.include_router(console.router)
    app.include_router(console_quarantine.router)
    app.include_router(console_finance.router)
    app.include_router(console_station.router)
    app.include_router(console_kpis.router)
    app.include_router(console_search.router)
    app.include_router(console_fixes.router)

    @app.get("/health", tags=["health"])
    async def health(ctx: ContextDep) -> dict[str, Any]:
        """Liveness plus what ops want at a glance: Temporal reachable, inbox backlog."""
        try:
            await ctx.gateway.client()
            temporal = "ok"
        except TemporalUnavailable as exc:
            temporal = exc.message
        return {
            "status": "ok",
            "temporal": temporal,
            "inbox": await ctx.inbox.counts(),
            "payment_window_s": ctx.settings.durations.payment_window_s,
            "invoice_cancel_window_s": ctx.settings.fiscal.cancel_window_s(
                ctx.settings.issuer.address.state
            ),
        }

    return app
