"""Sandbox provider: the marketplace's seller centre ("Central do Vendedor"), a website
with no API where the seller downloads the release report of the marketplace's sales.

Pages (server-rendered HTML in Portuguese, under `/seller`): a login with a CSRF token
(double-submitted with a cookie) and a session that expires; the reports page with a
date filter (`Data das liberações`) that shows the day's report (how many lines, the
net released) and a link that downloads it as CSV (`Content-Disposition: attachment`).
The CSV is the payment provider's release report (sandbox/settlement.py, the same
generator, columns and seeded divergences as the API's), as the marketplace's account
sees it: the marketplace's sales only.

Now and then, by the seeded RNG and the knobs under `PUT /seller/admin/config`: a slow
page and a maintenance page (503, "Sistema em manutenção"), as the carrier portal does."""

from __future__ import annotations

import asyncio
import html
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote as urlquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from sandbox.core import SandboxState
from sandbox.payments import _report_day
from sandbox.settlement import build_report

PROVIDER = "seller"
CHANNEL = "marketplace"  # whose sales this seller centre shows
SESSION_COOKIE, CSRF_COOKIE = "vendedor_sessao", "vendedor_csrf"
REPORTS = "/seller/relatorios/liberacoes"


class SellerPortalConfig(BaseModel):
    session_ttl_s: float = Field(default=900, gt=0)
    slow_rate: float = Field(default=0, ge=0, le=1)
    slow_s: float = Field(default=2.0, ge=0, le=60)
    maintenance_rate: float = Field(default=0, ge=0, le=1)


@dataclass
class SellerPortalData:
    config: SellerPortalConfig = field(default_factory=SellerPortalConfig)
    sessions: dict[str, datetime] = field(default_factory=dict)  # -> expiry
    login_csrf: set[str] = field(default_factory=set)
    logins: int = 0
    refused_logins: int = 0
    pages: int = 0
    downloads: list[str] = field(default_factory=list)  # the days downloaded, in order
    faults: dict[str, int] = field(default_factory=dict)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>{_e(title)} — '
        "Central do Vendedor</title></head><body><header><strong>Central do Vendedor"
        f"</strong></header><main><h1>{_e(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(doc, status_code=status)


def _brl(value: Decimal) -> str:
    whole, cents = f"{value:.2f}".split(".")
    return f"R$ {int(whole):,}".replace(",", ".") + f",{cents}"


def _data(state: SandboxState) -> SellerPortalData:
    data = state.data.setdefault(PROVIDER, {}).get("db")
    if not isinstance(data, SellerPortalData):
        data = state.data[PROVIDER]["db"] = SellerPortalData()
    return data


def build_router(state: SandboxState) -> APIRouter:
    db = _data(state)
    router = APIRouter()

    def roll(rate: float) -> bool:
        return rate > 0 and state.faults.rng(PROVIDER).random() < rate

    def count(kind: str) -> None:
        db.faults[kind] = db.faults.get(kind, 0) + 1
        state.faults.injected[f"{PROVIDER}.{kind}"] += 1

    async def hazards() -> Response | None:
        """Before a page: maybe slow, maybe down for maintenance."""
        db.pages += 1
        if roll(db.config.slow_rate):
            count("slow_page")
            await asyncio.sleep(db.config.slow_s)
        if roll(db.config.maintenance_rate):
            count("maintenance")
            return page("Sistema em manutenção", "<p>A Central do Vendedor volta em alguns "
                        "minutos.</p>", status=503)  # fmt: skip
        return None

    def signed_in(request: Request) -> bool:
        token = request.cookies.get(SESSION_COOKIE, "")
        expiry = db.sessions.get(token)
        if expiry is None:
            return False
        if state.clock() >= expiry:
            del db.sessions[token]
            return False
        return True

    def to_login(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/seller/login?next={urlquote(target, safe='')}", status_code=303)

    def report(day: date) -> Any:
        return build_report(state, day).of_channels({CHANNEL})

    @router.get("/login")
    async def login_form(next: str = "/seller/") -> Response:
        if (down := await hazards()) is not None:
            return down
        token = secrets.token_urlsafe(16)
        db.login_csrf.add(token)
        body = (
            '<form method="post" action="/seller/login">'
            f'<input type="hidden" name="csrf_token" value="{_e(token)}">'
            f'<input type="hidden" name="next" value="{_e(next)}">'
            '<p><label for="email">E-mail ou usuário</label> <input id="email" name="email"></p>'
            '<p><label for="senha">Senha</label> <input id="senha" name="senha" '
            'type="password"></p><button type="submit">Entrar</button></form>'
        )
        response = page("Entre na sua conta", body)
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax")
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("csrf_token", ""))
        if token not in db.login_csrf or request.cookies.get(CSRF_COOKIE) != token:
            return page("Sessão inválida", '<p role="alert">Token de segurança inválido. '
                        "Recarregue a página de acesso.</p>", status=403)  # fmt: skip
        db.login_csrf.discard(token)
        user, password = str(form.get("email", "")), str(form.get("senha", ""))
        cfg = state.config
        if not (secrets.compare_digest(user, cfg.seller_username)
                and secrets.compare_digest(password, cfg.seller_password)):  # fmt: skip
            db.refused_logins += 1
            return page("Entre na sua conta", '<p role="alert">E-mail, usuário ou senha '
                        "incorretos.</p>", status=401)  # fmt: skip
        sid = secrets.token_urlsafe(24)
        db.sessions[sid] = state.clock() + timedelta(seconds=db.config.session_ttl_s)
        db.logins += 1
        target = str(form.get("next") or "/seller/")
        if not target.startswith("/seller/"):
            target = "/seller/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
        return response

    @router.get("/")
    async def home(request: Request) -> Response:
        if (down := await hazards()) is not None:
            return down
        if not signed_in(request):
            return to_login(request)
        return page("Resumo", f'<nav><ul><li><a href="{REPORTS}">Relatórios de liberações'
                    "</a></li></ul></nav>")  # fmt: skip

    @router.get("/relatorios/liberacoes")
    async def reports(request: Request, data: str = "") -> Response:
        if (down := await hazards()) is not None:
            return down
        if not signed_in(request):
            return to_login(request)
        form = (f'<form method="get" action="{REPORTS}" role="search"><p><label for="data">'
                f'Data das liberações</label> <input id="data" name="data" type="date" '
                f'value="{_e(data)}"></p><button type="submit">Gerar relatório</button>'
                "</form>")  # fmt: skip
        if not data:
            return page("Relatórios de liberações", form)
        try:
            day = date.fromisoformat(data)
        except ValueError:
            return page("Relatórios de liberações", f'{form}<p role="alert">Data inválida: '
                        f"{_e(data[:40])}. Use o formato AAAA-MM-DD.</p>", status=422)  # fmt: skip
        rows = report(day).rows
        released = [r for r in rows if r["RECORD_TYPE"] == "release"]
        name = f"release-report-{day.isoformat()}.csv"
        body = (
            f'{form}<section aria-label="Relatório"><h2>Liberações de {day:%d/%m/%Y}</h2>'
            f"<p>Lançamentos: <strong>{len(rows)}</strong> ({len(released)} liberações)</p>"
            f"<p>Saldo liberado: <strong>{_brl(Decimal(rows[-1]['NET_CREDIT_AMOUNT']))}"
            f'</strong></p><p><a href="{REPORTS}/{name}">Baixar relatório (CSV)</a></p>'
            "</section>"
        )
        return page("Relatórios de liberações", body)

    @router.get("/relatorios/liberacoes/{file_name}")
    async def download(request: Request, file_name: str) -> Response:
        if not signed_in(request):
            return to_login(request)
        day = _report_day(file_name)
        if roll(db.config.slow_rate):
            count("slow_download")
            await asyncio.sleep(db.config.slow_s)
        db.downloads.append(day.isoformat())
        return Response(
            report(day).csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
        )

    @router.put("/admin/config")
    async def configure(body: SellerPortalConfig) -> SellerPortalConfig:
        db.config = body
        return body

    @router.delete("/admin/sessions")
    async def expire_sessions() -> dict[str, int]:
        """Every login ends now (as when its time is up): the next page asks to log in."""
        ended = len(db.sessions)
        db.sessions.clear()
        return {"ended": ended}

    @router.get("/admin/stats")
    async def stats() -> dict[str, Any]:
        return {"logins": db.logins, "refused_logins": db.refused_logins, "pages": db.pages,
                "faults": dict(db.faults), "downloads": list(db.downloads),
                "sessions": len(db.sessions)}  # fmt: skip

    return router
