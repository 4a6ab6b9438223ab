"""An order's fiscal documents after the authorisation: correction letters (CC-e)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import AnyRole, ContextDep, OpsRole
from db.fiscal_lifecycle import CorrectionView
from domain.fiscal_lifecycle import CORRECTION_MAX, CorrectionStatus

router = APIRouter(prefix="/orders", tags=["fiscal"])


class CorrectionBody(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=CORRECTION_MAX + 200,
        description="what to correct (15-1000 characters); it replaces every earlier CC-e, "
        "so repeat what still holds; values, parties and dates cannot be corrected",
    )


class CorrectionAnswer(BaseModel):
    workflow_id: str
    status: str = Field(description="registered, rejected, or sending (SEFAZ has not answered)")
    sequence: int | None = None
    protocol: str | None = None
    registered_at: datetime | None = None
    message: str = ""


@router.post(
    "/{order_id}/invoice/corrections",
    response_model=CorrectionAnswer,
    status_code=201,
    responses={202: {"model": CorrectionAnswer}},
)
async def correct_invoice(
    order_id: str, body: CorrectionBody, ctx: ContextDep, who: OpsRole, response: Response
) -> CorrectionAnswer:
    workflow_id, result = await ctx.corrections.ask(order_id, body.text, who.name)
    if result is None:
        response.status_code = 202
        return CorrectionAnswer(workflow_id=workflow_id, status="sending")
    if result.status is CorrectionStatus.REJECTED:
        response.status_code = 409
    return CorrectionAnswer(
        workflow_id=workflow_id,
        status=result.status.value,
        sequence=result.sequence,
        protocol=result.protocol,
        registered_at=result.registered_at,
        message=result.message,
    )


@router.get("/{order_id}/invoice/corrections", response_model=list[CorrectionView])
async def list_corrections(order_id: str, ctx: ContextDep, _: AnyRole) -> list[CorrectionView]:
    return await ctx.corrections.list(order_id)
