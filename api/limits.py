"""Request size limit, as plain ASGI middleware (cheap on the webhook path): a body
declared larger than the limit is refused with 413 before it is read; a chunked body
that grows past it is cut off and answered 413 the same way. The JSON body has the
shape of api/errors.py (FastAPI's own `max_body_size` answers {"detail": "Content Too
Large"} and wraps every request's receive; this one only watches bodies without a
Content-Length)."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_MAX = 16 * 1024 * 1024  # beyond this a refused upload is cut off, not read


def too_large_body(limit: int, size: int | None) -> bytes:
    sent = f"{size:,} bytes" if size is not None else "more than that"
    return json.dumps(
        {
            "error": "body_too_large",
            "message": f"the request body is too large: at most {limit:,} bytes are accepted, "
            f"this one is {sent}",
        }
    ).encode()


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                await self._drain(receive, declared)
                await _refuse(send, too_large_body(self.max_bytes, declared))
                return
            # The server never hands over more than Content-Length: nothing to watch.
            await self.app(scope, receive, send)
            return
        await self._watched(scope, receive, send)

    async def _watched(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        exceeded = False
        answered = False

        async def limited() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal answered
            if exceeded:
                return  # the app's own answer to the cut-off body is replaced below
            answered = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not exceeded or answered:
                raise
        if exceeded and not answered:
            await self._drain(receive, None)
            await _refuse(send, too_large_body(self.max_bytes, None))

    async def _drain(self, receive: Receive, declared: int | None) -> None:
        """Read (and drop) what the client is still sending, up to a bound, so it gets
        to read the 413 instead of a connection reset in the middle of its upload."""
        if declared is not None and declared > DRAIN_MAX:
            return
        seen = 0
        while seen <= DRAIN_MAX:
            message = await receive()
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


async def _refuse(send: Send, body: bytes) -> None:
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
