"""Durable intake, the request path: verify, validate, store in the inbox, answer. Nothing
on this path waits for Temporal: the relay (api/relay.py) hands stored entries over.

A correctly signed event that does not validate is kept in quarantine (db/quarantine.py)
and still refused with 422, so the channel knows; ops fix or re-drive it later
(`reparse`). A duplicate delivery is stored once and starts nothing new."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import ValidationError

from db.inbox_writer import InboxWriter
from db.quarantine import QuarantineRepository
from domain.errors import RetaguardaError
from domain.events import OrderEvent
from domain.ids import order_workflow_id
from domain.payments import NOTICE_KIND, PaymentNotice, payment_notice_workflow_id
from integrations.carrier.webhooks import parse_carrier_webhook
from integrations.marketplace.webhooks import parse_marketplace_notification
from integrations.payments.webhooks import parse_payment_notification, verify_notification
from integrations.store.webhooks import parse_store_webhook
from integrations.webhooks import (
    Verifier,
    WebhookPayloadError,
    envelope_id,
    payload_error,
    verify_body_signature,
)

# An order's event, or a thin payment notification (its payment is fetched by the
# notice's workflow before any order hears of it), or None: ignored.
Parser = Callable[[bytes, datetime], OrderEvent | PaymentNotice | None]


@dataclass(frozen=True)
class Source:
    parse: Parser
    id_key: str  # where the provider's envelope carries its event id
    verify: Verifier = verify_body_signature  # each provider signs its own way


SOURCES: dict[str, Source] = {
    "store": Source(parse_store_webhook, "id"),
    "marketplace": Source(parse_marketplace_notification, "_id"),
    "payments": Source(parse_payment_notification, "id", verify_notification),
    "carrier": Source(parse_carrier_webhook, "id"),
}
EVENT_ID_MAX = 200


class UnknownSource(RetaguardaError):
    pass


class Quarantined(WebhookPayloadError):
    """Signed but not valid: kept in quarantine as inbox entry `entry_id`, refused with 422."""

    def __init__(self, problem: WebhookPayloadError, entry_id: int) -> None:
        super().__init__(
            f"{problem.message} (kept in quarantine as inbox entry {entry_id}: "
            "ops can fix or re-drive it, or send the event again corrected)",
            field=problem.field,
        )
        self.entry_id = entry_id


@dataclass(frozen=True)
class IntakeResult:
    status: Literal["accepted", "duplicate", "ignored"]
    inbox_id: int | None = None
    workflow_id: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Parsed:
    """An event ready for the inbox (or None: a kind of event this system ignores)."""

    event: OrderEvent | PaymentNotice | None

    @property
    def workflow_id(self) -> str:
        assert self.event is not None
        if isinstance(self.event, PaymentNotice):
            return payment_notice_workflow_id(self.event)
        return order_workflow_id(self.event.channel, self.event.external_id)

    @property
    def event_id(self) -> str:
        assert self.event is not None
        if isinstance(self.event, PaymentNotice):
            return f"{self.event.source}:{self.event.notice_id}"
        return self.event.event_id

    @property
    def kind(self) -> str:
        assert self.event is not None
        if isinstance(self.event, PaymentNotice):
            return NOTICE_KIND
        return self.event.kind.value


def quarantine_event_id(source: str, body: bytes, id_key: str) -> str:
    """The id a quarantined body is kept under: the one the parser would give the event
    (`<source>:<envelope id>`), so a valid redelivery meets it; a body whose id cannot be
    read is keyed by its digest."""
    found = envelope_id(body, id_key)
    event_id = f"{source}:{found}" if found else ""
    if not event_id or len(event_id) > EVENT_ID_MAX:
        event_id = f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"
    return event_id


class Intake:
    def __init__(
        self,
        inbox: InboxWriter,
        quarantine: QuarantineRepository,
        secrets: dict[str, str],
        tolerance_s: float,
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self._inbox = inbox
        self._quarantine = quarantine
        self._secrets = secrets
        self._tolerance_s = tolerance_s
        self._on_stored = on_stored

    def source(self, name: str) -> Source:
        found = SOURCES.get(name)
        if found is None or name not in self._secrets:
            raise UnknownSource(
                f"no webhook source named {name[:40]!r}; known: {', '.join(sorted(SOURCES))}"
            )
        return found

    async def receive(
        self,
        source: str,
        body: bytes,
        signature: str | None,
        headers: Mapping[str, str | None] | None = None,
    ) -> IntakeResult:
        """`signature` is the `x-signature` header; `headers` any others the source's
        scheme signs (lowercased names, e.g. `x-request-id`)."""
        src = self.source(source)
        signed = {**(headers or {}), "x-signature": signature}
        src.verify(
            self._secrets[source], body, signed, now=time.time(), tolerance_s=self._tolerance_s
        )
        try:
            parsed = self.parse(source, body)
        except WebhookPayloadError as exc:
            kept = await self._quarantine.keep(
                source, quarantine_event_id(source, body, src.id_key), body, exc.message, exc.field
            )
            raise Quarantined(exc, kept.id) from exc
        if parsed.event is None:
            return IntakeResult(status="ignored", detail="not an event this system acts on")
        inbox_id, is_new = await self._inbox.add(
            source, parsed.event_id, parsed.workflow_id, parsed.kind, _payload(parsed.event)
        )
        if not is_new:
            return IntakeResult(
                "duplicate", inbox_id, parsed.workflow_id, detail="already received"
            )
        self._on_stored()
        return IntakeResult(
            "accepted", inbox_id, parsed.workflow_id, detail="queued for its order workflow"
        )

    def parse(self, source: str, body: bytes) -> Parsed:
        """Parse a body with the source's parser (WebhookPayloadError when it is not
        valid); also used by ops to re-drive or fix a quarantined event."""
        try:
            return Parsed(self.source(source).parse(body, datetime.now(UTC)))
        except ValidationError as exc:  # a parser let one through: still the sender's fault
            raise payload_error(exc, what=f"{source} webhook") from exc

    def stored(self) -> None:
        """Tell the relay an entry is waiting (after a fix or re-drive)."""
        self._on_stored()


def _payload(event: OrderEvent | PaymentNotice) -> dict[str, object]:
    payload: dict[str, object] = event.model_dump(mode="json")
    return payload
