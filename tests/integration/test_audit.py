"""`retaguarda audit`: a consistent world passes; each kind of broken effect is named."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from config.settings import DatabaseSettings, Settings
from db.inbox import InboxRepository
from db.invoices import InvoiceRepository
from db.orders import OrderReadModel
from db.session import create_engine, create_sessionmaker
from db.shipments import ShipmentRepository
from db.stock import StockRepository
from domain.fiscal import Invoice, InvoiceStatus, access_key
from domain.freight import Booking, TrackingStatus
from domain.orders import OrderStatus
from domain.stock import ReserveRequest
from integrations.documents.shipping import LABEL, ShippingDocuments
from retaguarda.audit import run_audit
from tests.support.databases import seed_stock

pytestmark = pytest.mark.integration

T0 = datetime(2024, 11, 29, 12, 0, tzinfo=UTC)
CNPJ = "11222333000181"
DELIVERED = "order:store:1001"  # paid, invoiced, shipped and delivered
SHIPPED = "order:marketplace:2001"  # invoiced and shipped
CANCELLED = "order:store:1002"  # paid, invoiced, then cancelled and compensated
IN_FLIGHT = "order:store:1003"  # paid, waiting for its invoice


def key_for(number: int) -> str:
    return access_key(uf="SP", issued_at=T0, cnpj=CNPJ, series=1, number=number, cnf="12345678")


@dataclass
class World:
    settings: Settings
    url: str
    ledger: list[dict[str, Any]] = field(default_factory=list)

    def record(self, provider: str, kind: str, **data: Any) -> None:
        self.ledger.append({"at": T0.isoformat(), "provider": provider, "kind": kind, **data})

    def drop(self, kind: str, **match: Any) -> None:
        self.ledger = [
            e
            for e in self.ledger
            if not (e["kind"] == kind and all(e.get(k) == v for k, v in match.items()))
        ]

    async def audit(self) -> dict[str, Any]:
        path = self.settings.var_dir / "sandbox-ledger.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in self.ledger), encoding="utf-8")
        return await run_audit(self.settings)

    async def sql(self, statement: str) -> None:
        engine = create_engine(self.url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()


async def build_world(url: str, var_dir: Path, *, release_cancelled: bool = True) -> World:
    world = World(Settings(var_dir=var_dir, db=DatabaseSettings(url=url)), url)
    engine = create_engine(url)
    try:
        sm = create_sessionmaker(engine)
        await seed_stock(sm, {"CAM-P": 10, "CAM-M": 5})
        stock, orders, inbox = StockRepository(sm), OrderReadModel(sm), InboxRepository(sm)
        invoices, shipments = InvoiceRepository(sm), ShipmentRepository(sm)

        async def place(order_id: str, quantities: dict[str, int]) -> None:
            _, channel, external_id = order_id.split(":", 2)
            world.record(channel, "order_created", order_id=external_id, total="59.90")
            if channel == "store":
                world.record(
                    "payments",
                    "payment_approved",
                    payment_id=f"pay-{external_id}",
                    external_reference=f"store:{external_id}",
                    amount="59.90",
                )
            kind = "order_placed" if channel == "store" else "order_notified"
            entry_id, _ = await inbox.add(channel, f"evt-{external_id}", order_id, kind, {}, at=T0)
            await inbox.mark_started(entry_id, at=T0)
            await orders.upsert(order_id, channel, external_id, at=T0)
            reservation = await stock.reserve(
                ReserveRequest(order_id=order_id, idempotency_key=order_id, quantities=quantities)
            )
            assert reservation.reserved

        async def invoice(order_id: str) -> str:
            number = await invoices.allocate_number(order_id, 1)
            key = key_for(number)
            await invoices.record_authorised(
                Invoice(
                    order_id=order_id,
                    access_key=key,
                    number=number,
                    series=1,
                    protocol=f"13524{number:010d}",
                    authorised_at=T0,
                ),
                "<nfeProc/>",
            )
            world.record(
                "sefaz",
                "invoice_authorised",
                access_key=key,
                protocol=f"13524{number:010d}",
                number=number,
                series=1,
                cnpj=CNPJ,
                total="59.90",
            )
            return key

        async def ship(order_id: str, status: OrderStatus) -> None:
            shipment_id = f"shp-{order_id.rsplit(':', 1)[1]}"
            label = await ShippingDocuments(world.settings.documents_dir).put(
                order_id, LABEL, b"%PDF-1.4 label"
            )
            await shipments.record_booking(
                Booking(
                    order_id=order_id,
                    shipment_id=shipment_id,
                    tracking_code=f"ME{order_id[-4:]}BR",
                    carrier="Correios",
                    service="SEDEX",
                    price=Decimal("23.50"),
                    label_document=label,
                ),
                T0,
            )
            world.record("carrier", "label_purchased", shipment_id=shipment_id, tag=order_id)
            await stock.ship(order_id)
            if status is OrderStatus.DELIVERED:
                later = T0 + timedelta(days=2)
                await shipments.record_tracking(order_id, TrackingStatus.DELIVERED, later)
            await orders.set_status(order_id, status, T0 + timedelta(days=2))

        await place(DELIVERED, {"CAM-P": 2})
        await invoice(DELIVERED)
        await ship(DELIVERED, OrderStatus.DELIVERED)

        await place(SHIPPED, {"CAM-M": 1})
        await invoice(SHIPPED)
        await ship(SHIPPED, OrderStatus.SHIPPED)

        await place(CANCELLED, {"CAM-P": 1, "CAM-M": 1})
        cancelled_key = await invoice(CANCELLED)
        if release_cancelled:
            await stock.release(CANCELLED)
        await invoices.record_cancelled(CANCELLED, InvoiceStatus.CANCELLED, T0)
        world.record("sefaz", "invoice_cancelled", access_key=cancelled_key, protocol="1")
        world.record(
            "payments",
            "refund",
            payment_id="pay-1002",
            refund_id="ref-1",
            amount="59.90",
            external_reference="store:1002",
        )
        world.record("store", "channel_notified_cancelled", order_id="1002", reason="desistiu")
        await orders.set_status(CANCELLED, OrderStatus.CANCELLED, T0 + timedelta(hours=1))

        await place(IN_FLIGHT, {"CAM-P": 1})
        await orders.set_status(IN_FLIGHT, OrderStatus.PAID, T0)
        world.record("marketplace", "some_future_kind", detail="tolerated")
    finally:
        await engine.dispose()
    return world


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path) -> World:
    return await build_world(sqlite_url, tmp_path)


def failures(report: dict[str, Any]) -> dict[str, list[str]]:
    return {c["name"]: c["violations"] for c in report["checks"] if not c["ok"]}


def only_violation(report: dict[str, Any], check: str) -> str:
    """The report fails on exactly one violation, in ``check``; returns it."""
    failed = failures(report)
    assert list(failed) == [check], failed
    assert len(failed[check]) == 1, failed[check]
    assert report["ok"] is False
    return failed[check][0]


async def test_a_consistent_world_passes_the_audit(world: World) -> None:
    report = await world.audit()

    assert failures(report) == {}
    assert report["ok"] is True
    names = [c["name"] for c in report["checks"]]
    assert names == [
        "no order lost",
        "one authorised NF-e per invoiced order",
        "one booking per shipped order",
        "every shipped order's label stored",
        "stock conserved",
        "no oversell",
        "every cancelled order fully compensated",
        "shipped orders consumed their stock",
        "no reservation held by a finished order",
        "every warehouse task agrees with its workflow",
        "no NF-e number left dangling",
        "no unvoided gap in NF-e numbering",
        "every return NF-e undoes one sale of its order",
    ]
    assert "2 not yet terminal" in report["checks"][0]["detail"]
    assert report["counts"]["not_terminal"] == 2  # shipped, paid
    assert report["counts"]["orders"] == 4
    assert report["counts"]["ledger_kinds"]["some_future_kind"] == 1


async def test_duplicate_authorisation_in_the_ledger_fails_the_audit(world: World) -> None:
    first = next(e for e in world.ledger if e["kind"] == "invoice_authorised")
    world.ledger.append({**first, "protocol": "135249999999999"})

    violation = only_violation(await world.audit(), "one authorised NF-e per invoiced order")

    assert first["access_key"] in violation
    assert "authorised 2 times" in violation


async def test_two_labels_for_one_order_fail_the_audit(world: World) -> None:
    world.record("carrier", "label_purchased", shipment_id="shp-1001-again", tag=DELIVERED)

    violation = only_violation(await world.audit(), "one booking per shipped order")

    assert violation.startswith(DELIVERED)
    assert "2 bookings" in violation
    assert "shp-1001-again" in violation


async def test_a_second_booking_on_the_portal_fails_the_audit(world: World) -> None:
    world.record("portal", "pickup_booked", pickup="COL-000009", tag=DELIVERED)

    violation = only_violation(await world.audit(), "one booking per shipped order")

    assert "2 bookings" in violation
    assert "portal COL-000009" in violation


async def test_a_label_bought_for_a_marketplace_logistics_order_fails_the_audit(
    world: World,
) -> None:
    world.record("marketplace", "label_printed", shipment_id="40000000001", tag=DELIVERED)

    report = await world.audit()

    [violation] = [v for v in failures(report)["one booking per shipped order"]
                   if "marketplace's own logistics" in v]  # fmt: skip
    assert violation.startswith(DELIVERED)


async def test_a_label_missing_from_the_store_fails_the_audit(world: World) -> None:
    found = ShippingDocuments(world.settings.documents_dir).root
    for label in found.glob("*/label.pdf"):
        label.unlink()
        break

    violation = only_violation(await world.audit(), "every shipped order's label stored")

    assert "is not in the store" in violation


async def test_a_cancelled_order_still_holding_stock_fails_the_audit(
    sqlite_url: str, tmp_path: Path
) -> None:
    world = await build_world(sqlite_url, tmp_path, release_cancelled=False)

    failed = failures(await world.audit())
    assert set(failed) == {
        "every cancelled order fully compensated", "no reservation held by a finished order"
    }  # fmt: skip
    [violation] = failed["every cancelled order fully compensated"]
    assert violation.startswith(CANCELLED)
    assert "stock still reserved (CAM-M×1, CAM-P×1)" in violation
    [held] = failed["no reservation held by a finished order"]
    assert held == f"{CANCELLED} is cancelled but still holds CAM-M×1, CAM-P×1"


async def test_a_cancelled_paid_order_with_no_refund_fails_the_audit(world: World) -> None:
    world.drop("refund", payment_id="pay-1002")

    violation = only_violation(await world.audit(), "every cancelled order fully compensated")

    assert violation.startswith(CANCELLED)
    assert "store payment pay-1002 of 59.90 approved, 0.00 refunded" in violation


async def test_an_order_the_channel_created_but_the_database_lacks_fails_the_audit(
    world: World,
) -> None:
    world.record("store", "order_created", order_id="1004", total="10.00")

    violation = only_violation(await world.audit(), "no order lost")

    assert violation.startswith("order:store:1004: not in the orders table")
    assert "never received" in violation


async def test_stock_changed_behind_the_ledger_fails_conservation(world: World) -> None:
    await world.sql("UPDATE stock SET on_hand = on_hand + 3 WHERE sku = 'CAM-P'")

    violation = only_violation(await world.audit(), "stock conserved")

    assert violation == "CAM-P: on_hand is 11 but its movements sum to 8"


async def test_a_missing_ledger_is_reported_not_a_crash(world: World) -> None:
    report = await run_audit(world.settings)  # the ledger was never written

    failed = failures(report)
    assert report["ok"] is False
    (violation,) = failed.pop("no order lost")
    assert violation.startswith("no sandbox ledger at ")
    assert "run the stack/demo first" in violation
    assert failed == {  # what needs the ledger is skipped, not reported as broken
        "one authorised NF-e per invoiced order": [],
        "one booking per shipped order": [],
        "every cancelled order fully compensated": [],
        "no unvoided gap in NF-e numbering": [],
        "every return NF-e undoes one sale of its order": [],
    }


@pytest.mark.postgres
async def test_the_audit_reads_postgresql_the_same_way(pg_clean_url: str, tmp_path: Path) -> None:
    world = await build_world(pg_clean_url, tmp_path)
    assert (await world.audit())["ok"] is True

    await world.sql("UPDATE stock SET on_hand = on_hand + 3 WHERE sku = 'CAM-P'")

    violation = only_violation(await world.audit(), "stock conserved")
    assert violation == "CAM-P: on_hand is 11 but its movements sum to 8"


async def test_a_number_skipped_without_voiding_is_a_gap_until_sefaz_voids_it(
    world: World,
) -> None:
    gap = "order:store:1004"
    await world.sql(
        "INSERT INTO invoice_numbers (order_id, series, number, allocated_at, voided_at) "
        f"VALUES ('{gap}', 1, 4, '2024-11-29 12:00:00', '2024-11-29 13:00:00')"
    )
    world.record("sefaz", "invoice_authorised", access_key=key_for(5), protocol="135240000000005",
                 number=5, series=1, cnpj=CNPJ, total="1.00")  # fmt: skip

    report = await world.audit()
    gaps = failures(report)["no unvoided gap in NF-e numbering"]

    assert any("NF-e 1/4" in v and "a gap" in v and gap in v for v in gaps), gaps
    assert any("NF-e 1/4 was given up by" in v and "never voided at SEFAZ" in v for v in gaps)

    world.record("sefaz", "numbers_voided", cnpj=CNPJ, series=1, first=4, last=4, protocol="1")
    await world.sql("UPDATE invoice_numbers SET sefaz_voided_at = voided_at WHERE number = 4")
    report = await world.audit()

    assert "no unvoided gap in NF-e numbering" not in failures(report)


async def test_a_cancelled_order_past_the_window_is_compensated_by_its_return_nfe(
    world: World,
) -> None:
    cancelled_key = next(e["access_key"] for e in world.ledger if e["kind"] == "invoice_cancelled")
    world.drop("invoice_cancelled")
    await world.sql(
        f"UPDATE invoices SET status = 'needs_return_invoice' WHERE order_id = '{CANCELLED}'"
    )

    flagged = only_violation(await world.audit(), "every cancelled order fully compensated")
    assert "never emitted" in flagged

    return_key = key_for(4)
    world.record("sefaz", "invoice_authorised", access_key=return_key, protocol="135240000000004",
                 number=4, series=1, cnpj=CNPJ, total="59.90", purpose="return",
                 refers_to=cancelled_key)  # fmt: skip
    orphan = only_violation(await world.audit(), "every return NF-e undoes one sale of its order")
    assert "not the one recorded in the database" in orphan

    await world.sql(
        "INSERT INTO return_invoices (order_id, refers_to, series, number, access_key, protocol, "
        f"authorised_at) VALUES ('{CANCELLED}', '{cancelled_key}', 1, 4, '{return_key}', "
        "'135240000000004', '2024-11-30 12:00:00')"
    )
    await world.sql(f"UPDATE invoices SET status = 'returned' WHERE order_id = '{CANCELLED}'")
    await world.sql(
        "INSERT INTO invoice_numbers (order_id, series, number, allocated_at) "
        f"VALUES ('{CANCELLED}/return', 1, 4, '2024-11-30 12:00:00')"
    )

    report = await world.audit()

    assert failures(report) == {}
