"""The inbox relay against a real Temporal dev server, on SQLite and PostgreSQL: relays
sharing one database never deliver an entry twice, and a dead relay's claims are picked
up again once their lease ends."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import order_policy
from api.gateway import TemporalGateway
from api.relay import InboxRelay, RelayConfig
from config.settings import Settings
from config.temporal import DEV_CODEC_KEY, EncryptionCodec
from db.inbox import InboxRepository
from db.shipments import ShipmentRepository
from domain.events import EventKind, OrderEvent
from domain.freight import Booking, TrackingEvent, TrackingStatus
from domain.ids import order_workflow_id
from domain.orders import Channel
from domain.steps import TaskQueues

pytestmark = pytest.mark.integration


class CountingGateway(TemporalGateway):
    """The real gateway, counting what it hands over (to see a second delivery)."""

    def __init__(self, env: WorkflowEnvironment, queue: str, delivered: Counter[str]) -> None:
        async def connect():
            return env.client

        codec = EncryptionCodec(base64.b64decode(DEV_CODEC_KEY))
        super().__init__(connect, TaskQueues(orders=queue), order_policy(Settings()), codec)
        self.delivered = delivered

    async def deliver(self, event: OrderEvent) -> str:
        self.delivered[event.event_id] += 1
        await asyncio.sleep(0.01)  # time for another relay to try the same entry
        return await super().deliver(event)


def notified(external_id: str) -> OrderEvent:
    """A marketplace notification: starts the order workflow with a small payload."""
    return OrderEvent(
        event_id=f"marketplace:n-{external_id}",
        kind=EventKind.ORDER_NOTIFIED,
        channel=Channel.MARKETPLACE,
        external_id=external_id,
        received_at=datetime.now(UTC),
        resource=f"/orders/{external_id}",
    )


async def store(inbox: InboxRepository, event: OrderEvent) -> int:
    entry_id, _ = await inbox.add(
        "marketplace",
        event.event_id,
        order_workflow_id(event.channel, event.external_id),
        event.kind.value,
        event.model_dump(mode="json"),
    )
    return entry_id


async def runs_of(env: WorkflowEnvironment, prefix: str, expected: int) -> Counter[str]:
    """Runs per workflow id under `prefix`, once `expected` ids are visible (visibility
    lags the history by a moment) or 10 s have passed; then terminated."""
    found: Counter[str] = Counter()
    for _ in range(100):
        found = Counter()
        async for wf in env.client.list_workflows(f"WorkflowId STARTS_WITH '{prefix}'"):
            found[wf.id] += 1
        if len(found) >= expected:
            break
        await asyncio.sleep(0.1)
    for workflow_id in found:
        await env.client.get_workflow_handle(workflow_id).terminate()
    return found


async def test_two_relays_over_one_database_never_deliver_an_entry_twice(
    sessionmaker, dev_env: WorkflowEnvironment
) -> None:
    inbox = InboxRepository(sessionmaker)
    tag = secrets.token_hex(3)
    events = [notified(f"R{tag}-{n}") for n in range(60)]
    for event in events:
        await store(inbox, event)
    delivered: Counter[str] = Counter()
    queue = f"relay-{tag}"
    relays = [
        InboxRelay(inbox, CountingGateway(dev_env, queue, delivered), RelayConfig(batch=7))
        for _ in range(2)
    ]

    async def drain(relay: InboxRelay) -> int:
        started = 0
        while (round_ := await relay.relay_once()).claimed:
            started += round_.started
        return started

    started = await asyncio.gather(*(drain(r) for r in relays))

    assert sum(started) == 60
    assert all(n > 0 for n in started), "both relays took part"
    assert set(delivered.values()) == {1}
    assert len(delivered) == 60
    assert (await inbox.counts())["started"] == 60
    runs = await runs_of(dev_env, f"order:marketplace:R{tag}-", 60)
    assert len(runs) == 60
    assert set(runs.values()) == {1}


async def test_a_dead_relays_claim_is_handed_over_by_another_once_its_lease_ends(
    sessionmaker, dev_env: WorkflowEnvironment
) -> None:
    inbox = InboxRepository(sessionmaker)
    tag = secrets.token_hex(3)
    entry_id = await store(inbox, notified(f"D{tag}"))
    assert [e.id for e in await inbox.claim("relay-that-dies", lease_s=0.5)] == [entry_id]
    relay = InboxRelay(inbox, CountingGateway(dev_env, f"relay-{tag}", Counter()))

    assert (await relay.relay_once()).claimed == 0  # still leased
    await asyncio.sleep(0.6)
    again = await relay.relay_once()

    assert (again.claimed, again.started) == (1, 1)
    entry = await inbox.get(entry_id)
    assert entry is not None
    assert (entry.status, entry.claimed_by) == ("started", None)
    assert await runs_of(dev_env, f"order:marketplace:D{tag}", 1) == {
        f"order:marketplace:D{tag}": 1
    }


def tracking(external_id: str, status: TrackingStatus, at: datetime) -> OrderEvent:
    return OrderEvent(
        event_id=f"carrier:{external_id}-{status.value}",
        kind=EventKind.TRACKING,
        channel=Channel.STORE,
        external_id=external_id,
        received_at=at,
        tracking=TrackingEvent(
            event_id=f"t-{external_id}-{status.value}", shipment_id="shp-9",
            tracking_code="ME123456789BR", status=status, at=at,
        ),
    )  # fmt: skip


async def test_tracking_progress_moves_the_shipment_and_only_delivery_wakes_the_workflow(
    sessionmaker, dev_env: WorkflowEnvironment
) -> None:
    inbox, shipments = InboxRepository(sessionmaker), ShipmentRepository(sessionmaker)
    external_id = f"T{secrets.token_hex(3)}"
    order_id = order_workflow_id(Channel.STORE, external_id)
    booked = datetime.now(UTC)
    await shipments.record_booking(
        Booking(
            order_id=order_id, shipment_id="shp-9", tracking_code="ME123456789BR",
            carrier="Correios", service="PAC", price=Decimal("22.50"),
        ),
        booked,
    )  # fmt: skip
    in_transit = tracking(external_id, TrackingStatus.IN_TRANSIT, booked + timedelta(minutes=5))
    delivered = tracking(external_id, TrackingStatus.DELIVERED, booked + timedelta(hours=9))
    ids = [await store(inbox, e) for e in (in_transit, delivered)]
    handed: Counter[str] = Counter()
    relay = InboxRelay(
        inbox, CountingGateway(dev_env, f"relay-{external_id}", handed), shipments=shipments
    )

    await relay.relay_once()

    assert dict(handed) == {delivered.event_id: 1}  # the in-transit state woke nothing
    shipment = await shipments.get(order_id)
    assert shipment is not None
    assert shipment.status == "in_transit"
    noted = await inbox.get(ids[0])
    assert noted is not None
    assert noted.status == "ignored"
    assert (noted.last_error or "").startswith("recorded on the shipment (in_transit at")
