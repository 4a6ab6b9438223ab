"""Temporal remote codec: lets the Temporal UI (and `temporal` CLI) show encrypted
payloads in clear for authorised users. In local mode it is open to the UI; otherwise it
needs an ops or admin API key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from api.deps import ContextDep, get_principal, require
from db.api_keys import ApiRole

router = APIRouter(prefix="/codec", tags=["codec"])


async def _authorise(ctx: ContextDep, x_api_key: str | None) -> None:
    if ctx.settings.mode == "local":
        return
    principal = await get_principal(ctx, x_api_key)
    await require(ApiRole.OPS)(principal)


async def _convert(request: Request, ctx: ContextDep, decode: bool) -> dict[str, Any]:
    body = await request.json()
    payloads = [json_format.ParseDict(p, Payload()) for p in body.get("payloads", [])]
    codec = ctx.gateway.codec
    result = await (codec.decode(payloads) if decode else codec.encode(payloads))
    return {"payloads": [json_format.MessageToDict(p) for p in result]}


@router.post("/decode")
async def decode(
    request: Request, ctx: ContextDep, x_api_key: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    await _authorise(ctx, x_api_key)
    return await _convert(request, ctx, decode=True)


@router.post("/encode")
async def encode(
    request: Request, ctx: ContextDep, x_api_key: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    await _authorise(ctx, x_api_key)
    return await _convert(request, ctx, decode=False)
