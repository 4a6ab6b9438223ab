"""The webhook path answered before routing: `POST /webhooks/{source}` is the busiest
request the API gets (a Black Friday burst is hundreds a second), and FastAPI's routing,
dependency resolution and exception middleware cost it more CPU than the intake itself
(docs/BENCHMARKS.md, "Intake"). This ASGI middleware reads the body, hands it to the
same `Intake.receive` and answers with the same bodies the documented route
(api/routes/webhooks.py) and the error tree (api/errors.py) give; anything else passes
through. It sits inside the body size limit, so a body too large is refused first."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api.context import ApiContext
from api.errors import error_body
from api.routes.webhooks import answer
from domain.errors import RetaguardaError

PREFIX = "/webhooks/"


class WebhookDoor:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not path.startswith(PREFIX)
            or "/" in path[len(PREFIX) :]
            or len(path) == len(PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        ctx: ApiContext = scope["app"].state.ctx
        body = await _body(receive)
        if body is None:
            return  # the client went away
        signature = request_id = None
        for key, value in scope["headers"]:
            if key == b"x-signature":
                signature = value.decode("latin-1")
            elif key == b"x-request-id":
                request_id = value.decode("latin-1")
        try:
            result = await ctx.intake.receive(
                path[len(PREFIX) :], body, signature, {"x-request-id": request_id}
            )
        except RetaguardaError as exc:
            status, payload, extra = error_body(exc)
            await _respond(send, status, json.dumps(payload).encode(), extra)
            return
        status, content = answer(result)
        await _respond(send, status, content)


async def _body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(
    send: Send, status: int, body: bytes, extra: dict[str, str] | None = None
) -> None:
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
