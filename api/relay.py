"""The inbox relay: hands stored webhooks to their order workflows, off the request path.

Each round claims a batch of deliverable entries (db/inbox.py: a lease under this relay's
name, so relays in several API processes never hold the same entry), delivers them
concurrently through the gateway (in order per workflow) and records every outcome in
a few statements: started, ignored with the reason, or failed with a back-off. It wakes
as soon as the intake stores something, and polls every `idle_s` otherwise (entries
whose back-off ended, leases that expired because a relay died).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from api.gateway import Deliverable, NotAttempted, TemporalGateway, TemporalUnavailable
from db.inbox import InboxEntry, InboxRepository
from db.shipments import ShipmentRepository
from db.types import utcnow
from domain.errors import RetaguardaError
from domain.events import EventKind, OrderEvent
from domain.freight import INCIDENTS, TrackingStatus
from domain.ids import order_workflow_id
from domain.payments import NOTICE_KIND, PaymentNotice

# Tracking states that wake the order workflow; the others (posted, in transit, out for
# delivery) only move the shipment in the read model: a signal each would cost the
# engine a workflow task per state for nothing the workflow decides on.
SIGNALLED = frozenset({TrackingStatus.DELIVERED, TrackingStatus.FAILED, *INCIDENTS})

log = logging.getLogger("retaguarda.relay")


def relay_name() -> str:
    """Who holds a claim: host, process and a random tag (unique per relay object)."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(3)}"


def _deliverable(entry: InboxEntry) -> Deliverable:
    """What an inbox entry holds: a thin payment notification, or an order's event."""
    if entry.kind == NOTICE_KIND:
        return PaymentNotice.model_validate(entry.payload)
    return OrderEvent.model_validate(entry.payload)


def backoff_s(attempts: int, cap_s: float) -> float:
    """Seconds before an entry that failed `attempts` times (this one included) is
    tried again: 0.5, 1, 2, 4 ... up to `cap_s`."""
    return float(min(cap_s, 0.5 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class RelayConfig:
    batch: int = 200
    concurrency: int = 32
    lease_s: float = 60.0
    idle_s: float = 1.0
    linger_s: float = 0.005
    max_backoff_s: float = 30.0
    # Intake first: while this process stores more than `yield_above_per_s` webhooks a
    # second, hand-over waits (at most `max_yield_s` in a row), leaving the CPU to the
    # requests; Temporal gets the backlog when the burst is over. 0 turns it off.
    yield_above_per_s: float = 200.0
    max_yield_s: float = 30.0


class ArrivalRate:
    """Webhooks stored per second, over the last whole second (cheap: two counters)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._second = int(clock())
        self._current = 0
        self._previous = 0

    def tick(self) -> None:
        self._roll()
        self._current += 1

    def per_s(self) -> int:
        self._roll()
        return self._previous

    def _roll(self) -> None:
        second = int(self._clock())
        if second != self._second:
            self._previous = self._current if second == self._second + 1 else 0
            self._current, self._second = 0, second


@dataclass
class RoundResult:
    claimed: int = 0
    started: int = 0
    ignored: int = 0
    failed: int = 0
    released: int = 0


class InboxRelay:
    def __init__(
        self,
        inbox: InboxRepository,
        gateway: TemporalGateway,
        config: RelayConfig | None = None,
        *,
        name: str | None = None,
        shipments: ShipmentRepository | None = None,
    ) -> None:
        self._inbox = inbox
        self._gateway = gateway
        self._shipments = shipments
        self.config = config or RelayConfig()
        self.name = name or relay_name()
        self._wake = asyncio.Event()
        self.arrivals = ArrivalRate()

    def notify(self) -> None:
        """Something was stored: run a round now instead of at the next poll."""
        self.arrivals.tick()
        self._wake.set()

    async def _yield_to_intake(self) -> None:
        """Wait while a burst is coming in (see RelayConfig.yield_above_per_s)."""
        limit = self.config.yield_above_per_s
        if not limit:
            return
        waited = 0.0
        while self.arrivals.per_s() > limit and waited < self.config.max_yield_s:
            await asyncio.sleep(0.25)
            waited += 0.25

    async def run(self) -> None:
        """Forever: rounds back to back while there is work, else wait to be woken."""
        while True:
            await self._yield_to_intake()
            self._wake.clear()
            try:
                result = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the relay must outlive any one bad round
                log.exception("inbox relay round failed")
                result = RoundResult()
            if result.claimed >= self.config.batch:
                continue  # a full batch: more is probably waiting
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.idle_s)
            except TimeoutError:
                continue
            if self.config.linger_s:
                await asyncio.sleep(self.config.linger_s)  # let a burst fill the batch

    async def relay_once(self) -> RoundResult:
        """One round: claim a batch, deliver it, record what happened."""
        config = self.config
        claimed = await self._inbox.claim(self.name, limit=config.batch, lease_s=config.lease_s)
        result = RoundResult(claimed=len(claimed))
        if not claimed:
            return result
        # Stop beginning deliveries well before the lease ends; in-flight calls are
        # bounded by the gateway's RPC timeout, so nothing is delivered past the lease.
        deadline = time.monotonic() + config.lease_s / 2
        events = [_deliverable(e) for e in claimed]
        kept: list[int] = []
        noted: list[int] = []
        for i, event in enumerate(events):
            (noted if self._on_the_shipment(event) else kept).append(i)
        for i in noted:  # progress the workflow does not act on: the read model's
            tracked = events[i]
            assert isinstance(tracked, OrderEvent)
            await self._record_tracking(claimed[i], tracked, result)
        claimed, events = [claimed[i] for i in kept], [events[i] for i in kept]
        outcomes = await self._gateway.deliver_many(
            events, concurrency=config.concurrency, deadline=deadline
        )
        await self._record(claimed, outcomes, result)
        if result.failed:
            log.warning("relay: %s inbox entries not handed over yet", result.failed)
        return result

    def _on_the_shipment(self, event: Deliverable) -> bool:
        return (
            isinstance(event, OrderEvent)
            and self._shipments is not None
            and event.kind is EventKind.TRACKING
            and event.tracking is not None
            and event.tracking.status not in SIGNALLED
        )

    async def _record_tracking(
        self, entry: InboxEntry, event: OrderEvent, result: RoundResult
    ) -> None:
        assert self._shipments is not None
        assert event.tracking is not None
        order_id = order_workflow_id(event.channel, event.external_id)
        tracking = event.tracking
        await self._shipments.record_tracking(order_id, tracking.status, tracking.at)
        await self._inbox.mark_ignored(
            entry.id,
            f"recorded on the shipment ({tracking.status.value} at {tracking.at.isoformat()}): "
            "the order's workflow is only woken by delivery or a failed delivery",
        )
        result.ignored += 1

    async def _record(
        self, claimed: list[InboxEntry], outcomes: list[Exception | None], result: RoundResult
    ) -> None:
        started: list[int] = []
        untouched: list[int] = []
        failed: dict[tuple[int, str], list[int]] = defaultdict(list)
        for entry, outcome in zip(claimed, outcomes, strict=True):
            if outcome is None:
                started.append(entry.id)
            elif isinstance(outcome, NotAttempted):
                untouched.append(entry.id)
            elif isinstance(outcome, TemporalUnavailable):
                failed[(entry.attempts + 1, outcome.message)].append(entry.id)
            elif isinstance(outcome, RetaguardaError):
                await self._inbox.mark_ignored(entry.id, outcome.message)
                result.ignored += 1
            else:
                log.error("inbox %s: delivery failed unexpectedly", entry.id, exc_info=outcome)
                message = f"unexpected {type(outcome).__name__}: {outcome}"
                failed[(entry.attempts + 1, message)].append(entry.id)
        await self._inbox.mark_started(*started)
        result.started = len(started)
        await self._inbox.release(untouched, owner=self.name)
        result.released = len(untouched)
        now = utcnow()
        for (attempts, message), ids in failed.items():
            retry_at = now + timedelta(seconds=backoff_s(attempts, self.config.max_backoff_s))
            await self._inbox.mark_failed(ids, message, retry_at=retry_at, owner=self.name)
            result.failed += len(ids)
