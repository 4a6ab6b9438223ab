"""What the API's routes share, built once by `create_app` (the API's composition root)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.actions import OpsActions
from api.books import Books
from api.corrections import InvoiceCorrections
from api.gateway import TemporalGateway
from api.intake import Intake
from api.quarantine import QuarantineDesk
from api.relay import InboxRelay
from config.settings import Settings
from db.api_keys import ApiKeyRepository
from db.audit import AuditLog
from db.catalogue import CatalogueRepository
from db.fiscal_lifecycle import FiscalLifecycleRepository
from db.inbox import InboxRepository
from db.invoices import InvoiceRepository
from db.month_close import MonthCloseRepository
from db.orders import OrderReadModel
from db.quarantine import QuarantineRepository
from db.receivables import ReceivableRepository
from db.reconciliation import ReconciliationRepository
from db.stock import StockRepository
from db.warehouse import WarehouseRepository
from integrations.documents.store import DocumentStore


@dataclass
class ApiContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    gateway: TemporalGateway
    intake: Intake
    inbox: InboxRepository
    quarantine: QuarantineRepository
    relay: InboxRelay
    desk: QuarantineDesk
    orders: OrderReadModel
    warehouse: WarehouseRepository
    catalogue: CatalogueRepository
    stock: StockRepository
    audit: AuditLog
    api_keys: ApiKeyRepository
    actions: OpsActions
    corrections: InvoiceCorrections
    invoices: InvoiceRepository
    lifecycle: FiscalLifecycleRepository
    documents: DocumentStore
    receivables: ReceivableRepository
    reconciliations: ReconciliationRepository
    month_close: MonthCloseRepository
    books: Books
