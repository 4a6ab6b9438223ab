"""Webhooks: authenticated by the provider's signature only (no API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel

from api.deps import ContextDep

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookAccepted(BaseModel):
    status: str
    inbox_id: int | None = None
    workflow_id: str | None = None
    started: bool = False
    detail: str = ""


@router.post(
    "/{source}",
    status_code=202,
    response_model=WebhookAccepted,
    responses={
        401: {"description": "bad signature or stale timestamp"},
        422: {"description": "malformed body; the field is named"},
    },
)
async def receive_webhook(
    source: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    x_signature: Annotated[str | None, Header()] = None,
) -> WebhookAccepted:
    """Verify, validate, store in the inbox, start or signal the order workflow. 202 once
    stored: if Temporal is down the inbox relay starts the workflow when it is back."""
    body = await request.body()
    result = await ctx.intake.receive(source, body, x_signature)
    if result.status == "ignored":
        response.status_code = 200
    return WebhookAccepted(
        status=result.status,
        inbox_id=result.inbox_id,
        workflow_id=result.workflow_id,
        started=result.started,
        detail=result.detail,
    )
