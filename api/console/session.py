"""Console sessions (API key in an HttpOnly cookie), CSRF tokens, flash messages, and the
route class that turns every error into a page a person can act on."""

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console.i18n import LANG_COOKIE, lang_of
from api.console.names import N_
from api.console.views import (
    FLASH_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    Chrome,
    ErrorPage,
    Flash,
    Renderable,
    render,
)
from api.deps import ContextDep
from api.errors import status_for
from db.api_keys import ApiPrincipal, ApiRole
from domain.errors import RetaguardaError

log = logging.getLogger("retaguarda.console")

# --- sessions, CSRF, errors ------------------------------------------------------------


def csrf_token(session_key: str) -> str:
    return hmac.new(session_key.encode(), b"retaguarda-console-csrf-v1", "sha256").hexdigest()


@dataclass(frozen=True)
class Session:
    principal: ApiPrincipal
    key: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.key)

    def allow(self, roles: frozenset[ApiRole], doing: str) -> None:
        if self.principal.role not in roles:
            names = ", ".join(sorted(r.value for r in roles))
            raise Problem(
                403,
                "Your role (%(role)s) cannot %(doing)s; it needs one of: %(roles)s.",
                role=self.principal.role.value,
                doing=doing,
                roles=names,
            )


class LoginRequired(Exception):
    pass


class Problem(Exception):
    """A refusal shown as an error page: `message` is a catalogue msgid (English, with
    `%(name)s` for `args`), said in the reader's language like a flash."""

    def __init__(self, status: int, message: str, **args: object) -> None:
        super().__init__(message)
        said = tuple((name, str(value)) for name, value in args.items())
        self.status, self.message, self.flash = status, message, Flash("error", message, args=said)


async def current_session(request: Request, ctx: ContextDep) -> Session:
    key = request.cookies.get(SESSION_COOKIE)
    principal = await ctx.api_keys.authenticate(key) if key else None
    if key is None or principal is None:
        raise LoginRequired
    return Session(principal, key)


SessionDep = Annotated[Session, Depends(current_session)]


async def checked_form(request: Request, session: Session) -> FormData:
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
        raise Problem(
            403,
            "This form is out of date or did not come from the console. "
            "Go back, reload the page and try again.",
        )
    return form


def text(form: FormData, name: str, max_length: int) -> str:
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > max_length:
        raise Problem(
            422, "%(name)s is too long: keep it under %(n)s characters.", name=name, n=max_length
        )
    return value


def read_flash(request: Request) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        message, kept, form = str(data["t"]), str(data["d"]), str(data.get("f", ""))
        args = tuple((str(k), str(v)) for k, v in dict(data.get("a") or {}).items())
        return Flash("error" if data["k"] == "error" else "ok", message, kept, form, args)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def redirect(url: str, flash: Flash | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        value = _flash_cookie(flash, flash.data if len(flash.data) <= 1200 else "")
        if len(value) > FLASH_COOKIE_MAX:  # a browser drops a larger cookie, flash and all
            value = _flash_cookie(flash, "")
        response.set_cookie(
            FLASH_COOKIE, value, max_age=60, path="/console", httponly=True, samesite="strict"
        )
    return response


FLASH_COOKIE_MAX = 3800  # bytes of the cookie's value; browsers keep up to 4096 a cookie


def _flash_cookie(flash: Flash, data: str) -> str:
    payload = {"k": flash.kind, "t": flash.text[:800], "d": data, "f": flash.form,
               "a": {k: v[:800] for k, v in flash.args}}  # fmt: skip
    encoded = json.dumps(payload, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(encoded).decode()


def html(request: Request, page: Renderable, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(render(page), status_code=status, headers=SECURITY_HEADERS)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/console")
    return response


def chrome(request: Request, session: Session) -> Chrome:
    lang = lang_of(request.cookies.get(LANG_COOKIE))
    return Chrome(session.principal, session.csrf, datetime.now(UTC), read_flash(request), lang)


def _error(request: Request, status: int, message: str | Flash) -> HTMLResponse:
    titles = {401: N_("Sign in again"), 403: N_("Not allowed"), 404: N_("Not found"),
              503: N_("Unavailable")}  # fmt: skip
    lang = lang_of(request.cookies.get(LANG_COOKIE))
    said = message if isinstance(message, Flash) else Flash("error", message)
    page = ErrorPage(None, status, titles.get(status, N_("Could not do that")), said, lang)
    return html(request, page, status)


class ConsoleRoute(APIRoute):
    """Turns every failure of a console route into a page a person can act on."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path if request.method == "GET" else "/console"
                return redirect("/console/login?" + urlencode({"next": target}))
            except Problem as exc:
                return _error(request, exc.status, exc.flash)
            except RetaguardaError as exc:
                return _error(request, status_for(exc), exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return _error(request, 422, f"{where}: {first.get('msg', 'invalid value')}")
            except StarletteHTTPException as exc:
                return _error(request, exc.status_code, str(exc.detail))
            except Exception:
                log.exception("console %s %s failed", request.method, request.url.path)
                return _error(
                    request,
                    500,
                    N_(
                        "Something went wrong on our side and it was logged. Try again; if "
                        "it keeps happening, call the engineer on duty."
                    ),
                )

        return guarded
