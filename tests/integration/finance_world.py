"""A day of sales on both sides: paid orders in the sandbox's gateway and marketplace, the
same orders in our read model (and the refunds in our audit log), and the finance
activities wired to both, for the reconciliation tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.finance import FinanceActivities, FinanceConfig
from db.audit import AuditLog
from db.orders import OrderReadModel
from db.receivables import ReceivableRepository
from db.reconciliation import ReconciliationRepository
from domain.ids import order_workflow_id
from domain.orders import OrderStatus
from domain.payments import RefundRequest
from domain.receivables import default_terms
from integrations.documents.settlement import SettlementDocuments
from tests.support.sandbox import World

BUYER = {"first_name": "Ana", "last_name": "Souza", "cpf": "52998224725"}
SHIP = {
    "street_name": "Rua Augusta", "street_number": "100", "neighborhood": "Consolacao",
    "city": "Sao Paulo", "state": "SP", "zip_code": "01304001", "cost": "15.00",
}  # fmt: skip


@dataclass
class FinanceWorld:
    sandbox: World
    sessions: async_sessionmaker[AsyncSession]
    activities: FinanceActivities
    results: ReconciliationRepository
    receivables: ReceivableRepository
    day: date
    keys: list[str]

    async def seeded(self) -> list[dict[str, str]]:
        response = await self.sandbox.http.get(
            f"{self.sandbox.url}/payments/admin/release_report/{self.day.isoformat()}/seeded"
        )
        response.raise_for_status()
        return list(response.json())


def finance_activities(
    world: World,
    sessions: async_sessionmaker[AsyncSession],
    work_dir: Path,
    chunk_rows: int,
    settlements: SettlementDocuments | None = None,
) -> FinanceActivities:
    return FinanceActivities(
        ReceivableRepository(sessions),
        ReconciliationRepository(sessions),
        world.payments(),
        FinanceConfig(
            terms=default_terms(), timezone="UTC", work_dir=work_dir, chunk_rows=chunk_rows
        ),
        world.bank(),
        settlements=settlements,
    )


async def sell_a_day(
    world: World,
    sessions: async_sessionmaker[AsyncSession],
    work_dir: Path,
    *,
    store: int = 8,
    marketplace: int = 4,
    chunk_rows: int = 5,
) -> FinanceWorld:
    """`store` paid store orders (one of them then refunded) and `marketplace` paid
    marketplace orders (one then cancelled), on both sides."""
    orders = OrderReadModel(sessions)
    audit = AuditLog(sessions)
    now = datetime.now(UTC)
    keys = []
    for n in range(store):
        external = f"S{n:03d}"
        amount = Decimal("49.90") + n * Decimal("17.35")
        payment: dict[str, Any] = await world.admin(
            "/payments/admin/payments",
            {"external_reference": f"store:{external}", "amount": str(amount), "approve": False},
        )
        await world.admin(f"/payments/admin/payments/{payment['id']}/approve")
        order_id = order_workflow_id("store", external)
        await orders.upsert(
            order_id, "store", external, status=OrderStatus.PAID, at=now, total=amount
        )
        if n == store - 1:  # the buyer gave up: refunded in full, order cancelled
            refund = await world.payments().refund(
                RefundRequest(
                    order_id=order_id, idempotency_key=f"{order_id}:refund",
                    payment_id=payment["id"], amount=amount,
                )
            )  # fmt: skip
            await audit.record("workflow", "refund", order_id, refund.model_dump(mode="json"))
            await orders.upsert(order_id, "store", external, status=OrderStatus.CANCELLED, at=now)
        keys.append(f"store:{external}")
    for n in range(marketplace):
        external = f"{7_000_000 + n}"
        price = Decimal("30.00") + n * Decimal("40.00")
        body = {
            "id": external, "buyer": BUYER, "shipping": SHIP,
            "items": [{"sku": f"SKU-{n}", "quantity": 1, "unit_price": str(price)}],
        }  # fmt: skip
        await world.admin("/marketplace/admin/orders", body)
        order_id = order_workflow_id("marketplace", external)
        total = price + Decimal("15.00")
        await orders.upsert(
            order_id, "marketplace", external, status=OrderStatus.PAID, at=now, total=total
        )
        if n == marketplace - 1:
            await world.admin(f"/marketplace/admin/orders/{external}/cancel")
            await orders.upsert(
                order_id, "marketplace", external, status=OrderStatus.CANCELLED, at=now
            )
        keys.append(f"marketplace:{external}")
    activities = finance_activities(world, sessions, work_dir, chunk_rows)
    return FinanceWorld(
        world, sessions, activities, ReconciliationRepository(sessions),
        ReceivableRepository(sessions), now.date(), keys,
    )  # fmt: skip
