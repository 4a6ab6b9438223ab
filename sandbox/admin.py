"""Sandbox admin: read the ledger, read and change faults at run time, see counters.
Never injects faults itself."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, HTTPException

from sandbox.core import PROVIDERS, FaultConfig, SandboxState


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter()

    @router.get("/ledger")
    async def ledger(kind: str | None = None, provider: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in state.ledger.entries
            if (kind is None or e["kind"] == kind)
            and (provider is None or e["provider"] == provider)
        ]

    @router.get("/faults")
    async def faults() -> dict[str, FaultConfig]:
        return {p: state.faults.config_for(p) for p in PROVIDERS}

    @router.put("/faults/{provider}")
    async def set_faults(provider: str, body: FaultConfig) -> FaultConfig:
        if provider not in PROVIDERS:
            raise HTTPException(
                404, f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}"
            )
        state.faults.set(provider, body)
        return state.faults.config_for(provider)

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        webhooks = state.webhooks
        return {
            "faults_injected": dict(state.faults.injected),
            "webhooks": {
                "delivered": sum(webhooks.delivered.values()),
                "failed": sum(webhooks.failed.values()),
                "pending": webhooks.pending,
                "delivered_by_provider": dict(webhooks.delivered),
                "failed_by_provider": dict(webhooks.failed),
            },
            "ledger": dict(Counter(e["kind"] for e in state.ledger.entries)),
        }

    return router
