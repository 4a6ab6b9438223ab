"""The freight hub's OAuth2, as Melhor Envio does it: the access token (30 days) is
renewed with the refresh token (45 days, single use) when a call answers 401, and that
call is retried once.

The new pair is kept in the token store (a secrets file under the var dir,
`integrations/carrier/tokens.py`) before it is used; renewal is serialised (an asyncio
lock, and the store's own lock across processes), and a renewal that finds a pair
another one already stored adopts it instead of spending the refresh token twice. A
refresh token the carrier refuses (expired, already used, revoked) is a final
`ProviderRejected` (`carrier_reauthorise`) telling ops to authorise the app again.
Tokens never appear in an error message or a log line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from domain.errors import ProviderError, ProviderRejected
from integrations.carrier.tokens import MemoryTokenStore, TokenPair, TokenStore, origin_of
from integrations.http import read_model, send

PROVIDER = "carrier"
REAUTHORISE = "carrier_reauthorise"


class TokenOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str
    refresh_token: str
    expires_in: int | None = None


def reauthorise(why: str) -> ProviderError:
    return ProviderRejected(
        f"the carrier (Melhor Envio) needs the app authorised again: {why}. Authorise "
        "Retaguarda in the carrier's panel, set RETAGUARDA_SECRETS__CARRIER_API_TOKEN and "
        "RETAGUARDA_SECRETS__CARRIER_REFRESH_TOKEN to the new pair, restart the orders "
        "worker, then retry the step",
        provider=PROVIDER,
        code=REAUTHORISE,
    )


def _bearer(headers: dict[str, str], token: str) -> dict[str, str]:
    return {**headers, "Authorization": f"Bearer {token}"}


class CarrierOAuth:
    """Sends the adapter's requests with a bearer token it keeps fresh. `token` and
    `refresh_token` are the pair ops configured (the app's authorisation)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        token: str,
        *,
        refresh_token: str = "",
        client_id: str = "",
        client_secret: str = "",
        tokens: TokenStore | None = None,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._configured = TokenPair(
            access_token=SecretStr(token),
            refresh_token=SecretStr(refresh_token),
            origin=origin_of(token),
        )
        self._app = {"client_id": client_id, "client_secret": client_secret}
        self._tokens = tokens or MemoryTokenStore()
        self._pair: TokenPair | None = None
        self._lock = asyncio.Lock()

    async def _stored(self) -> TokenPair:
        """The stored pair when it descends from the configured one, else the configured
        (ops authorised the app again: the stored pair belongs to the old grant)."""
        stored = await self._tokens.load()
        if stored is not None and stored.origin == self._configured.origin:
            return stored
        return self._configured

    async def _access(self) -> str:
        if self._pair is None:
            self._pair = await self._stored()
        return self._pair.access_token.get_secret_value()

    async def _renew(self, stale: str) -> str:
        """A new pair for the access token `stale` the carrier refused, unless another
        call (in this process or another) already renewed it."""
        async with self._lock, self._tokens.exclusive():
            current = await self._stored()
            if current.access_token.get_secret_value() != stale:
                self._pair = current  # renewed meanwhile: its refresh token is not ours
                return current.access_token.get_secret_value()
            refresh = current.refresh_token.get_secret_value()
            if not refresh:
                raise reauthorise("its access token expired and no refresh token is set")
            form = {"grant_type": "refresh_token", "refresh_token": refresh, **self._app}
            sent_at = datetime.now(UTC)
            try:
                response = await send(
                    self._http,
                    PROVIDER,
                    "POST",
                    self._token_url,
                    data=form,
                    headers={"Accept": "application/json"},
                )
            except ProviderRejected as exc:
                raise reauthorise(f"it refused the refresh token ({exc.message})") from None
            got = read_model(response, TokenOut, PROVIDER)
            expires = timedelta(seconds=got.expires_in) if got.expires_in else None
            pair = TokenPair(
                access_token=SecretStr(got.access_token),
                refresh_token=SecretStr(got.refresh_token),
                origin=self._configured.origin,
                expires_at=sent_at + expires if expires else None,
                refreshed_at=sent_at,
            )
            await self._tokens.save(pair)  # kept before it is used: the old one is spent
            self._pair = pair
            return got.access_token

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call with the current access token; on 401 renew and retry once."""
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        token = await self._access()
        try:
            return await send(
                self._http, PROVIDER, method, url, headers=_bearer(headers, token), **kwargs
            )
        except ProviderRejected as exc:
            if exc.code != "http_401":
                raise
        token = await self._renew(token)
        try:
            return await send(
                self._http, PROVIDER, method, url, headers=_bearer(headers, token), **kwargs
            )
        except ProviderRejected as exc:
            if exc.code != "http_401":
                raise
            raise reauthorise("it refused the access token it had just renewed") from None
