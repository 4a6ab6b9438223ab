"""Temporal wiring shared by every process: data converter (pydantic + encryption codec),
search attributes, client connection."""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.service import RPCError, RPCStatusCode

from workflows.search import (
    CHANNEL,
    NEEDS_ATTENTION,
    ORDER_STATUS,
    STUCK_STEP,
)

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    ORDER_STATUS,
    CHANNEL,
    NEEDS_ATTENTION,
    STUCK_STEP,
)

DEV_CODEC_KEY = base64.b64encode(b"dev-only-codec-key-change-me-000").decode()
_ENCODING = b"binary/encrypted"
_KEY_ID = b"retaguarda-1"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over every payload: customer data (name, CPF, address) never sits in
    Temporal's history in clear. The API's /codec endpoints decode for authorised users."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the codec key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(key)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            nonce = os.urandom(12)
            data = nonce + self._aead.encrypt(nonce, p.SerializeToString(), None)
            out.append(
                Payload(metadata={"encoding": _ENCODING, "encryption-key-id": _KEY_ID}, data=data)
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding", b"") != _ENCODING:
                out.append(p)
                continue
            plain = self._aead.decrypt(p.data[:12], p.data[12:], None)
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out


def data_converter(codec_key_b64: str = DEV_CODEC_KEY) -> DataConverter:
    codec = EncryptionCodec(base64.b64decode(codec_key_b64))
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register the custom search attributes (for servers not started with the flags, such
    as the time-skipping test server or a fresh cluster). Already present is fine."""
    request = AddSearchAttributesRequest(
        namespace=namespace,
        search_attributes={
            key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
            for key in SEARCH_ATTRIBUTES
        },
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as exc:
        if exc.status is not RPCStatusCode.ALREADY_EXISTS:
            raise


async def connect(address: str, namespace: str, codec_key_b64: str) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=data_converter(codec_key_b64)
    )


def search_attribute_flags(keys: Iterable[SearchAttributeKey] = SEARCH_ATTRIBUTES) -> list[str]:  # type: ignore[type-arg]
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    kinds = {"BOOL": "Bool", "KEYWORD": "Keyword", "TEXT": "Text", "INT": "Int",
             "FLOAT": "Double", "DATETIME": "Datetime", "KEYWORD_LIST": "KeywordList"}  # fmt: skip
    flags: list[str] = []
    for key in keys:
        flags += [
            "--search-attribute",
            f"{key.name}={kinds[key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_')]}",
        ]
    return flags
