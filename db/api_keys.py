"""API keys: stored as SHA-256 hex digests; the plaintext is shown once, at creation."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ApiKeyRow
from db.session import dialect_insert, read_session
from db.types import utcnow
from domain.errors import DomainError

KEY_PREFIX = "rtg_"
NAME_MAX = 60  # api_keys.name, and audit_log.actor where the name is written


class InvalidKeyName(DomainError):
    """An API key's name must fit where it is stored (the audit log's actor, too)."""


def checked_name(name: str) -> str:
    """The name as stored: stripped, 1 to 60 printable characters."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > NAME_MAX or not cleaned.isprintable():
        raise InvalidKeyName(
            f"an API key name must be 1 to {NAME_MAX} printable characters (it is written "
            f"as the actor of every audited action); {name[:80]!r} has {len(cleaned)}",
            code="invalid_key_name",
        )
    return cleaned


class ApiRole(StrEnum):
    ADMIN = "admin"
    OPS = "ops"
    WAREHOUSE = "warehouse"
    FINANCE = "finance"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    name: str
    role: ApiRole


def hash_key(plain_key: str) -> str:
    return hashlib.sha256(plain_key.encode()).hexdigest()


class ApiKeyRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def create(self, name: str, role: ApiRole | str) -> str:
        """A new key for ``name``; returns the plaintext, which is not stored."""
        name = checked_name(name)
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        await self.ensure(plain, name, role)
        return plain

    async def ensure(self, plain_key: str, name: str, role: ApiRole | str) -> ApiPrincipal:
        """Register a known key (bootstrap from settings); repeating changes nothing, and a
        key that exists keeps its first name and role."""
        name = checked_name(name)
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, ApiKeyRow)
                .values(
                    name=name,
                    role=ApiRole(role).value,
                    key_hash=hash_key(plain_key),
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["key_hash"])
            )
            row = (
                await s.execute(
                    select(ApiKeyRow.name, ApiKeyRow.role).where(
                        ApiKeyRow.key_hash == hash_key(plain_key)
                    )
                )
            ).one()
            await s.commit()
        return ApiPrincipal(name=row.name, role=ApiRole(row.role))

    async def authenticate(self, plain_key: str) -> ApiPrincipal | None:
        """The principal for a valid, unrevoked key; None otherwise."""
        async with read_session(self._sessionmaker) as s:
            row = (
                await s.execute(
                    select(ApiKeyRow.name, ApiKeyRow.role).where(
                        ApiKeyRow.key_hash == hash_key(plain_key), ApiKeyRow.revoked_at.is_(None)
                    )
                )
            ).one_or_none()
        return None if row is None else ApiPrincipal(name=row.name, role=ApiRole(row.role))

    async def revoke(self, name: str) -> int:
        """Revoke every active key of ``name``; returns how many were revoked."""
        async with self._sessionmaker() as s:
            revoked = (
                await s.execute(
                    update(ApiKeyRow)
                    .where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                    .returning(ApiKeyRow.id)
                )
            ).all()
            await s.commit()
        return len(revoked)
