"""Webhooks: authenticated by the provider's signature only (no API key)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.context import ApiContext
from api.intake import IntakeResult

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookAccepted(BaseModel):
    """Stored, not yet handed over: the inbox relay starts or signals the order workflow
    moments later (or, while Temporal is down, once it is back). Follow an entry with
    GET /ops/inbox and the order with GET /orders/{workflow_id}."""

    status: Literal["accepted", "duplicate", "ignored"]
    inbox_id: int | None = Field(default=None, description="the inbox entry holding the event")
    workflow_id: str | None = None
    detail: str = ""


SIGNATURE_PARAMETER = {
    "name": "X-Signature",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "example": "t=1732713600,v1=<hex HMAC-SHA256>"},
    "description": 'store, marketplace, carrier: HMAC-SHA256 of "{t}.{raw body}" with the '
    "source's webhook secret; payments (Mercado Pago's scheme): `ts=<unix>,v1=<hex>`, "
    'HMAC-SHA256 of "id:{data.id};request-id:{X-Request-Id};ts:{ts};"',
}
REQUEST_ID_PARAMETER = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "payments: part of what the signature signs",
}


@router.post(
    "/{source}",
    status_code=202,
    response_model=WebhookAccepted,
    responses={
        200: {"description": "authentic, but not an event this system acts on"},
        401: {"description": "bad signature or stale timestamp"},
        413: {"description": "body larger than the API's limit"},
        422: {"description": "signed but malformed: kept in quarantine; the field is named"},
    },
    openapi_extra={"parameters": [SIGNATURE_PARAMETER, REQUEST_ID_PARAMETER]},
)
async def receive_webhook(source: str, request: Request) -> Response:
    """Verify, validate, store in the inbox, answer 202: nothing waits for Temporal. A
    signed body that does not validate is kept in quarantine for ops and refused (422).

    The busiest route: it reads its header and context itself and answers with bytes
    it encodes itself, skipping dependency resolution and response-model validation."""
    ctx: ApiContext = request.app.state.ctx
    body = await request.body()
    result = await ctx.intake.receive(
        source,
        body,
        request.headers.get("x-signature"),
        {"x-request-id": request.headers.get("x-request-id")},
    )
    status, content = answer(result)
    return Response(content, status_code=status, media_type="application/json")


def answer(result: IntakeResult) -> tuple[int, bytes]:
    """The status and JSON body a stored (or ignored) webhook is answered with."""
    accepted = WebhookAccepted(
        status=result.status,
        inbox_id=result.inbox_id,
        workflow_id=result.workflow_id,
        detail=result.detail,
    )
    status = 200 if result.status == "ignored" else 202
    return status, accepted.__pydantic_serializer__.to_json(accepted)
