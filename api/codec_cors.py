"""CORS for the remote codec, and only for it: the Temporal UI runs on its own origin and
calls `/codec/decode` from the browser, which first asks (a preflight) whether it may.
Only the configured UI origins get an answer that allows it (credentials included, so
a signed-in person's `rtg_codec` cookie goes along); any other origin gets a 403 and no
CORS headers, so a page elsewhere can neither send nor read."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATH = "/codec"
ALLOW_HEADERS = "content-type, x-namespace, authorization, x-api-key"


class CodecCors:
    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(o.rstrip("/") for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PATH or path.startswith(PATH + "/")):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        allowed = origin in self.origins
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(send, origin if allowed else None)
            return
        if origin and not allowed:
            await _plain(send, 403, b"this origin may not call the codec")
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed:
                message["headers"] = [*message.get("headers", []), *_cors(origin)]
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, send: Send, origin: str | None) -> None:
        if origin is None:
            await _plain(send, 403, b"this origin may not call the codec")
            return
        extra = [
            (b"access-control-allow-methods", b"POST, OPTIONS"),
            (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
        ]
        await send({"type": "http.response.start", "status": 204,
                    "headers": [*_cors(origin), *extra]})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})


def _cors(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"vary", b"Origin")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
