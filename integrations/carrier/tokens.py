"""Where the freight hub's OAuth2 pair lives between processes and restarts.

Melhor Envio's access token lasts 30 days and its refresh token 45, and a refresh token
works once: the pair a refresh returns must be kept before it is used, or the next
process starts from a pair that no longer exists. `FileTokenStore` keeps it in a secrets
file under the var dir (mode 0600, written whole and renamed into place), with a lock
file so two worker processes sharing the var dir do not refresh at the same time. The
pair is never logged and never enters a workflow's history: only the adapter reads it.

A pair remembers which configured access token it descends from (`origin`, a digest):
when ops re-authorise the app and configure a new pair, the stored one is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError


def origin_of(configured_access_token: str) -> str:
    return hashlib.sha256(configured_access_token.encode()).hexdigest()[:16]


class TokenPair(BaseModel):
    model_config = ConfigDict(frozen=True)

    access_token: SecretStr
    refresh_token: SecretStr
    origin: str
    expires_at: datetime | None = None
    refreshed_at: datetime | None = None


class TokenStore(Protocol):
    async def load(self) -> TokenPair | None: ...

    async def save(self, pair: TokenPair) -> None: ...

    def exclusive(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held while a refresh is under way (across processes where it can be)."""
        ...


class MemoryTokenStore:
    """One process, nothing kept: tests, and a client built without a var dir."""

    def __init__(self) -> None:
        self.pair: TokenPair | None = None
        self.saves = 0

    async def load(self) -> TokenPair | None:
        return self.pair

    async def save(self, pair: TokenPair) -> None:
        self.pair, self.saves = pair, self.saves + 1

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        yield


class FileTokenStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> TokenPair | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            stored = TokenPair.model_validate_json(raw)
        except ValidationError:
            return None  # unreadable: the configured pair is used (and replaces it)
        return stored

    def _write(self, pair: TokenPair) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = pair.model_dump(mode="json")  # SecretStr dumps masked: write the values
        data["access_token"] = pair.access_token.get_secret_value()
        data["refresh_token"] = pair.refresh_token.get_secret_value()
        body = json.dumps(data)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    async def load(self) -> TokenPair | None:
        return await asyncio.to_thread(self._read)

    async def save(self, pair: TokenPair) -> None:
        await asyncio.to_thread(self._write, pair)

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = self.path.with_suffix(".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
