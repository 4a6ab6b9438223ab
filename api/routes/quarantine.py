"""Ops: the quarantine of signed webhooks that did not validate; fix or re-drive them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import ContextDep, OpsRole
from api.errors import NotFound
from db.quarantine import QuarantineEntry, Resolved

router = APIRouter(prefix="/ops/quarantine", tags=["ops"])
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the inbox entry id")]


class QuarantineItem(BaseModel):
    """A quarantined event without its body (GET /ops/quarantine/{id} has the body)."""

    id: int
    source: str
    event_id: str
    received_at: datetime
    deliveries: int = Field(description="how many times the channel sent it")
    problem: str
    field: str
    body_bytes: int
    status: str
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    workflow_id: str | None


class FixBody(BaseModel):
    body: dict[str, Any] = Field(
        description="the corrected event: the provider's whole JSON envelope, as it "
        "should have been sent (it is parsed exactly like a webhook, without a signature)"
    )
    reason: str = Field(default="", max_length=500)


class RedriveBody(BaseModel):
    reason: str = Field(default="", max_length=500)


@router.get("", response_model=list[QuarantineItem])
async def list_quarantine(
    ctx: ContextDep,
    _: OpsRole,
    include_resolved: bool = False,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=1_000_000),
) -> list[QuarantineItem]:
    """Open quarantined events, newest first (with `include_resolved`, also the ones
    fixed, re-driven or redelivered valid by the channel)."""
    found = await ctx.quarantine.list(include_resolved=include_resolved, limit=limit, offset=offset)
    return [QuarantineItem.model_validate(e.model_dump(exclude={"body"})) for e in found]


@router.get("/{entry_id}", response_model=QuarantineEntry)
async def get_quarantined(entry_id: EntryId, ctx: ContextDep, _: OpsRole) -> QuarantineEntry:
    entry = await ctx.quarantine.get(entry_id)
    if entry is None:
        raise NotFound(f"no quarantined event {entry_id}: list them with GET /ops/quarantine")
    return entry


@router.post("/{entry_id}/fix", response_model=Resolved)
async def fix(entry_id: EntryId, body: FixBody, ctx: ContextDep, who: OpsRole) -> Resolved:
    """Submit the corrected event; it becomes a normal inbox entry (422 when still invalid)."""
    corrected = json.dumps(body.body, ensure_ascii=False).encode()
    return await ctx.desk.fix(entry_id, corrected, by=who.name, reason=body.reason)


@router.post("/{entry_id}/redrive", response_model=Resolved)
async def redrive(entry_id: EntryId, body: RedriveBody, ctx: ContextDep, who: OpsRole) -> Resolved:
    """Parse the stored body again as it is (e.g. after a parser fix)."""
    return await ctx.desk.redrive(entry_id, by=who.name, reason=body.reason)
