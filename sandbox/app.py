"""The sandbox app: one FastAPI process, one router per provider under /<provider>."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox import (
    admin,
    bank,
    carrier,
    marketplace,
    payments,
    portal,
    sefaz,
    seller_portal,
    store,
)
from sandbox.core import InjectedFault, SandboxConfig, SandboxState


def create_sandbox_app(config: SandboxConfig, state: SandboxState | None = None) -> FastAPI:
    state = state or SandboxState(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.webhooks.aclose()

    app = FastAPI(title="Retaguarda sandbox", lifespan=lifespan)
    app.state.sandbox = state

    @app.exception_handler(InjectedFault)
    async def _injected(_: Request, exc: InjectedFault) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status, headers=exc.headers)

    app.include_router(store.build_router(state), prefix="/store", tags=["store"])
    app.include_router(marketplace.build_router(state), prefix="/marketplace", tags=["marketplace"])
    app.include_router(payments.build_router(state), prefix="/payments", tags=["payments"])
    app.include_router(sefaz.build_router(state), prefix="/sefaz", tags=["sefaz"])
    app.include_router(carrier.build_router(state), prefix="/carrier", tags=["carrier"])
    app.include_router(portal.build_router(state), prefix="/portal", tags=["portal"])
    app.include_router(seller_portal.build_router(state), prefix="/seller", tags=["seller"])
    app.include_router(bank.build_router(state), prefix="/bank", tags=["bank"])
    app.include_router(admin.build_router(state), prefix="/admin", tags=["admin"])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
