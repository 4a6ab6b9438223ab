"""The freight hub's OAuth2 over real HTTP: expiring access tokens answered 401 the Melhor
Envio way, single-use refresh tokens, and the adapter renewing once, keeping the new pair
in the secrets file, never spending a refresh token twice, and asking ops to re-authorise
when the refresh token itself is refused."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import ProviderRejected
from domain.freight import Parcel, QuoteRequest
from integrations.carrier.client import REAUTHORISE
from integrations.carrier.tokens import FileTokenStore
from tests.support.sandbox import CARRIER_APP, CARRIER_REFRESH, TOKENS, World, sandbox_world

pytestmark = pytest.mark.integration

PARCEL = Parcel(weight_g=1200, height_cm=10, width_cm=20, length_cm=30, declared_value="150")
QUOTE = QuoteRequest(
    order_id="order:store:1", from_postal_code="01304001", to_postal_code="50050000", parcel=PARCEL
)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with sandbox_world(seed=3) as w:
        yield w


async def expire_tokens(world: World, *, refresh: bool = False) -> None:
    await world.admin("/carrier/admin/oauth/expire", {"access": True, "refresh": refresh})


async def refresh(world: World, token: str) -> tuple[int, dict[str, object]]:
    response = await world.http.post(
        f"{world.url}/carrier/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token, **CARRIER_APP},
    )
    return response.status_code, response.json()


async def test_an_expired_access_token_is_answered_401_unauthenticated(world: World) -> None:
    await expire_tokens(world)

    response = await world.http.get(
        f"{world.url}/carrier/api/v2/me/orders/search",
        params={"q": "x"},
        headers={"Authorization": f"Bearer {TOKENS['carrier']}"},
    )

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


async def test_a_refresh_token_works_once(world: World) -> None:
    status, first = await refresh(world, CARRIER_REFRESH)
    again, refused = await refresh(world, CARRIER_REFRESH)

    assert status == 200
    assert first["token_type"] == "Bearer"
    assert first["expires_in"] == 30 * 86400
    assert str(first["access_token"]).count(".") == 2  # a JWT, like Melhor Envio's
    assert again == 401
    assert refused["error"] == "invalid_request"
    assert refused["hint"] == "Token has been revoked"


async def test_adapter_renews_on_401_retries_and_keeps_the_pair_in_the_secrets_file(
    world: World, tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "secrets" / "carrier-oauth.json")
    client = world.carrier(store)
    await client.quote(QUOTE)
    await expire_tokens(world)

    quotes = await client.quote(QUOTE)

    assert quotes[0].price > Decimal("0")
    assert len(await world.ledger("refresh_token_used")) == 1
    stored = await store.load()
    assert stored is not None
    assert stored.access_token.get_secret_value() != TOKENS["carrier"]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    # A new process (worker restart) starts from the stored pair, not the spent one.
    await world.carrier(store).quote(QUOTE)
    assert len(await world.ledger("refresh_token_used")) == 1


async def test_concurrent_calls_after_expiry_refresh_once(world: World, tmp_path: Path) -> None:
    client = world.carrier(FileTokenStore(tmp_path / "carrier-oauth.json"))
    await client.quote(QUOTE)
    await expire_tokens(world)

    got = await asyncio.gather(*(client.quote(QUOTE) for _ in range(8)))

    assert all(quotes for quotes in got)
    assert len(await world.ledger("refresh_token_used")) == 1


async def test_a_pair_renewed_by_another_process_is_adopted_not_refreshed_again(
    world: World, tmp_path: Path
) -> None:
    path = tmp_path / "carrier-oauth.json"
    first, second = world.carrier(FileTokenStore(path)), world.carrier(FileTokenStore(path))
    await first.quote(QUOTE)
    await second.quote(QUOTE)  # both hold the configured access token in memory
    await expire_tokens(world)

    await first.quote(QUOTE)  # renews and stores
    await second.quote(QUOTE)  # 401 on its stale token: finds the stored pair

    assert len(await world.ledger("refresh_token_used")) == 1


async def test_a_refused_refresh_token_tells_ops_to_reauthorise(world: World) -> None:
    client = world.carrier()
    await expire_tokens(world, refresh=True)

    with pytest.raises(ProviderRejected) as err:
        await client.quote(QUOTE)

    assert err.value.code == REAUTHORISE
    assert "authorised again" in err.value.message
    assert "RETAGUARDA_SECRETS__CARRIER_REFRESH_TOKEN" in err.value.message
    assert CARRIER_REFRESH not in err.value.message
