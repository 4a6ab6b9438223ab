"""The API serves an order's NF-e documents to every role, with their media types, and
answers 404 in the error shape for anything else: unknown names, unknown orders, and
paths that try to leave the document store. The real app on a migrated SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from config.settings import DatabaseSettings, Settings, TemporalSettings
from db.api_keys import ApiKeyRepository, ApiRole
from db.orders import OrderReadModel
from db.session import create_engine, create_sessionmaker
from integrations.documents.store import FileDocumentStore, danfe_pdf, event_xml, nfe_xml
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

KEY = "35261111222333000181550010000000011724612128"
ORDER = "order:store:D-1"
XML = b'<?xml version="1.0" encoding="UTF-8"?><nfeProc/>'
PDF = b"%PDF-1.4 danfe"
EVENT = b'<?xml version="1.0" encoding="UTF-8"?><procEventoNFe/>'


@dataclass
class Api:
    client: TestClient
    keys: dict[ApiRole, str]
    settings: Settings


@pytest.fixture
async def api(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(
        var_dir=tmp_path,
        db=DatabaseSettings(url=sqlite_url),
        temporal=TemporalSettings(address=f"127.0.0.1:{free_port()}"),  # nobody there
    )
    engine = create_engine(sqlite_url)
    try:
        sessions = create_sessionmaker(engine)
        repo = ApiKeyRepository(sessions)
        keys = {role: await repo.create(f"k-{role.value}", role) for role in ApiRole}
        at = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
        orders = OrderReadModel(sessions)
        await orders.upsert(ORDER, "store", "D-1", at=at, invoice_key=KEY)
        await orders.upsert("order:store:D-2", "store", "D-2", at=at)
    finally:
        await engine.dispose()
    store = FileDocumentStore(settings.documents_dir)
    await store.put(nfe_xml(KEY), XML)
    await store.put(danfe_pdf(KEY), PDF)
    await store.put(event_xml(KEY, "110111", 1), EVENT)
    (tmp_path / "secret.txt").write_text("not a document")
    with TestClient(create_app(settings, relay_interval_s=30)) as client:
        yield Api(client, keys, settings)


@pytest.mark.parametrize("role", list(ApiRole))
def test_every_role_lists_the_orders_documents_and_prints_the_danfe(
    api: Api, role: ApiRole
) -> None:
    headers = {"X-API-Key": api.keys[role]}

    listed = api.client.get(f"/orders/{ORDER}/documents", headers=headers)
    danfe = api.client.get(f"/documents/nfe/{KEY}-danfe.pdf", headers=headers)

    assert listed.status_code == 200, listed.text
    assert [(d["kind"], d["name"], d["size"], d["url"]) for d in listed.json()] == [
        ("procNFe", f"nfe/{KEY}-procNFe.xml", len(XML), f"/documents/nfe/{KEY}-procNFe.xml"),
        ("danfe", f"nfe/{KEY}-danfe.pdf", len(PDF), f"/documents/nfe/{KEY}-danfe.pdf"),
        (
            "procEventoNFe",
            f"events/{KEY}-110111-1-procEventoNFe.xml",
            len(EVENT),
            f"/documents/events/{KEY}-110111-1-procEventoNFe.xml",
        ),
    ]
    assert danfe.status_code == 200
    assert danfe.headers["content-type"] == "application/pdf"
    assert danfe.headers["content-disposition"] == f'inline; filename="{KEY}-danfe.pdf"'
    assert danfe.content == PDF


def test_the_xml_documents_are_served_as_xml_attachments(api: Api) -> None:
    headers = {"X-API-Key": api.keys[ApiRole.FINANCE]}
    for url, body in [
        (f"/documents/nfe/{KEY}-procNFe.xml", XML),
        (f"/documents/events/{KEY}-110111-1-procEventoNFe.xml", EVENT),
    ]:
        r = api.client.get(url, headers=headers)
        assert r.status_code == 200, url
        assert r.headers["content-type"] == "application/xml"
        assert r.headers["content-disposition"].startswith("attachment; filename=")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]
        assert r.content == body


def test_documents_need_an_api_key(api: Api) -> None:
    for headers in ({}, {"X-API-Key": "not-a-key"}):
        listed = api.client.get(f"/orders/{ORDER}/documents", headers=headers)
        danfe = api.client.get(f"/documents/nfe/{KEY}-danfe.pdf", headers=headers)
        assert (listed.status_code, danfe.status_code) == (401, 401)
        assert listed.json()["error"] == "Unauthorized"


def test_an_order_without_an_nfe_has_no_documents_and_an_unknown_order_is_a_404(
    api: Api,
) -> None:
    headers = {"X-API-Key": api.keys[ApiRole.VIEWER]}

    none_yet = api.client.get("/orders/order:store:D-2/documents", headers=headers)
    unknown = api.client.get("/orders/order:store:nope/documents", headers=headers)

    assert (none_yet.status_code, none_yet.json()) == (200, [])
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "NotFound"


@pytest.mark.parametrize(
    "path",
    [
        f"/documents/nfe/{KEY[:-1]}9-danfe.pdf",  # a valid name, no such document
        f"/documents/events/{KEY}-110110-1-procEventoNFe.xml",
        "/documents/nfe/..%2F..%2Fsecret.txt",
        "/documents/nfe/%2E%2E/%2E%2E/secret.txt",
        "/documents/..%2Fsecret.txt",
        "/documents/%2Fetc%2Fpasswd",
        f"/documents/nfe/{KEY}-procNFe.xml%00.pdf",
        f"/documents/nfe/{KEY}-procNFe.xml/..",
        "/documents/retaguarda.db",
        "/documents/",
    ],
)
def test_anything_but_a_stored_document_is_a_404_in_the_error_shape(api: Api, path: str) -> None:
    r = api.client.get(path, headers={"X-API-Key": api.keys[ApiRole.ADMIN]})

    assert r.status_code == 404, (path, r.text)
    body = r.json()
    assert body["error"] == "NotFound"
    assert body["message"]
    assert "not a document" not in r.text


def test_the_console_serves_the_documents_to_a_signed_in_person(api: Api) -> None:
    client = api.client
    signed_out = client.get(f"/console/documents/nfe/{KEY}-danfe.pdf", follow_redirects=False)
    client.cookies.set("rtg_console", api.keys[ApiRole.WAREHOUSE])
    try:
        danfe = client.get(f"/console/documents/nfe/{KEY}-danfe.pdf")
        page = client.get(f"/console/orders/{ORDER}")
        missing = client.get("/console/documents/nfe/..%2F..%2Fsecret.txt")
    finally:
        client.cookies.clear()

    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/console/login?next=")
    assert (danfe.status_code, danfe.headers["content-type"]) == (200, "application/pdf")
    assert danfe.content == PDF
    assert page.status_code == 200
    assert f'href="/console/documents/nfe/{KEY}-danfe.pdf"' in page.text
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert "not a document" not in missing.text
