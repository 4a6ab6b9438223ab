"""What ops do with a quarantined event, for the JSON API and the console alike: fix it
(a corrected body) or re-drive it (parse the stored body again, e.g. after a parser
fix). Either way the event becomes a normal inbox entry the relay hands to its workflow,
and the decision is audited under the API key's name."""

from __future__ import annotations

import hashlib
from typing import Literal

from api.errors import NotFound
from api.intake import Intake
from db.audit import AuditLog
from db.quarantine import QUARANTINED, AlreadyResolved, QuarantineRepository, Resolved
from integrations.webhooks import WebhookPayloadError

Resolution = Literal["fixed", "redriven"]


class StillInvalid(WebhookPayloadError):
    """The corrected (or re-parsed) body is still not a valid event; nothing changed."""


class QuarantineDesk:
    def __init__(self, intake: Intake, quarantine: QuarantineRepository, audit: AuditLog) -> None:
        self._intake = intake
        self._quarantine = quarantine
        self._audit = audit

    async def fix(self, entry_id: int, body: bytes, *, by: str, reason: str = "") -> Resolved:
        """Replace the stored body by a corrected one (the provider's envelope, as JSON)."""
        return await self._resolve(entry_id, body, "fixed", by=by, reason=reason)

    async def redrive(self, entry_id: int, *, by: str, reason: str = "") -> Resolved:
        body = await self._quarantine.raw_body(entry_id)
        if body is None:
            await self._open(entry_id)  # raises the right error
            body = b""
        return await self._resolve(entry_id, body, "redriven", by=by, reason=reason)

    async def _open(self, entry_id: int) -> str:
        entry = await self._quarantine.get(entry_id)
        if entry is None:
            raise NotFound(f"no quarantined event {entry_id}: list them with GET /ops/quarantine")
        if entry.status != QUARANTINED:
            raise AlreadyResolved(
                f"quarantined entry {entry_id} was already {entry.resolution} by "
                f"{entry.resolved_by}; it is now {entry.status}",
                code="already_resolved",
            )
        return entry.source

    async def _resolve(
        self, entry_id: int, body: bytes, resolution: Resolution, *, by: str, reason: str
    ) -> Resolved:
        source = await self._open(entry_id)
        try:
            parsed = self._intake.parse(source, body)
        except WebhookPayloadError as exc:
            if resolution == "redriven":
                await self._quarantine.note_problem(entry_id, exc.message, exc.field)
            verb = "the corrected body" if resolution == "fixed" else "the stored body"
            raise StillInvalid(
                f"{verb} is still not a valid event, nothing changed: {exc.message}",
                field=exc.field,
            ) from exc
        details: dict[str, object] = {"inbox_id": entry_id, "source": source, "reason": reason}
        if resolution == "fixed":
            details["corrected_body_sha256"] = hashlib.sha256(body).hexdigest()
            details["corrected_body"] = body.decode("utf-8", errors="replace")[:4000]
        if parsed.event is None:
            why = "the event is of a kind this system does not act on"
            await self._quarantine.close_ignored(entry_id, resolution=resolution, by=by, reason=why)
            await self._audit.record(by, f"intake:{resolution}", None, {**details, "outcome": why})
            return Resolved(inbox_id=entry_id, status="ignored", detail=why)
        resolved = await self._quarantine.resolve(
            entry_id,
            resolution=resolution,
            by=by,
            event_id=parsed.event_id,
            workflow_id=parsed.workflow_id,
            kind=parsed.kind,
            payload=parsed.event.model_dump(mode="json"),
        )
        await self._audit.record(
            by,
            f"intake:{resolution}",
            parsed.workflow_id,
            {**details, "event_id": parsed.event_id, "outcome": resolved.status},
        )
        if resolved.status == "pending":
            self._intake.stored()
        return resolved
