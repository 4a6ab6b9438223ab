"""CPU per webhook on the request path, in process (no HTTP, no Temporal, relay off), for
the variants the intake went through; method and figures in docs/BENCHMARKS.md, "Intake".

    .venv/bin/python scripts/bench_request_path.py [--requests 3000] [--concurrency 20]
        [--repeat 3]

Variants (one app, one migrated SQLite file each run):
- lean: the route as shipped (reads its header and context itself, encodes its answer,
  inbox inserts group-committed);
- fastapi-deps: the route as it was before (Header and Depends parameters, a sync
  context dependency, which FastAPI runs in its thread pool, a response model);
- fastapi-deps, no group commit: the same, and one ORM transaction per webhook.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from validate_docbr import CPF

from api.app import create_app, webhook_secrets
from api.context import ApiContext
from api.intake import Intake
from api.routes.webhooks import WebhookAccepted
from config.settings import DatabaseSettings, IntakeSettings, Settings, TemporalSettings
from db.inbox import InboxRepository
from db.inbox_writer import InboxWriter
from db.migrate import upgrade
from retaguarda.bench.loadgen import store_webhook
from sandbox.core import sign


def context(request: Request) -> ApiContext:  # sync on purpose: as the old dependency
    ctx: ApiContext = request.app.state.ctx
    return ctx


def old_style_routes(app: FastAPI, unbatched: Intake) -> None:
    router = APIRouter()

    async def handle(
        intake: Intake,
        source: str,
        request: Request,
        response: Response,
        x_signature: str | None,
    ) -> WebhookAccepted:
        result = await intake.receive(source, await request.body(), x_signature)
        if result.status == "ignored":
            response.status_code = 200
        return WebhookAccepted(
            status=result.status,
            inbox_id=result.inbox_id,
            workflow_id=result.workflow_id,
            detail=result.detail,
        )

    @router.post("/deps/{source}", status_code=202, response_model=WebhookAccepted)
    async def with_deps(
        source: str,
        request: Request,
        response: Response,
        ctx: Annotated[ApiContext, Depends(context)],
        x_signature: Annotated[str | None, Header()] = None,
    ) -> WebhookAccepted:
        return await handle(ctx.intake, source, request, response, x_signature)

    @router.post("/deps-unbatched/{source}", status_code=202, response_model=WebhookAccepted)
    async def unbatched_route(
        source: str,
        request: Request,
        response: Response,
        ctx: Annotated[ApiContext, Depends(context)],
        x_signature: Annotated[str | None, Header()] = None,
    ) -> WebhookAccepted:
        return await handle(unbatched, source, request, response, x_signature)

    app.include_router(router)


async def run(path: str, requests: int, concurrency: int) -> tuple[float, float]:
    var_dir = Path(tempfile.mkdtemp(prefix="retaguarda-request-path-"))
    url = f"sqlite+aiosqlite:///{var_dir / 'retaguarda.db'}"
    await upgrade(url)
    settings = Settings(
        var_dir=var_dir,
        db=DatabaseSettings(url=url),
        intake=IntakeSettings(relay=False),
        temporal=TemporalSettings(address="127.0.0.1:1"),
    )
    app = create_app(settings)
    ctx: ApiContext = app.state.ctx
    unbatched = Intake(
        cast(InboxWriter, InboxRepository(ctx.sessionmaker)),
        ctx.quarantine,
        webhook_secrets(settings),
        settings.durations.webhook_tolerance_s,
    )
    old_style_routes(app, unbatched)
    secret = settings.secrets.store_webhook_secret.get_secret_value()
    bodies = [store_webhook("p", i, CPF().generate(mask=True)) for i in range(requests + 1)]
    statuses: dict[int, int] = {}

    async def one(index: int) -> None:
        body = bodies[index]
        headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-signature", sign(secret, body).encode()),
        ]
        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
        }  # fmt: skip
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    gate = asyncio.Semaphore(concurrency)

    async def gated(index: int) -> None:
        async with gate:
            await one(index)

    await one(0)  # warm: compile caches, first connection
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.gather(*(gated(i) for i in range(1, requests + 1)))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    assert statuses.get(202, 0) == requests + 1, statuses
    await ctx.engine.dispose()
    return cpu / requests * 1e6, requests / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    variants = {
        "lean": "/webhooks/store",
        "fastapi-deps": "/deps/store",
        "fastapi-deps, no group commit": "/deps-unbatched/store",
    }
    results = {}
    for name, path in variants.items():
        runs = [asyncio.run(run(path, args.requests, args.concurrency)) for _ in range(args.repeat)]
        results[name] = {
            "cpu_us_per_request": round(statistics.median(r[0] for r in runs)),
            "requests_per_s": round(statistics.median(r[1] for r in runs)),
            "runs": [[round(c), round(w)] for c, w in runs],
        }
    sys.stdout.write(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
