"""The sandbox over real HTTP for adapter tests, with a webhook receiver standing in for
our API: `async with sandbox_world(seed=7) as world:`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request

from domain.fiscal import Issuer
from domain.orders import Address
from integrations.bank.client import BankClient
from integrations.carrier.client import CarrierClient
from integrations.carrier.tokens import TokenStore
from integrations.documents.store import DocumentStore
from integrations.marketplace.client import MarketplaceClient
from integrations.payments.client import PaymentsClient
from integrations.store.client import StoreClient
from sandbox.app import create_sandbox_app
from sandbox.core import PROVIDERS, FaultConfig, SandboxConfig, SandboxState
from tests.support.servers import serve

SECRETS = {p: f"test-webhook-secret-{p}" for p in PROVIDERS}
TOKENS = {p: f"test-api-token-{p}" for p in PROVIDERS}
CLIENT_ID, CLIENT_SECRET = "retaguarda-test", "test-ml-secret"
CARRIER_APP = {"client_id": "retaguarda-test", "client_secret": "test-carrier-secret"}
CARRIER_REFRESH = "test-carrier-refresh-token"
SP = Address(
    street="Rua Augusta",
    number="1000",
    district="Consolacao",
    city="Sao Paulo",
    state="SP",
    postal_code="01304001",
)
SENDER = Issuer(cnpj="11222333000181", name="RETAGUARDA LTDA", ie="111111111111", address=SP)


@dataclass
class Inbox:
    hooks: list[tuple[str, str | None, bytes]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # aligned with hooks

    async def wait(self, provider: str, count: int = 1) -> list[tuple[str | None, bytes]]:
        for _ in range(250):
            got = [(sig, body) for p, sig, body in self.hooks if p == provider]
            if len(got) >= count:
                return got
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} {provider} webhook(s), got {len(got)}")

    async def wait_headers(
        self, provider: str, count: int = 1
    ) -> list[tuple[dict[str, str], bytes]]:
        """Like `wait`, with every header (lowercased names) of each delivery."""
        await self.wait(provider, count)
        return [
            (headers, body)
            for (p, _, body), headers in zip(self.hooks, self.headers, strict=True)
            if p == provider
        ]


@dataclass
class World:
    url: str
    state: SandboxState
    inbox: Inbox
    http: httpx.AsyncClient

    async def admin(self, path: str, body: Any = None) -> Any:
        response = await self.http.post(f"{self.url}{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json()

    async def ledger(self, kind: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"{self.url}/admin/ledger", params={"kind": kind})
        return list(response.json())

    async def set_faults(self, provider: str, faults: FaultConfig) -> None:
        response = await self.http.put(
            f"{self.url}/admin/faults/{provider}", json=faults.model_dump()
        )
        assert response.status_code == 200, response.text

    def marketplace(
        self, clock: Callable[[], float] = time.monotonic, documents: DocumentStore | None = None
    ) -> MarketplaceClient:
        return MarketplaceClient(
            self.http,
            f"{self.url}/marketplace",
            CLIENT_ID,
            CLIENT_SECRET,
            clock=clock,
            documents=documents,
        )

    def store(self) -> StoreClient:
        return StoreClient(self.http, f"{self.url}/store", TOKENS["store"])

    def payments(self) -> PaymentsClient:
        return PaymentsClient(self.http, f"{self.url}/payments", TOKENS["payments"])

    def bank(self) -> BankClient:
        return BankClient(self.http, f"{self.url}/bank", TOKENS["bank"])

    def carrier(self, tokens: TokenStore | None = None) -> CarrierClient:
        return CarrierClient(
            self.http,
            f"{self.url}/carrier",
            TOKENS["carrier"],
            sender=SENDER,
            refresh_token=CARRIER_REFRESH,
            tokens=tokens,
            **CARRIER_APP,
        )


def receiver(inbox: Inbox) -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/{provider}")
    async def hook(provider: str, request: Request) -> dict[str, bool]:
        body = await request.body()
        inbox.headers.append(dict(request.headers))
        inbox.hooks.append((provider, request.headers.get("X-Signature"), body))
        return {"ok": True}

    return app


@asynccontextmanager
async def sandbox_world(**config: Any) -> AsyncIterator[World]:
    inbox = Inbox()
    async with serve(receiver(inbox)) as hooks_url:
        sandbox_config = SandboxConfig(
            webhook_target=f"{hooks_url}/webhooks",
            webhook_secrets=SECRETS,
            api_tokens=TOKENS,
            marketplace_client_id=CLIENT_ID,
            carrier_client_id=CARRIER_APP["client_id"],
            carrier_client_secret=CARRIER_APP["client_secret"],
            carrier_refresh_token=CARRIER_REFRESH,
            marketplace_client_secret=CLIENT_SECRET,
            **config,
        )
        state = SandboxState(sandbox_config)
        async with (
            serve(create_sandbox_app(sandbox_config, state)) as url,
            httpx.AsyncClient(timeout=5.0) as http,
        ):
            yield World(url, state, inbox, http)
