"""Durable intake: verify, validate, store in the inbox, then hand to Temporal. If
Temporal is down the event stays pending and the relay hands it over later; a duplicate
delivery is stored once and starts nothing new."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from api.gateway import TemporalGateway, TemporalUnavailable
from db.inbox import InboxRepository
from domain.errors import RetaguardaError
from domain.events import OrderEvent
from domain.ids import order_workflow_id
from integrations.carrier.webhooks import parse_carrier_webhook
from integrations.marketplace.webhooks import parse_marketplace_notification
from integrations.payments.webhooks import parse_payment_webhook
from integrations.store.webhooks import parse_store_webhook
from integrations.webhooks import verify_signature

log = logging.getLogger("retaguarda.intake")

Parser = Callable[[bytes, datetime], OrderEvent | None]
PARSERS: dict[str, Parser] = {
    "store": parse_store_webhook,
    "marketplace": parse_marketplace_notification,
    "payments": parse_payment_webhook,
    "carrier": parse_carrier_webhook,
}


class UnknownSource(RetaguardaError):
    pass


@dataclass(frozen=True)
class IntakeResult:
    status: str  # accepted | duplicate | ignored
    inbox_id: int | None = None
    workflow_id: str | None = None
    started: bool = False
    detail: str = ""


class Intake:
    def __init__(
        self,
        inbox: InboxRepository,
        gateway: TemporalGateway,
        secrets: dict[str, str],
        tolerance_s: float,
    ) -> None:
        self._inbox = inbox
        self._gateway = gateway
        self._secrets = secrets
        self._tolerance_s = tolerance_s

    async def receive(self, source: str, body: bytes, signature: str | None) -> IntakeResult:
        parser = PARSERS.get(source)
        if parser is None or source not in self._secrets:
            raise UnknownSource(
                f"no webhook source named {source!r}; known: {', '.join(sorted(PARSERS))}"
            )
        verify_signature(
            self._secrets[source], body, signature, now=time.time(), tolerance_s=self._tolerance_s
        )
        event = parser(body, datetime.now(UTC))
        if event is None:
            return IntakeResult(status="ignored", detail="not an event this system acts on")
        workflow_id = order_workflow_id(event.channel, event.external_id)
        inbox_id, is_new = await self._inbox.add(
            source, event.event_id, workflow_id, event.kind.value, event.model_dump(mode="json")
        )
        if not is_new:
            return IntakeResult("duplicate", inbox_id, workflow_id, detail="already received")
        started = await self._hand_over(inbox_id, event)
        return IntakeResult("accepted", inbox_id, workflow_id, started=started)

    async def _hand_over(self, inbox_id: int, event: OrderEvent) -> bool:
        """Deliver one inbox entry to its workflow and record the outcome: started,
        failed (Temporal unreachable: the relay retries) or ignored (with the reason)."""
        try:
            await self._gateway.deliver(event)
        except TemporalUnavailable as exc:
            log.warning("inbox %s not handed over yet: %s", inbox_id, exc.message)
            await self._inbox.mark_failed(inbox_id, exc.message)
            return False
        except RetaguardaError as exc:
            await self._inbox.mark_ignored(inbox_id, exc.message)
            return False
        await self._inbox.mark_started(inbox_id)
        return True

    async def relay_once(self, limit: int = 100, older_than_s: float = 2.0) -> int:
        """Hand pending inbox entries to Temporal; returns how many went through."""
        delivered = 0
        for entry in await self._inbox.pending(limit=limit, older_than_s=older_than_s):
            if await self._hand_over(entry.id, OrderEvent.model_validate(entry.payload)):
                delivered += 1
        return delivered

    async def run_relay(self, interval_s: float = 1.0) -> None:
        """Forever: the inbox relay of this API process."""
        while True:
            try:
                count = await self.relay_once()
                if count:
                    log.info("relay handed %s pending event(s) to Temporal", count)
            except asyncio.CancelledError:
                raise
            except Exception:  # the relay must outlive any one bad round
                log.exception("inbox relay round failed")
            await asyncio.sleep(interval_s)
