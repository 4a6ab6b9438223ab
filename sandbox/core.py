"""The sandbox's spine: seeded fault injection, the ledger of effects, webhook delivery.

The sandbox is the simulated outside world. It imports nothing of Retaguarda's own
packages: it speaks HTTP like the real providers do, so tests that pass against it prove
the adapters, not a shortcut.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

PROVIDERS = ("store", "marketplace", "payments", "sefaz", "carrier", "bank")
SIGNATURE_HEADER = "X-Signature"  # "t=<unix seconds>,v1=<hex hmac-sha256 of '<t>.<raw body>'>"


class FaultConfig(BaseModel):
    """Probabilities per request (0..1) and latency, for one provider."""

    error_rate: float = Field(default=0.0, ge=0, le=1, description="503 before the effect")
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1, description="429 + Retry-After")
    lost_response_rate: float = Field(
        default=0.0, ge=0, le=1, description="the effect happens, the response is lost (504)"
    )
    latency_ms: int = Field(default=0, ge=0, le=60_000, description="max extra latency")
    duplicate_webhook_rate: float = Field(default=0.0, ge=0, le=1)
    reorder_webhook_rate: float = Field(default=0.0, ge=0, le=1)

    @classmethod
    def from_rate(cls, rate: float) -> FaultConfig:
        """One knob for demos: every transient kind of fault at about `rate` in total."""
        return cls(
            error_rate=rate * 0.4,
            rate_limit_rate=rate * 0.2,
            lost_response_rate=rate * 0.4,
            latency_ms=int(rate * 400),
            duplicate_webhook_rate=rate,
            reorder_webhook_rate=rate,
        )


class SandboxConfig(BaseModel):
    seed: int = 42
    fault_rate: float = Field(default=0.0, ge=0, le=1)
    faults: dict[str, FaultConfig] = Field(default_factory=dict)
    webhook_target: str = "http://127.0.0.1:8000/webhooks"
    webhook_secrets: dict[str, str] = Field(default_factory=dict)  # provider -> secret
    api_tokens: dict[str, str] = Field(default_factory=dict)  # provider -> bearer token
    marketplace_client_id: str = "retaguarda-dev"
    marketplace_client_secret: str = "dev-only-change-me-ml-secret"
    marketplace_token_ttl_s: float = 6 * 3600
    carrier_step_s: float = 2.0  # seconds between tracking states
    # The freight hub's app (Melhor Envio-like OAuth2): the first pair is api_tokens
    # ["carrier"] and carrier_refresh_token; access tokens live 30 days, refresh 45.
    carrier_client_id: str = "retaguarda-dev"
    carrier_client_secret: str = "dev-only-change-me-carrier-secret"
    carrier_refresh_token: str = ""
    carrier_token_ttl_s: float = Field(default=30 * 86400, gt=0)
    carrier_refresh_ttl_s: float = Field(default=45 * 86400, gt=0)
    carrier_cart_ttl_s: float = Field(default=7 * 86400, gt=0)  # a cart item not checked out
    portal_username: str = "retaguarda"  # the carrier portal's one account
    portal_password: str = "dev-only-change-me-portal"
    seller_username: str = "retaguarda-vendas"  # the marketplace's seller centre account
    seller_password: str = "dev-only-change-me-seller"
    # The marketplace's sales released only on its seller centre (not in the gateway's
    # API report): a channel whose settlement the bot must fetch.
    marketplace_report_on_portal_only: bool = False
    timezone: str = "UTC"  # where the payment provider's report days begin and end
    release_days: int = Field(default=0, ge=0, le=60)  # payment approved -> money released
    ledger_path: Path | None = None

    def fault_config(self, provider: str) -> FaultConfig:
        return self.faults.get(provider) or FaultConfig.from_rate(self.fault_rate)


class InjectedFault(Exception):
    """Raised inside a provider route; the app renders it as the HTTP response."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class Faults:
    """Seeded fault injection, one RNG per provider so providers do not perturb each
    other's sequence. Counts what it injected (the demo summary reports it)."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._overrides: dict[str, FaultConfig] = {}
        self._rngs = {p: random.Random(f"{config.seed}:{p}") for p in PROVIDERS}
        self.injected: Counter[str] = Counter()

    def config_for(self, provider: str) -> FaultConfig:
        return self._overrides.get(provider) or self._config.fault_config(provider)

    def set(self, provider: str, config: FaultConfig) -> None:
        self._overrides[provider] = config

    def rng(self, provider: str) -> random.Random:
        return self._rngs.setdefault(provider, random.Random(f"{self._config.seed}:{provider}"))

    async def before(self, provider: str) -> None:
        """Call before a provider performs an effect: latency, 503 or 429."""
        cfg, rng = self.config_for(provider), self.rng(provider)
        if cfg.latency_ms:
            await asyncio.sleep(rng.uniform(0, cfg.latency_ms) / 1000)
        roll = rng.random()
        if roll < cfg.error_rate:
            self.injected[f"{provider}.error"] += 1
            raise InjectedFault(503, f"{provider}: service temporarily unavailable (injected)")
        if roll < cfg.error_rate + cfg.rate_limit_rate:
            self.injected[f"{provider}.rate_limited"] += 1
            raise InjectedFault(
                429, f"{provider}: too many requests (injected)", {"Retry-After": "1"}
            )

    def after(self, provider: str) -> None:
        """Call after the effect happened: maybe lose the response (504)."""
        cfg, rng = self.config_for(provider), self.rng(provider)
        if rng.random() < cfg.lost_response_rate:
            self.injected[f"{provider}.lost_response"] += 1
            raise InjectedFault(504, f"{provider}: upstream timed out (injected, effect done)")

    def roll(self, provider: str, rate: float) -> bool:
        return self.rng(provider).random() < rate


class Ledger:
    """Append-only record of every effect the outside world saw (JSON lines on disk), so
    `retaguarda audit` can prove exactly-once effects after the stack has stopped."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self.entries: list[dict[str, Any]] = []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                self.entries = read_ledger(path)

    def record(self, provider: str, kind: str, **data: Any) -> dict[str, Any]:
        entry = {"at": datetime.now(UTC).isoformat(), "provider": provider, "kind": kind, **data}
        self.entries.append(entry)
        if self._path is not None:
            with self._path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, default=str) + "\n")
        return entry

    def find(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.entries
            if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())
        ]


def read_ledger(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def sign_mercadopago(
    secret: str, payload: dict[str, Any], timestamp: int | None = None
) -> dict[str, str]:
    """Mercado Pago's headers: `x-request-id` (fresh per delivery) and `x-signature:
    ts=<unix>,v1=<hex>`, the HMAC-SHA256 of `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`
    (an alphanumeric data.id lowercased)."""
    ts = int(time.time()) if timestamp is None else timestamp
    request_id = str(uuid.uuid4())
    data_id = str(payload.get("data", {}).get("id", ""))
    if data_id.isalnum():
        data_id = data_id.lower()
    manifest = f"id:{data_id};request-id:{request_id};ts:{ts};"
    mac = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return {"x-request-id": request_id, "x-signature": f"ts={ts},v1={mac}"}


HeaderSigner = Callable[[str, dict[str, Any]], dict[str, str]]


class WebhookSender:
    """Delivers webhooks like real providers do: signed, retried with backoff while the
    receiver fails, and, under fault injection, sometimes twice or late (reordered)."""

    def __init__(
        self, config: SandboxConfig, faults: Faults, client: httpx.AsyncClient | None = None
    ) -> None:
        self._config = config
        self._faults = faults
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._tasks: set[asyncio.Task[None]] = set()
        self.delivered: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        # Providers that sign their own way (the rest: X-Signature over the raw body).
        self.signers: dict[str, HeaderSigner] = {}

    def send(self, provider: str, payload: dict[str, Any], *, delay_s: float = 0.0) -> None:
        """Schedule delivery of `payload` to `<webhook_target>/<provider>`; returns at once."""
        cfg = self._faults.config_for(provider)
        copies = 2 if self._faults.roll(provider, cfg.duplicate_webhook_rate) else 1
        if copies == 2:
            self._faults.injected[f"{provider}.duplicate_webhook"] += 1
        for copy in range(copies):
            extra = 0.0
            if self._faults.roll(provider, cfg.reorder_webhook_rate):
                self._faults.injected[f"{provider}.reordered_webhook"] += 1
                extra = self._faults.rng(provider).uniform(0.2, 1.5)
            task = asyncio.create_task(self._deliver(provider, payload, delay_s + extra + copy))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, provider: str, payload: dict[str, Any], delay_s: float) -> None:
        if delay_s:
            await asyncio.sleep(delay_s)
        body = json.dumps(payload, default=str).encode()
        url = f"{self._config.webhook_target.rstrip('/')}/{provider}"
        secret = self._config.webhook_secrets.get(provider, "")
        backoff = 0.5
        for _attempt in range(12):
            signer = self.signers.get(provider)
            signed = signer(secret, payload) if signer else {SIGNATURE_HEADER: sign(secret, body)}
            headers = {"Content-Type": "application/json", **signed}
            try:
                response = await self._client.post(url, content=body, headers=headers)
                if response.status_code < 300:
                    self.delivered[provider] += 1
                    return
                if 400 <= response.status_code < 500 and response.status_code != 429:
                    break  # the receiver refused it for good: real providers give up too
            except httpx.HTTPError:
                pass
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
        self.failed[provider] += 1

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._client.aclose()


class SandboxState:
    """Everything the provider routers share. Each provider keeps its own data in
    `self.data[provider]`."""

    def __init__(self, config: SandboxConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.faults = Faults(config)
        self.ledger = Ledger(config.ledger_path)
        self.webhooks = WebhookSender(config, self.faults, client)
        self.data: dict[str, dict[str, Any]] = {p: {} for p in PROVIDERS}
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
