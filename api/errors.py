"""One handler maps the error tree to HTTP, with a JSON body a person can act on:
{"error": <type>, "message": <what was wrong and what to do>, "field": <when known>}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.gateway import OrderClosed, OrderNotFound, Rejected, TemporalUnavailable
from api.intake import UnknownSource
from domain.errors import DomainError, RetaguardaError
from integrations.webhooks import WebhookPayloadError, WebhookSignatureError


class NotFound(RetaguardaError):
    pass


class Forbidden(RetaguardaError):
    pass


class Unauthorized(RetaguardaError):
    pass


class BadRequest(RetaguardaError):
    """The request is well-formed JSON but its content cannot be used."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


STATUS: list[tuple[type[RetaguardaError], int]] = [
    (WebhookSignatureError, 401),
    (Unauthorized, 401),
    (Forbidden, 403),
    (WebhookPayloadError, 422),
    (BadRequest, 422),
    (UnknownSource, 404),
    (NotFound, 404),
    (OrderNotFound, 404),
    (OrderClosed, 409),
    (Rejected, 409),
    (TemporalUnavailable, 503),
    (DomainError, 409),
]


def status_for(exc: RetaguardaError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_body(exc: RetaguardaError) -> tuple[int, dict[str, object], dict[str, str] | None]:
    """The status, JSON body and extra headers the error tree answers with."""
    body: dict[str, object] = {"error": exc.code, "message": exc.message}
    field = getattr(exc, "field", None)
    if field:
        body["field"] = field
    headers = {"Retry-After": "5"} if isinstance(exc, TemporalUnavailable) else None
    return status_for(exc), body, headers


def install(app: FastAPI) -> None:
    @app.exception_handler(RetaguardaError)
    async def _tree(_: Request, exc: RetaguardaError) -> JSONResponse:
        status, body, headers = error_body(exc)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{field or 'body'}: {first.get('msg', 'invalid')}"
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in errors
        ]
        return JSONResponse(
            {"error": "invalid_request", "message": message, "field": field, "errors": details},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """Routing's own errors (no such path, method not allowed) in the API's shape;
        the console keeps its HTML pages."""
        if request.url.path.startswith("/console"):
            return await http_exception_handler(request, exc)
        messages = {
            404: f"no such resource: {request.method} {request.url.path} (see /docs)",
            405: f"{request.method} is not allowed on {request.url.path} (see /docs)",
        }
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        generic = detail in ("Not Found", "Method Not Allowed")
        message = messages.get(exc.status_code, detail) if generic else detail
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": code, "message": message},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
