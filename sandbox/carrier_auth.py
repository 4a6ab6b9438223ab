"""The freight hub's OAuth2, shaped like Melhor Envio's (Laravel Passport): the seller
authorises the app once and gets an access token (a JWT, 30 days) and a refresh token
(45 days); `POST /oauth/token` with `grant_type=refresh_token` trades a refresh token for
a new pair, once: a refresh token used before is refused. An expired or unknown access
token is answered 401 `{"message": "Unauthenticated."}`.

Issued tokens are signed (HMAC with the app's secret) and carry their expiry, so a
restarted sandbox still accepts the unexpired ones; the refresh tokens already used are
kept in the ledger (`refresh_token_used`, by digest) so a restart does not make them
usable again. The pair the sandbox is configured with (`api_tokens["carrier"]`,
`carrier_refresh_token`) is the seller's first authorisation: valid for one lifetime
from the sandbox's start."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from sandbox.core import SandboxState

PROVIDER = "carrier"
UNAUTHENTICATED = {"message": "Unauthenticated."}


class MEError(Exception):
    """Rendered as Melhor Envio renders errors: a JSON body with `message` (and, for
    OAuth, `error`, `error_description`, `hint`)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status, self.body = status, body


class MERoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def render_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except MEError as exc:
                return JSONResponse(exc.body, status_code=exc.status)

        return render_errors


def _invalid_refresh(hint: str) -> MEError:
    # league/oauth2-server's invalidRefreshToken, as Passport answers it.
    return MEError(
        401,
        {
            "error": "invalid_request",
            "error_description": "The refresh token is invalid.",
            "hint": hint,
            "message": "The refresh token is invalid.",
        },
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class ExpireIn(BaseModel):
    access: bool = Field(default=True, description="every access token issued so far")
    refresh: bool = Field(default=False, description="every refresh token issued so far")


@dataclass
class CarrierAuth:
    """What the authorisation server knows; `not_before` moves when ops (or a test)
    expire every token issued so far."""

    state: SandboxState
    started: datetime
    used: set[str] = field(default_factory=set)
    access_not_before: datetime | None = None
    refresh_not_before: datetime | None = None

    @classmethod
    def of(cls, state: SandboxState) -> CarrierAuth:
        auth = state.data[PROVIDER].get("auth")
        if not isinstance(auth, CarrierAuth):
            auth = state.data[PROVIDER]["auth"] = cls(state, state.clock())
            auth.used = {e["digest"] for e in state.ledger.find("refresh_token_used")}
        return auth

    # -- tokens -----------------------------------------------------------------------

    def _secret(self) -> bytes:
        return self.state.config.carrier_client_secret.encode()

    def _sign(self, kind: str, ttl_s: float) -> str:
        now = self.state.clock()
        claims = {
            "typ": kind,
            "jti": secrets.token_hex(16),
            "iat": now.timestamp(),
            "exp": (now + timedelta(seconds=ttl_s)).timestamp(),
            "aud": self.state.config.carrier_client_id,
        }
        head = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        mac = _b64(hmac.new(self._secret(), f"{head}.{body}".encode(), "sha256").digest())
        token = f"{head}.{body}.{mac}"
        return token if kind == "access" else "def50200" + _b64(token.encode())

    def _claims(self, kind: str, token: str) -> dict[str, Any] | None:
        """The claims of a token we signed, or None (the first pair: its claims)."""
        cfg = self.state.config
        first = cfg.api_tokens.get(PROVIDER) if kind == "access" else cfg.carrier_refresh_token
        if first and hmac.compare_digest(token.encode(), first.encode()):
            ttl = cfg.carrier_token_ttl_s if kind == "access" else cfg.carrier_refresh_ttl_s
            return {"iat": self.started.timestamp(), "exp": self.started.timestamp() + ttl}
        if kind == "refresh":
            if not token.startswith("def50200"):
                return None
            try:
                token = _unb64(token.removeprefix("def50200")).decode()
            except (ValueError, UnicodeDecodeError):
                return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        head, body, mac = parts
        good = _b64(hmac.new(self._secret(), f"{head}.{body}".encode(), "sha256").digest())
        if not hmac.compare_digest(mac.encode(), good.encode()):
            return None
        try:
            claims: dict[str, Any] = json.loads(_unb64(body))
        except ValueError:
            return None
        return claims if claims.get("typ") == kind else None

    def _live(self, claims: dict[str, Any], not_before: datetime | None) -> bool:
        now = self.state.clock().timestamp()
        if not_before is not None and claims["iat"] <= not_before.timestamp():
            return False
        return bool(now < claims["exp"])

    def check(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        claims = self._claims("access", token) if scheme.lower() == "bearer" else None
        if claims is None or not self._live(claims, self.access_not_before):
            raise MEError(401, UNAUTHENTICATED)

    def refresh(self, form: dict[str, Any]) -> dict[str, Any]:
        cfg = self.state.config
        sent = f"{form.get('client_id')}:{form.get('client_secret')}"
        if not hmac.compare_digest(sent, f"{cfg.carrier_client_id}:{cfg.carrier_client_secret}"):
            raise MEError(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                    "message": "Client authentication failed",
                },
            )
        grant = form.get("grant_type")
        if grant != "refresh_token":
            raise MEError(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"The authorization grant type {grant!r} is not "
                    "supported by the authorization server.",
                    "message": "The authorization grant type is not supported.",
                },
            )
        token = str(form.get("refresh_token") or "")
        claims = self._claims("refresh", token)
        if claims is None:
            raise _invalid_refresh("Cannot decrypt the refresh token")
        if digest(token) in self.used:
            raise _invalid_refresh("Token has been revoked")
        if not self._live(claims, self.refresh_not_before):
            raise _invalid_refresh("Token has expired")
        self.used.add(digest(token))  # single use, whatever the client does next
        self.state.ledger.record(PROVIDER, "refresh_token_used", digest=digest(token))
        return {
            "token_type": "Bearer",
            "expires_in": int(cfg.carrier_token_ttl_s),
            "access_token": self._sign("access", cfg.carrier_token_ttl_s),
            "refresh_token": self._sign("refresh", cfg.carrier_refresh_ttl_s),
        }

    def expire(self, body: ExpireIn) -> None:
        now = self.state.clock()
        if body.access:
            self.access_not_before = now
        if body.refresh:
            self.refresh_not_before = now


def add_routes(router: APIRouter, admin: APIRouter, state: SandboxState) -> Any:
    """`POST /oauth/token` on `router`, `POST /admin/oauth/expire` on `admin`; returns
    the bearer dependency for the API routes."""
    auth = CarrierAuth.of(state)

    async def bearer(authorization: Annotated[str | None, Header()] = None) -> None:
        auth.check(authorization)

    @router.post("/oauth/token")
    async def token(request: Request) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        if request.headers.get("content-type", "").startswith("application/json"):
            form: dict[str, Any] = json.loads(await request.body() or b"{}")
        else:
            form = dict(await request.form())
        return auth.refresh(form)

    @admin.post("/oauth/expire")
    async def expire(body: ExpireIn) -> dict[str, bool]:
        auth.expire(body)
        return {"access": body.access, "refresh": body.refresh}

    return bearer
