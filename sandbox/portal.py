"""Sandbox provider: a carrier with no API, only a website ("Expresso Serra"), the kind a
seller's shipping desk works by hand and the `rpa` bot works with Playwright.

Pages (server-rendered HTML, Portuguese like the real ones): login with a CSRF token and
a session that expires; a freight quote form; a pickup-request form (address, volumes,
weight, time window); a confirmation page with the pickup number; a pickup search by
order reference; a pickup page with its status and a cancel button (only before the
parcel is collected); the label PDF.

Now and then, by the seeded RNG and the knobs under `PUT /portal/admin/config`: a slow
page, a maintenance page (503), a changed layout (fields renamed, regrouped, reordered)
and a lost confirmation (the pickup is booked, the page never comes: 504). The ledger
records every pickup booked and cancelled, and every tracking state."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote as urlquote

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from sandbox.carrier import label_pdf
from sandbox.core import SandboxState
from sandbox.portal_pages import (
    CARRIER,
    FIELDS,
    REQUIRED,
    SELECTS,
    STATUS_TEXT,
    _e,
    csrf_field,
    money,
    number,
    page,
    pickup_form_page,
    quote_all,
)

PROVIDER = "portal"
STEPS = ("coletada", "em_transito", "saiu_para_entrega", "entregue")
INCIDENTS = ("extraviada", "avariada", "devolvida")
SESSION_COOKIE, CSRF_COOKIE = "sessao", "csrf_login"


class PortalConfig(BaseModel):
    session_ttl_s: float = Field(default=600, gt=0)
    slow_rate: float = Field(default=0, ge=0, le=1)
    slow_s: float = Field(default=2.0, ge=0, le=60)
    maintenance_rate: float = Field(default=0, ge=0, le=1)
    layout_change_rate: float = Field(default=0, ge=0, le=1)
    lost_confirmation_rate: float = Field(default=0, ge=0, le=1)
    incident_rate: float = Field(default=0, ge=0, le=1, description="lost, damaged, returned")
    step_s: float | None = Field(default=None, gt=0, description="between tracking states")


@dataclass
class PortalData:
    config: PortalConfig = field(default_factory=PortalConfig)
    sessions: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # -> expiry, csrf
    login_csrf: set[str] = field(default_factory=set)
    pickups: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    logins: int = 0
    pages: int = 0
    faults: dict[str, int] = field(default_factory=dict)


def _data(state: SandboxState) -> PortalData:
    data = state.data.setdefault(PROVIDER, {}).get("db")
    if not isinstance(data, PortalData):
        data = state.data[PROVIDER]["db"] = PortalData()
    return data


def build_router(state: SandboxState) -> APIRouter:
    db = _data(state)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for task in list(db.tasks.values()):
            task.cancel()

    router = APIRouter(lifespan=lifespan)

    def roll(rate: float) -> bool:
        return rate > 0 and state.faults.rng(PROVIDER).random() < rate

    def count(kind: str) -> None:
        db.faults[kind] = db.faults.get(kind, 0) + 1
        state.faults.injected[f"{PROVIDER}.{kind}"] += 1

    async def hazards() -> Response | None:
        """Before a page: maybe slow, maybe down for maintenance."""
        db.pages += 1
        cfg = db.config
        if roll(cfg.slow_rate):
            count("slow_page")
            await asyncio.sleep(cfg.slow_s)
        if roll(cfg.maintenance_rate):
            count("maintenance")
            return page("Sistema em manutenção",
                        "<p>Estamos melhorando o portal. Tente novamente em alguns minutos.</p>",
                        status=503)  # fmt: skip
        return None

    def session(request: Request) -> str | None:
        """The session's CSRF token, or None when there is no live session."""
        token = request.cookies.get(SESSION_COOKIE, "")
        found = db.sessions.get(token)
        if found is None:
            return None
        expiry, csrf = found
        if state.clock() >= expiry:
            del db.sessions[token]
            return None
        return csrf

    def to_login(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/portal/login?next={urlquote(target, safe='')}", status_code=303)

    @router.get("/login")
    async def login_form(next: str = "/portal/") -> Response:
        if (down := await hazards()) is not None:
            return down
        token = secrets.token_urlsafe(16)
        db.login_csrf.add(token)
        body = (
            f'<form method="post" action="/portal/login">{csrf_field(token)}'
            f'<input type="hidden" name="next" value="{_e(next)}">'
            '<p><label for="usuario">Usuário</label> <input id="usuario" name="usuario"></p>'
            '<p><label for="senha">Senha</label> '
            '<input id="senha" name="senha" type="password"></p>'
            '<button type="submit">Entrar</button></form>'
        )
        response = page("Acesso ao portal", body)
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax")
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("csrf_token", ""))
        if token not in db.login_csrf or request.cookies.get(CSRF_COOKIE) != token:
            return page("Sessão inválida", "<p>Token de segurança inválido. Recarregue a "
                        "página de acesso.</p>", status=403)  # fmt: skip
        db.login_csrf.discard(token)
        cfg = state.config
        user, password = str(form.get("usuario", "")), str(form.get("senha", ""))
        if not (secrets.compare_digest(user, cfg.portal_username)
                and secrets.compare_digest(password, cfg.portal_password)):  # fmt: skip
            return page("Acesso ao portal", '<p role="alert">Usuário ou senha inválidos.</p>',
                        status=401)  # fmt: skip
        sid = secrets.token_urlsafe(24)
        expiry = state.clock() + timedelta(seconds=db.config.session_ttl_s)
        db.sessions[sid] = (expiry, secrets.token_urlsafe(16))
        db.logins += 1
        target = str(form.get("next") or "/portal/")
        if not target.startswith("/portal/"):
            target = "/portal/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
        return response

    @router.get("/")
    async def home(request: Request) -> Response:
        if (down := await hazards()) is not None:
            return down
        if session(request) is None:
            return to_login(request)
        links = (("/portal/cotacao", "Cotação de frete"), ("/portal/coletas/nova",
                 "Solicitar coleta"), ("/portal/coletas", "Buscar coletas"))  # fmt: skip
        items = "".join(f'<li><a href="{h}">{t}</a></li>' for h, t in links)
        return page("Painel", f"<nav><ul>{items}</ul></nav>")

    @router.get("/cotacao")
    async def quote_form(request: Request) -> Response:
        if (down := await hazards()) is not None:
            return down
        if session(request) is None:
            return to_login(request)
        inputs = [("CEP de origem", "origem"), ("CEP de destino", "destino"),
                  ("Peso (kg)", "peso"), ("Valor declarado (R$)", "valor")]  # fmt: skip
        rows = "".join(f'<p><label for="q-{n}">{t}</label> <input id="q-{n}" name="{n}"></p>'
                       for t, n in inputs)  # fmt: skip
        return page("Cotação de frete", f'<form method="post" action="/portal/cotacao">{rows}'
                    '<button type="submit">Calcular</button></form>')  # fmt: skip

    @router.post("/cotacao")
    async def quote(request: Request) -> Response:
        if (down := await hazards()) is not None:
            return down
        if session(request) is None:
            return to_login(request)
        form = await request.form()
        try:
            origin, dest = (re.sub(r"\D", "", str(form.get(k, ""))) for k in ("origem", "destino"))
            kg, value = number(str(form.get("peso", ""))), number(str(form.get("valor", "0")))
        except ValueError as exc:
            return page("Cotação de frete", f'<p role="alert">{_e(exc)}</p>', status=422)
        if len(origin) != 8 or len(dest) != 8:
            return page("Cotação de frete", '<p role="alert">CEP inválido.</p>', status=422)
        found = quote_all(origin, dest, kg, value)
        if not found:
            return page("Resultado da cotação",
                        '<p role="status">Não atendemos este trecho.</p>')  # fmt: skip
        rows = "".join(f"<tr><td>{_e(q['name'])}</td><td>{q['days']} dias úteis</td>"
                       f"<td>{money(q['price'])}</td></tr>" for q in found)  # fmt: skip
        return page("Resultado da cotação", "<table><thead><tr><th>Serviço</th><th>Prazo</th>"
                    f"<th>Valor</th></tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip

    @router.get("/coletas/nova")
    async def pickup_form(request: Request) -> Response:
        if (down := await hazards()) is not None:
            return down
        csrf = session(request)
        if csrf is None:
            return to_login(request)
        changed = roll(db.config.layout_change_rate)
        if changed:
            count("layout_changed")
        return pickup_form_page(csrf, changed)

    @router.post("/coletas")
    async def book(request: Request) -> Response:
        if (down := await hazards()) is not None:
            return down
        csrf = session(request)
        if csrf is None:
            return to_login(request)
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf_token", "")), csrf):
            return page("Sessão inválida", '<p role="alert">Token de segurança inválido.</p>',
                        status=403)  # fmt: skip
        v = 1 if form.get("layout") == "1" else 0
        values = {k: str(form.get(pair[v][1], "")).strip() for k, pair in FIELDS.items()}
        values |= {k: str(form.get(pair[v][1], "")) for k, (pair, _) in SELECTS.items()}
        missing = [FIELDS[k][v][0] for k in REQUIRED if not values[k]]
        if missing:
            return page("Solicitar coleta", f'<p role="alert">Preencha: {_e(", ".join(missing))}'
                        "</p>", status=422)  # fmt: skip
        try:
            kg, value = number(values["peso"]), number(values["valor"])
        except ValueError as exc:
            return page("Solicitar coleta", f'<p role="alert">{_e(exc)}</p>', status=422)
        cep = re.sub(r"\D", "", values["cep"])
        offered = {q["name"]: q for q in quote_all(state_origin(), cep, kg, value)}
        chosen = offered.get(values["servico"])
        if chosen is None:
            return page("Solicitar coleta", '<p role="alert">Não atendemos este trecho com o '
                        f"serviço {_e(values['servico'])}.</p>", status=422)  # fmt: skip
        n = next(db.seq)
        pickup = {
            "numero": f"COL-{n:06d}", "referencia": values["referencia"],
            "rastreio": f"ES{700_000_000 + n:09d}BR", "status": "agendada",
            "servico": chosen["name"], "valor": str(chosen["price"]), "cep": cep,
            "destinatario": values["destinatario"], "janela": values["janela"],
            "nfe": values["nfe"], "criada_em": state.clock().isoformat(),
            "status_em": state.clock().isoformat(), "layout": v,
        }  # fmt: skip
        db.pickups[pickup["numero"]] = pickup
        state.ledger.record(PROVIDER, "pickup_booked", pickup=pickup["numero"],
                            tag=pickup["referencia"], tracking=pickup["rastreio"],
                            service=pickup["servico"], price=pickup["valor"])  # fmt: skip
        db.tasks[pickup["numero"]] = asyncio.create_task(move(pickup))
        if roll(db.config.lost_confirmation_rate):
            count("lost_confirmation")
            return page("Erro 504", "<p>O servidor demorou demais para responder.</p>", 504)
        return page("Coleta confirmada", details(pickup))

    def details(pickup: dict[str, Any]) -> str:
        numero = _e(pickup["numero"])
        return (
            f"<p>Número da coleta: <strong>{numero}</strong></p>"
            f"<p>Código de rastreio: <strong>{_e(pickup['rastreio'])}</strong></p>"
            f"<p>Referência: {_e(pickup['referencia'])}</p>"
            f"<p>Serviço: {_e(pickup['servico'])} · Valor: {money(Decimal(pickup['valor']))}</p>"
            f"<p>Situação: <strong>{STATUS_TEXT[pickup['status']]}</strong></p>"
            f'<p><a href="/portal/coletas/{numero}/etiqueta.pdf">Baixar etiqueta</a></p>'
        )

    def state_origin() -> str:
        return "01304001"  # the account's pickup address (the seller's warehouse)

    async def move(pickup: dict[str, Any]) -> None:
        for status in STEPS:
            await asyncio.sleep(db.config.step_s or state.config.carrier_step_s)
            if pickup["status"] == "cancelada":
                return
            if status == "saiu_para_entrega" and roll(db.config.incident_rate):
                status = INCIDENTS[state.faults.rng(PROVIDER).randrange(len(INCIDENTS))]
            pickup.update(status=status, status_em=state.clock().isoformat())
            state.ledger.record(PROVIDER, "tracking", pickup=pickup["numero"],
                                tag=pickup["referencia"], tracking=pickup["rastreio"],
                                status=status)  # fmt: skip
            if status in INCIDENTS:
                return

    @router.get("/coletas")
    async def search(request: Request, referencia: str = "") -> Response:
        if (down := await hazards()) is not None:
            return down
        if session(request) is None:
            return to_login(request)
        form = ('<form method="get" action="/portal/coletas"><p><label for="busca">Referência'
                f'</label> <input id="busca" name="referencia" value="{_e(referencia)}"></p>'
                '<button type="submit">Buscar</button></form>')  # fmt: skip
        if not referencia:
            return page("Buscar coletas", form)
        found = [p for p in db.pickups.values() if p["referencia"] == referencia.strip()]
        if not found:
            return page("Buscar coletas", form + '<p role="status">Nenhuma coleta encontrada.</p>')
        rows = "".join(
            f'<tr><td><a href="/portal/coletas/{_e(p["numero"])}">{_e(p["numero"])}</a></td>'
            f"<td>{_e(p['referencia'])}</td><td>{STATUS_TEXT[p['status']]}</td>"
            f"<td>{_e(p['rastreio'])}</td><td>{_e(p['servico'])}</td>"
            f"<td>{money(Decimal(p['valor']))}</td><td>{_e(p['status_em'])}</td></tr>"
            for p in found
        )
        head = "".join(f"<th>{h}</th>" for h in ("Número", "Referência", "Situação", "Rastreio",
                                                 "Serviço", "Valor", "Atualizada em"))  # fmt: skip
        return page("Buscar coletas", f"{form}<table><thead><tr>{head}</tr></thead><tbody>"
                    f"{rows}</tbody></table>")  # fmt: skip

    @router.get("/coletas/{numero}")
    async def pickup_page(request: Request, numero: str) -> Response:
        if (down := await hazards()) is not None:
            return down
        csrf = session(request)
        if csrf is None:
            return to_login(request)
        pickup = db.pickups.get(numero)
        if pickup is None:
            return page("Coleta não encontrada", "<p>Verifique o número.</p>", status=404)
        cancel = ""
        if pickup["status"] == "agendada":
            cancel = (
                f'<form method="post" action="/portal/coletas/{_e(numero)}/cancelar">'
                f'{csrf_field(csrf)}<button type="submit">Cancelar coleta</button></form>'
            )
        return page(f"Coleta {numero}", details(pickup) + cancel)

    @router.post("/coletas/{numero}/cancelar")
    async def cancel(request: Request, numero: str) -> Response:
        if (down := await hazards()) is not None:
            return down
        csrf = session(request)
        if csrf is None:
            return to_login(request)
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf_token", "")), csrf):
            return page("Sessão inválida", '<p role="alert">Token de segurança inválido.</p>', 403)
        pickup = db.pickups.get(numero)
        if pickup is None:
            return page("Coleta não encontrada", "<p>Verifique o número.</p>", status=404)
        if pickup["status"] not in ("agendada", "cancelada"):
            return page("Cancelamento recusado", '<p role="alert">A coleta já foi realizada: '
                        "abra uma devolução.</p>", status=409)  # fmt: skip
        if pickup["status"] != "cancelada":
            pickup.update(status="cancelada", status_em=state.clock().isoformat())
            task = db.tasks.pop(numero, None)
            if task is not None:
                task.cancel()
            state.ledger.record(PROVIDER, "pickup_cancelled", pickup=numero,
                                tag=pickup["referencia"])  # fmt: skip
        return page("Coleta cancelada", details(pickup))

    @router.get("/coletas/{numero}/etiqueta.pdf")
    async def label(request: Request, numero: str) -> Response:
        if session(request) is None:
            return to_login(request)
        pickup = db.pickups.get(numero)
        if pickup is None or pickup["status"] == "cancelada":
            return page("Etiqueta indisponível", "<p>Coleta inexistente ou cancelada.</p>", 404)
        lines = [CARRIER, pickup["servico"], pickup["numero"], pickup["rastreio"], pickup["cep"]]
        return Response(label_pdf(lines), media_type="application/pdf")

    @router.put("/admin/config")
    async def configure(body: PortalConfig) -> PortalConfig:
        db.config = body
        return body

    @router.delete("/admin/sessions")
    async def expire_sessions() -> dict[str, int]:
        """Every login ends now (as when its time is up): the next page asks to log in."""
        ended = len(db.sessions)
        db.sessions.clear()
        return {"ended": ended}

    @router.get("/admin/pickups")
    async def pickups() -> list[dict[str, Any]]:
        return list(db.pickups.values())

    @router.get("/admin/stats")
    async def stats() -> dict[str, Any]:
        return {"logins": db.logins, "pages": db.pages, "faults": dict(db.faults),
                "pickups": len(db.pickups), "sessions": len(db.sessions)}  # fmt: skip

    return router
