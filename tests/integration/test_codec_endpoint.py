"""The remote codec endpoint decodes what the workers' codec encrypted."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from temporalio.api.common.v1 import Payload

from api.app import create_app
from config.settings import DatabaseSettings, Settings
from config.temporal import data_converter

pytestmark = pytest.mark.integration


async def test_encrypted_payload_decodes_to_the_customer_data(
    sqlite_url: str, tmp_path: Path
) -> None:
    converter = data_converter()
    [encrypted] = await converter.encode([{"customer": "Maria Souza", "cpf": "52998224725"}])
    assert b"Maria" not in encrypted.data
    body = {
        "payloads": [
            {
                "metadata": {
                    k: base64.b64encode(v).decode() for k, v in encrypted.metadata.items()
                },
                "data": base64.b64encode(encrypted.data).decode(),
            }
        ]
    }
    settings = Settings(var_dir=tmp_path, db=DatabaseSettings(url=sqlite_url))
    admin = {"X-API-Key": settings.secrets.bootstrap_admin_key.get_secret_value()}
    with TestClient(create_app(settings)) as client:
        decoded = client.post("/codec/decode", json=body, headers=admin)
        tampered = client.post(
            "/codec/decode",
            json={
                "payloads": [{**body["payloads"][0], "data": base64.b64encode(b"x" * 40).decode()}]
            },
            headers=admin,
        )
        anonymous = client.post("/codec/decode", json=body)
        bearer = client.post(
            "/codec/decode", json=body, headers={"Authorization": f"Bearer {admin['X-API-Key']}"}
        )
        ui = "http://127.0.0.1:8233"
        preflight = client.options(
            "/codec/decode",
            headers={"Origin": ui, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type,x-namespace"},
        )  # fmt: skip
        foreign = client.options(
            "/codec/decode",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        from_ui = client.post("/codec/decode", json=body, headers={"Origin": ui, **admin})
        from_elsewhere = client.post(
            "/codec/decode", json=body, headers={"Origin": "http://evil.example", **admin}
        )
    assert anonymous.status_code == 401
    assert bearer.status_code == 200
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ui
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in preflight.headers["access-control-allow-headers"]
    assert foreign.status_code == 403
    assert "access-control-allow-origin" not in foreign.headers
    assert from_ui.headers["access-control-allow-origin"] == ui
    assert from_elsewhere.status_code == 403
    assert decoded.status_code == 200
    payload = Payload(data=base64.b64decode(decoded.json()["payloads"][0]["data"]))
    assert json.loads(payload.data) == {"customer": "Maria Souza", "cpf": "52998224725"}
    assert tampered.status_code == 422
    assert "not encrypted with this server's key" in tampered.json()["message"]
