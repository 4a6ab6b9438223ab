"""Hostile or careless input at the door gets a 4xx that says what was wrong, never a 500:
over real HTTP (uvicorn), with the API's JSON error shape."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from api.app import create_app
from config.settings import Settings
from db.api_keys import ApiKeyRepository, InvalidKeyName
from db.session import create_engine, create_sessionmaker
from retaguarda.cli import app as cli
from tests.integration.intake_support import STORE_ORDER, signed_headers, store_webhook
from tests.integration.test_intake import admin_key, make_settings
from tests.support.servers import serve

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(
    sqlite_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    settings = make_settings(sqlite_url, tmp_path)
    async with serve(create_app(settings, temporal_client=dev_env.client)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http, settings


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["message"]


async def test_a_signature_timestamp_with_a_non_ascii_digit_is_refused_with_401(api) -> None:
    http, settings = api
    body = store_webhook("8001", "evt-8001")
    mac = hmac.new(b"x", body, hashlib.sha256).hexdigest()
    for header in (b"t=\xb2,v1=" + mac.encode(), "t=١٧٣٢٧١٣٦٠٠,v1=ab".encode()):
        r = await http.post("/webhooks/store", content=body, headers=[(b"X-Signature", header)])
        status, error, message = error_of(r)
        assert (status, error) == (401, "signature_malformed")
        assert "t=<unix seconds>,v1=<64 hex digits>" in message


async def test_a_signed_body_nested_100000_levels_deep_is_refused_with_422(api) -> None:
    http, settings = api
    body = b'{"id":"deep","type":"order.created","data":' + b"[" * 100_000 + b"]" * 100_000
    body += b"}"
    r = await http.post("/webhooks/store", content=body, headers=signed_headers(settings, body))
    status, _, message = error_of(r)
    assert status == 422
    assert "nested too deeply" in message


async def test_a_body_over_the_size_limit_gets_413_and_is_not_stored(api) -> None:
    http, settings = api
    order = {**STORE_ORDER, "notes": "x" * (2 * 1024 * 1024)}
    body = json.dumps({"id": "big", "type": "order.created", "data": order}).encode()
    r = await http.post("/webhooks/store", content=body, headers=signed_headers(settings, body))
    status, error, message = error_of(r)
    assert (status, error) == (413, "body_too_large")
    assert f"at most {settings.api.max_body_bytes:,} bytes" in message

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    r = await http.post("/webhooks/store", content=chunks(), headers=signed_headers(settings, body))
    assert error_of(r)[:2] == (413, "body_too_large")
    counts = (await http.get("/ops/inbox", headers={"X-API-Key": admin_key(settings)})).json()
    assert sum(counts.values()) == 0


async def test_oversized_fields_are_refused_with_422_naming_the_field(api) -> None:
    http, settings = api
    long_name = {**STORE_ORDER["customer"], "name": "M" * 5000}
    cases = {
        "data.customer.name": store_webhook("8002", "evt-8002", customer=long_name),
        "id": store_webhook("8003", "e" * 300),
        "data.id": store_webhook("8" * 100, "evt-8004"),
        "data.cancel_reason": store_webhook("8005", "evt-8005", cancel_reason="r" * 600),
    }
    for field, body in cases.items():
        r = await http.post("/webhooks/store", content=body, headers=signed_headers(settings, body))
        assert r.status_code == 422, (field, r.text)
        assert r.json()["field"] == field
        assert "at most" in r.json()["message"] or "characters" in r.json()["message"]


async def test_orders_with_masked_phones_and_cpfs_are_accepted(api) -> None:
    http, settings = api
    for n, (phone, cpf) in enumerate(
        [
            ("(11) 98765-4321", "529.982.247-25"),
            ("+55 11 98765-4321", "529 982 247 25"),
            ("011 3456-7890", "52998224725"),
        ]
    ):
        customer = {**STORE_ORDER["customer"], "phone": phone, "cpf": cpf}
        body = store_webhook(f"810{n}", f"evt-810{n}", customer=customer)
        r = await http.post("/webhooks/store", content=body, headers=signed_headers(settings, body))
        assert r.status_code == 202, r.text
        entry = await http.get("/ops/inbox", headers={"X-API-Key": admin_key(settings)})
        assert entry.json()["quarantined"] == 0


async def test_a_sku_longer_than_the_catalogue_keeps_is_refused_with_422(api) -> None:
    http, settings = api
    product = {
        "name": "Caneca", "ncm": "69120000", "price": "39.90", "cost": "12.00",
        "weight_g": 300, "height_cm": 10, "width_cm": 8, "length_cm": 8,
    }  # fmt: skip
    r = await http.put(
        "/products/" + "S" * 61, json=product, headers={"X-API-Key": admin_key(settings)}
    )
    assert r.status_code == 422
    assert "60 characters" in r.json()["message"]


async def test_an_api_key_name_over_60_characters_is_refused_where_keys_are_made(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(sqlite_url)
    keys = ApiKeyRepository(create_sessionmaker(engine))
    with pytest.raises(InvalidKeyName, match="1 to 60 printable characters"):
        await keys.create("n" * 61, "ops")
    assert (await keys.create("  ops de plantão  ", "ops")).startswith("rtg_")
    await engine.dispose()

    monkeypatch.setenv("RETAGUARDA_DB__URL", sqlite_url)
    result = CliRunner().invoke(cli, ["apikey", "n" * 61, "--role", "ops"])
    assert result.exit_code == 2
    assert "1 to 60 printable characters" in result.output
    result = CliRunner().invoke(cli, ["apikey", "turno-da-noite", "--role", "chefe"])
    assert result.exit_code == 2
    assert "unknown role 'chefe'" in result.output
