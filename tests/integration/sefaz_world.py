"""The invoicing service, the SEFAZ client and the simulator over real HTTP, for the
fiscal integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from integrations.fiscal.nfe import NfeBuilder
from integrations.fiscal.service import InvoicingService
from integrations.fiscal.signing import NfeSigner
from integrations.sefaz.client import SefazClient
from sandbox.app import create_sandbox_app
from sandbox.core import SandboxConfig, SandboxState
from tests.support.servers import serve
from tests.unit.test_nfe_builder import sample_builder


@dataclass
class World:
    state: SandboxState
    sefaz: SefazClient
    service: InvoicingService
    builder: NfeBuilder
    signer: NfeSigner
    base_url: str

    def authorisations(self) -> list[dict[str, Any]]:
        return self.state.ledger.find("invoice_authorised")


SAMPLE_ISSUED_AT = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)  # sample_request()'s


def clock_from(start: datetime) -> Callable[[], datetime]:
    """A clock that runs from `start` at the real pace: the simulator refuses NF-e
    emitted more than 30 days before its clock (228), so tests on the fixed sample date
    must not depend on today's date."""
    origin = datetime.now(UTC)
    return lambda: start + (datetime.now(UTC) - origin)


@asynccontextmanager
async def open_world(signer: NfeSigner) -> AsyncIterator[World]:
    state = SandboxState(SandboxConfig(seed=7))
    state.clock = clock_from(SAMPLE_ISSUED_AT + timedelta(hours=1))
    app = create_sandbox_app(state.config, state)
    async with serve(app) as base_url, httpx.AsyncClient(timeout=10) as http:
        sefaz = SefazClient(http, f"{base_url}/sefaz", "SP", 2)
        builder = sample_builder()
        service = InvoicingService(builder, signer, sefaz)
        yield World(state, sefaz, service, builder, signer, base_url)
