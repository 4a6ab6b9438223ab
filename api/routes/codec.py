"""Temporal remote codec: lets the Temporal UI (and `temporal` CLI) show encrypted
payloads in clear for authorised users only: an ops or admin API key, sent as X-API-Key,
as `Authorization: Bearer <key>` (`temporal ... --codec-auth "Bearer <key>"`), or by the
browser as the `rtg_codec` cookie the console sets at sign-in (the Temporal UI sends it
when its codec setting "include cross-origin credentials" is on). Anyone else gets 401:
the UI then shows the payloads still encrypted. CORS: api/codec_cors.py."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Header, Request
from google.protobuf.message import DecodeError
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.deps import ContextDep, get_principal, require
from api.errors import BadRequest
from db.api_keys import ApiRole

router = APIRouter(prefix="/codec", tags=["codec"])


CODEC_COOKIE = "rtg_codec"


async def _authorise(ctx: ContextDep, request: Request, x_api_key: str | None) -> None:
    bearer = request.headers.get("authorization", "")
    key = (
        x_api_key
        or (bearer[7:].strip() if bearer.lower().startswith("bearer ") else "")
        or request.cookies.get(CODEC_COOKIE)
    )
    principal = await get_principal(ctx, key or None)
    await require(ApiRole.OPS)(principal)


class CodecPayload(BaseModel):
    metadata: dict[str, str] = Field(default_factory=dict, description="values in base64")
    data: str = Field(default="", description="base64")


class CodecBody(BaseModel):
    payloads: list[CodecPayload] = Field(max_length=1000)


def _b64(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where} is not valid base64") from None


async def _convert(body: CodecBody, ctx: ContextDep, decode: bool) -> CodecBody:
    payloads = [
        Payload(
            metadata={k: _b64(v, f"payloads[{i}].metadata.{k}") for k, v in p.metadata.items()},
            data=_b64(p.data, f"payloads[{i}].data"),
        )
        for i, p in enumerate(body.payloads)
    ]
    codec = ctx.gateway.codec
    try:
        result = await (codec.decode(payloads) if decode else codec.encode(payloads))
    except (InvalidTag, ValueError, DecodeError):
        raise BadRequest("these payloads were not encrypted with this server's key") from None
    return CodecBody(
        payloads=[
            CodecPayload(
                metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in result
        ]
    )


@router.post("/decode", response_model=CodecBody)
async def decode(
    body: CodecBody,
    ctx: ContextDep,
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
) -> CodecBody:
    await _authorise(ctx, request, x_api_key)
    return await _convert(body, ctx, decode=True)


@router.post("/encode", response_model=CodecBody)
async def encode(
    body: CodecBody,
    ctx: ContextDep,
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
) -> CodecBody:
    await _authorise(ctx, request, x_api_key)
    return await _convert(body, ctx, decode=False)
