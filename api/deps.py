"""Dependencies as Annotated aliases: the context and the authenticated principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from api.context import ApiContext
from api.errors import Forbidden, Unauthorized
from db.api_keys import ApiPrincipal, ApiRole


async def get_context(request: Request) -> ApiContext:
    # async on purpose: FastAPI runs a sync dependency in its thread pool (40 threads),
    # a hop per request that also caps how many requests are in flight.
    ctx: ApiContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ApiContext, Depends(get_context)]


async def get_principal(
    ctx: ContextDep, x_api_key: Annotated[str | None, Header()] = None
) -> ApiPrincipal:
    if not x_api_key:
        raise Unauthorized("send your API key in the X-API-Key header")
    principal = await ctx.api_keys.authenticate(x_api_key)
    if principal is None:
        raise Unauthorized("this API key is unknown or revoked")
    return principal


def require(*roles: ApiRole) -> Callable[..., Awaitable[ApiPrincipal]]:
    allowed = {ApiRole.ADMIN, *roles}

    async def dependency(
        principal: Annotated[ApiPrincipal, Depends(get_principal)],
    ) -> ApiPrincipal:
        if principal.role not in allowed:
            raise Forbidden(
                f"role {principal.role.value} cannot do this; needs one of "
                + ", ".join(sorted(r.value for r in allowed))
            )
        return principal

    return dependency


AnyRole = Annotated[ApiPrincipal, Depends(require(*ApiRole))]
OpsRole = Annotated[ApiPrincipal, Depends(require(ApiRole.OPS))]
WarehouseRole = Annotated[ApiPrincipal, Depends(require(ApiRole.WAREHOUSE, ApiRole.OPS))]
AdminRole = Annotated[ApiPrincipal, Depends(require())]
# NF-e documents: the books (ops, finance), the box (warehouse prints the DANFE), viewers.
DocumentsRole = Annotated[
    ApiPrincipal,
    Depends(require(ApiRole.OPS, ApiRole.FINANCE, ApiRole.WAREHOUSE, ApiRole.VIEWER)),
]
FinanceRole = Annotated[ApiPrincipal, Depends(require(ApiRole.FINANCE))]
# The books can be read by finance, ops and viewers; only finance acts on them.
BooksRole = Annotated[ApiPrincipal, Depends(require(ApiRole.FINANCE, ApiRole.OPS, ApiRole.VIEWER))]
