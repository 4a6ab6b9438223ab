"""Property: no request the OpenAPI schema allows (or nearly allows) makes the API answer
500. Every bad input gets a 4xx a person can act on; Temporal being unreachable is a 503
with Retry-After, never a crash. Runs the real app on a migrated SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Err
from starlette.testclient import TestClient

from api.app import create_app
from config.settings import DatabaseSettings, Settings, TemporalSettings
from db.migrate import upgrade_sync
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var_dir: Path = tmp_path_factory.mktemp("schema")
    url = f"sqlite+aiosqlite:///{var_dir / 'retaguarda.db'}"
    upgrade_sync(url)
    # nothing listens there: every Temporal call must degrade, not crash
    return Settings(
        var_dir=var_dir,
        db=DatabaseSettings(url=url),
        temporal=TemporalSettings(address=f"127.0.0.1:{free_port()}"),
    )


@pytest.fixture(scope="module")
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, relay_interval_s=30)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def api_schema(client: TestClient) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(client.get("/openapi.json").json())


def operations(api_schema: schemathesis.BaseSchema) -> list[Any]:
    found = []
    for result in api_schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"the OpenAPI document is invalid: {result.err()}")
        found.append(result.ok())
    return found


def test_no_request_makes_the_api_fail_with_a_500(
    client: TestClient, api_schema: schemathesis.BaseSchema, api_settings: Settings
) -> None:
    key = api_settings.secrets.bootstrap_admin_key.get_secret_value()
    checked = []
    for operation in operations(api_schema):

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            kwargs = case.as_transport_kwargs(headers={"X-API-Key": key})
            kwargs.pop("base_url", None)
            kwargs.pop("cookies", None)  # the JSON API uses none
            response = client.request(**kwargs)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500 or response.status_code == 503, (
                f"{where} -> {response.status_code}: {response.text[:500]}"
            )
            if response.status_code >= 400:
                body = response.json()
                assert body.get("message") or body.get("detail"), f"{where}: {body}"

        call()
        checked.append(operation.label)
    assert len(checked) >= 15, checked


async def test_unknown_routes_answer_in_the_apis_error_shape(tmp_path):
    import httpx

    from api.app import create_app
    from config.settings import DatabaseSettings, Settings

    settings = Settings(
        var_dir=tmp_path, db=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    )
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        missing = await http.get("/no/such/thing")
        wrong_method = await http.delete("/health")

    assert missing.status_code == 404
    assert missing.json() == {
        "error": "NotFound",
        "message": "no such resource: GET /no/such/thing (see /docs)",
    }
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "MethodNotAllowed"
