"""API keys (hashed, revocable) and the audit log."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db.api_keys import ApiKeyRepository, ApiPrincipal, ApiRole
from db.audit import AuditLog
from db.models import ApiKeyRow

pytestmark = pytest.mark.integration


async def test_a_key_is_stored_hashed_and_authenticates_until_revoked(sessionmaker) -> None:
    keys = ApiKeyRepository(sessionmaker)
    plain = await keys.create("robot", ApiRole.WAREHOUSE)

    async with sessionmaker() as s:
        stored = list(await s.scalars(select(ApiKeyRow.key_hash)))
    assert stored == [hashlib.sha256(plain.encode()).hexdigest()]
    assert await keys.authenticate(plain) == ApiPrincipal("robot", ApiRole.WAREHOUSE)
    assert await keys.authenticate(plain + "x") is None

    assert await keys.revoke("robot") == 1
    assert await keys.revoke("robot") == 0
    assert await keys.authenticate(plain) is None


async def test_bootstrapping_a_known_key_twice_creates_it_once(sessionmaker) -> None:
    keys = ApiKeyRepository(sessionmaker)
    first = await keys.ensure("dev-admin-key", "admin", "admin")
    again = await keys.ensure("dev-admin-key", "someone-else", "viewer")
    assert first == again == ApiPrincipal("admin", ApiRole.ADMIN)
    async with sessionmaker() as s:
        assert len(list(await s.scalars(select(ApiKeyRow.id)))) == 1


async def test_audit_entries_are_listed_newest_first_and_keyed_ones_stored_once(
    sessionmaker,
) -> None:
    audit = AuditLog(sessionmaker)
    t0 = datetime(2024, 11, 29, 12, 0, tzinfo=UTC)
    first = await audit.record("ana", "retry", "order:store:1", {"step": "invoice"}, t0, key="d1")
    again = await audit.record("ana", "retry", "order:store:1", {"step": "invoice"}, t0, key="d1")
    await audit.record("bob", "skip", "order:store:1", None, t0 + timedelta(minutes=1))
    await audit.record("bob", "create_api_key", details={"name": "robot"})

    assert first == again
    entries = await audit.list(order_id="order:store:1")
    assert [(e.actor, e.action) for e in entries] == [("bob", "skip"), ("ana", "retry")]
    assert entries[1].details == {"step": "invoice"}
    assert entries[1].at == t0
    assert len(await audit.list()) == 3
