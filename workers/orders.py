"""The `orders` worker's composition root: builds the database engine, one HTTP client,
the provider adapters, the certificate and schema (loaded once), the activities, and runs
the order and stock-sync workflows and the steps of the `orders` queue."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.fiscal_lifecycle import FiscalLifecycleActivities
from activities.incidents import IncidentActivities
from activities.invoicing import InvoicingActivities
from activities.orders import OrderActivities
from activities.payments import OrderDeliverer, PaymentActivities
from activities.shipping import ShippingActivities
from activities.stock import CoalescedRequests, StockActivities, SyncRequester
from activities.warehouse import WarehouseActivities
from config.settings import Settings
from db.audit import AuditLog
from db.emissions import EmissionJournalRepository
from db.fiscal_lifecycle import FiscalLifecycleRepository
from db.incidents import IncidentRepository
from db.invoices import InvoiceRepository
from db.orders import OrderReadModel
from db.receivables import ReceivableRepository
from db.session import create_engine, create_sessionmaker
from db.shipments import ShipmentRepository
from db.stock import StockRepository
from db.warehouse import WarehouseRepository
from domain.ids import order_workflow_id
from domain.orders import Channel
from domain.payments import OrderDelivery
from domain.stock import StockSyncInput, stock_sync_workflow_id
from integrations.carrier.client import CarrierClient
from integrations.carrier.tokens import FileTokenStore
from integrations.channels import ChannelClients
from integrations.documents.nfe import NfeDocuments
from integrations.documents.shipping import ShippingDocuments
from integrations.documents.store import FileDocumentStore
from integrations.fiscal.certificate import load_certificate, make_dev_certificate
from integrations.fiscal.nfe import NfeBuilder
from integrations.fiscal.service import InvoicingService
from integrations.fiscal.signing import NfeSigner
from integrations.marketplace.client import MarketplaceClient
from integrations.payments.client import PaymentsClient
from integrations.sefaz.client import SefazClient
from integrations.store.client import StoreClient
from workers.runtime import run_worker, task_queue
from workflows import steps
from workflows.correction import InvoiceCorrectionWorkflow
from workflows.order import OrderWorkflow
from workflows.payment_notice import PaymentNoticeWorkflow
from workflows.steps import Queue
from workflows.stock_sync import StockSyncWorkflow

WORKFLOWS = (OrderWorkflow, StockSyncWorkflow, InvoiceCorrectionWorkflow, PaymentNoticeWorkflow)
TUNING: dict[str, Any] = {"max_concurrent_activities": 50, "max_concurrent_local_activities": 20}


def certificate_path(settings: Settings) -> Path:
    """The A1 certificate; in local mode a self-signed one is made under var/ once."""
    secrets = settings.secrets
    password = secrets.certificate_password.get_secret_value()
    if secrets.certificate_path:
        return Path(secrets.certificate_path)
    if settings.mode != "local":
        raise RuntimeError("set RETAGUARDA_SECRETS__CERTIFICATE_PATH to the company's A1 file")
    path = settings.var_dir / "certs" / "dev-a1.pfx"
    if not path.exists():
        make_dev_certificate(path, settings.issuer.cnpj, password, name=settings.issuer.name)
    return path


def stock_sync_requester(client: Client, queue: str) -> SyncRequester:
    async def request(sku: str) -> None:
        await client.start_workflow(
            StockSyncWorkflow.run,
            StockSyncInput(sku=sku),
            id=stock_sync_workflow_id(sku),
            task_queue=queue,
            start_signal=steps.STOCK_SYNC_REQUEST_SIGNAL,
        )

    return request


def order_deliverer(client: Client) -> OrderDeliverer:
    """Signal-with-start of an order workflow, as the API's relay does it."""

    async def deliver(delivery: OrderDelivery) -> str:
        event = delivery.event
        workflow_id = order_workflow_id(event.channel, event.external_id)
        try:
            await client.start_workflow(
                OrderWorkflow.run,
                delivery.start,
                id=workflow_id,
                task_queue=delivery.start.queues.orders,
                start_signal=steps.EVENT_SIGNAL,
                start_signal_args=[event],
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        except WorkflowAlreadyStartedError:
            return f"order {workflow_id} has already finished: {event.kind.value} changes nothing"
        return f"{event.kind.value} handed to {workflow_id}"

    return deliver


async def build_holders(settings: Settings, stack: AsyncExitStack, client: Client) -> list[object]:
    """Every activity holder of the `orders` queue, with its dependencies."""
    engine = create_engine(settings.database_url)
    stack.push_async_callback(engine.dispose)
    sessions = create_sessionmaker(engine)
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.providers.timeout_s, connect=5.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )
    stack.push_async_callback(http.aclose)
    secrets = settings.secrets
    store = FileDocumentStore(settings.documents_dir)
    marketplace = MarketplaceClient(
        http,
        settings.provider_url("marketplace"),
        secrets.marketplace_client_id,
        secrets.marketplace_client_secret.get_secret_value(),
        documents=store,
    )
    channels = ChannelClients(
        {
            Channel.STORE: StoreClient(
                http, settings.provider_url("store"), secrets.store_api_token.get_secret_value()
            ),
            Channel.MARKETPLACE: marketplace,
        }
    )
    certificate = load_certificate(
        certificate_path(settings), secrets.certificate_password.get_secret_value()
    )
    sefaz = SefazClient(
        http,
        settings.provider_url("sefaz"),
        settings.issuer.address.state,
        settings.issuer.environment,
    )
    invoicing = InvoicingService(
        NfeBuilder(
            settings.issuer,
            taxes=settings.taxes,
            intermediaries=settings.nfe.intermediaries,
            card_processors=settings.nfe.card_processors,
            technical_contact=settings.nfe.technical_contact,
        ),
        NfeSigner(certificate),
        sefaz,
        journal=EmissionJournalRepository(sessions),
        contingency=sefaz.contingency(
            settings.providers.sefaz_contingency_url or settings.provider_url("sefaz")
        ),
        contingency_after=timedelta(seconds=settings.durations.sefaz_contingency_after_s),
    )
    carrier = CarrierClient(
        http,
        settings.provider_url("carrier"),
        secrets.carrier_api_token.get_secret_value(),
        sender=settings.issuer,
        origin_postal_code=settings.warehouse_postal_code,
        sender_phone=settings.nfe.technical_contact.phone,
        sender_email=settings.nfe.technical_contact.email,
        refresh_token=secrets.carrier_refresh_token.get_secret_value(),
        client_id=secrets.carrier_client_id,
        client_secret=secrets.carrier_client_secret.get_secret_value(),
        tokens=FileTokenStore(settings.carrier_token_path),
    )
    payments = PaymentsClient(
        http, settings.provider_url("payments"), secrets.payments_api_token.get_secret_value()
    )
    orders, audit = OrderReadModel(sessions), AuditLog(sessions)
    documents = NfeDocuments(store)
    stock, warehouse = StockRepository(sessions), WarehouseRepository(sessions)
    shipments, invoices = ShipmentRepository(sessions), InvoiceRepository(sessions)
    receivables, finance = ReceivableRepository(sessions), settings.finance

    async def accrue(order_id: str) -> object:
        return await receivables.accrue_orders([order_id], finance.terms, finance.timezone)

    requester = CoalescedRequests(stock_sync_requester(client, task_queue(settings, Queue.ORDERS)))
    return [
        StockActivities(stock, warehouse, channels, requester),
        IncidentActivities(IncidentRepository(sessions), stock),
        OrderActivities(orders, audit, shipments, channels, accrue),
        InvoicingActivities(invoicing, invoices, orders, documents),
        FiscalLifecycleActivities(
            invoicing, invoices, FiscalLifecycleRepository(sessions), documents
        ),
        WarehouseActivities(warehouse, orders),
        ShippingActivities(
            carrier, shipments, orders, ShippingDocuments(settings.documents_dir), marketplace
        ),
        PaymentActivities(payments, audit, order_deliverer(client), accrue),
    ]


async def run(settings: Settings, client: Client | None = None) -> None:
    """Run the `orders` worker until cancelled."""
    await run_worker(
        settings, Queue.ORDERS, build_holders, workflows=WORKFLOWS, client=client, tuning=TUNING
    )
