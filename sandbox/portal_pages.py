"""The carrier portal's pages: its wording, its two form layouts, its prices. Rendering
only; the routes and the portal's state are in sandbox/portal.py."""

from __future__ import annotations

import html
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi.responses import HTMLResponse

CARRIER = "Expresso Serra"
CENT = Decimal("0.01")
SERVED = frozenset("012389")  # first CEP digit of the regions served (South, Southeast)
# id, name, base, per region gap, per kg, base days, max kg
SERVICES = (
    (1, "Rodoviário", "11.00", "2.00", "1.50", 3, 100),
    (2, "Expresso", "16.00", "3.00", "2.50", 1, 30),
)
STATUS_TEXT = {
    "agendada": "Agendada", "coletada": "Coletada", "em_transito": "Em trânsito",
    "saiu_para_entrega": "Saiu para entrega", "entregue": "Entregue",
    "extraviada": "Extraviada", "avariada": "Avariada",
    "devolvida": "Devolvida ao remetente", "cancelada": "Cancelada",
}  # fmt: skip
# canonical field -> (label, name) in the usual layout and in the changed one
FIELDS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "referencia": (("Referência do pedido", "referencia"),
                   ("Seu número de pedido (referência)", "ref_pedido")),
    "destinatario": (("Destinatário", "destinatario"), ("Nome do destinatário", "dest_nome")),
    "documento": (("CPF/CNPJ do destinatário", "documento"),
                  ("Documento do destinatário (CPF/CNPJ)", "dest_doc")),
    "telefone": (("Telefone", "telefone"), ("Telefone de contato", "dest_fone")),
    "cep": (("CEP de destino", "cep"), ("CEP do destinatário", "dest_cep")),
    "endereco": (("Endereço", "endereco"), ("Logradouro", "dest_logradouro")),
    "numero": (("Número", "numero"), ("Número", "dest_numero")),
    "complemento": (("Complemento", "complemento"), ("Complemento", "dest_compl")),
    "bairro": (("Bairro", "bairro"), ("Bairro", "dest_bairro")),
    "cidade": (("Cidade", "cidade"), ("Município", "dest_municipio")),
    "uf": (("UF", "uf"), ("Estado (UF)", "dest_uf")),
    "volumes": (("Volumes", "volumes"), ("Quantidade de volumes", "carga_volumes")),
    "peso": (("Peso (kg)", "peso"), ("Peso total (kg)", "carga_peso")),
    "altura": (("Altura (cm)", "altura"), ("Altura (cm)", "carga_altura")),
    "largura": (("Largura (cm)", "largura"), ("Largura (cm)", "carga_largura")),
    "comprimento": (("Comprimento (cm)", "comprimento"), ("Comprimento (cm)", "carga_compr")),
    "valor": (("Valor declarado (R$)", "valor"), ("Valor da mercadoria (R$)", "carga_valor")),
    "nfe": (("Chave da NF-e", "nfe"), ("Chave de acesso da NF-e", "carga_nfe")),
}  # fmt: skip
SELECTS = {  # canonical -> ((label, name) usual, (label, name) changed), options
    "servico": ((("Serviço", "servico"), ("Modalidade", "carga_modalidade")),
                [name for _, name, *_ in SERVICES]),
    "janela": ((("Janela de coleta", "janela"), ("Período da coleta", "coleta_periodo")),
               ["Manhã (8h-12h)", "Tarde (13h-18h)"]),
}  # fmt: skip
USUAL_ORDER = ("referencia", "destinatario", "documento", "telefone", "cep", "endereco", "numero",
               "complemento", "bairro", "cidade", "uf", "servico", "volumes", "peso", "altura",
               "largura", "comprimento", "valor", "nfe", "janela")  # fmt: skip
REQUIRED = ("referencia", "destinatario", "documento", "cep", "endereco", "numero",
            "bairro", "cidade", "uf", "volumes", "peso", "altura", "largura", "comprimento",
            "valor")  # fmt: skip


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>{_e(title)} — '
        f"{CARRIER}</title></head><body><header><strong>{CARRIER}</strong> · Portal do "
        f"cliente</header><main><h1>{_e(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(doc, status_code=status)


def money(value: Decimal) -> str:
    whole, cents = f"{value.quantize(CENT):.2f}".split(".")
    return f"R$ {int(whole):,}".replace(",", ".") + f",{cents}"


def number(raw: str) -> Decimal:
    """A number as people type it here: `12,5`, `1.234,56` or `12.5`."""
    text = raw.strip()
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"não é um número: {raw!r}") from None


def quote_all(origin: str, dest: str, kg: Decimal, value: Decimal) -> list[dict[str, Any]]:
    if origin[:1] not in SERVED or dest[:1] not in SERVED:
        return []
    gap = abs(int(origin[0]) - int(dest[0])) + (0 if origin[:2] == dest[:2] else 1)
    out = []
    for sid, name, base, per_gap, per_kg, days, max_kg in SERVICES:
        if kg > max_kg:
            continue
        price = Decimal(base) + Decimal(per_gap) * gap + Decimal(per_kg) * kg + value / 100
        out.append({"id": sid, "name": name, "price": price.quantize(CENT), "days": days + gap})
    return out


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{_e(token)}">'


def pickup_form_page(csrf: str, changed: bool) -> HTMLResponse:
    """The pickup-request form, in the usual layout or the changed one (regrouped,
    reordered, some labels and field names renamed)."""
    v = 1 if changed else 0

    def text(key: str) -> str:
        label, name = FIELDS[key][v]
        return f'<p><label for="f-{name}">{label}</label> <input id="f-{name}" name="{name}"></p>'

    def select(key: str) -> str:
        (pair, options) = SELECTS[key]
        label, name = pair[v]
        opts = "".join(f"<option>{_e(o)}</option>" for o in options)
        return (f'<p><label for="f-{name}">{label}</label> '
                f'<select id="f-{name}" name="{name}">{opts}</select></p>')  # fmt: skip

    if changed:
        groups = [("Carga", ["volumes", "peso", "altura", "largura", "comprimento", "valor",
                             "nfe", "servico"]),
                  ("Destino", ["cep", "uf", "cidade", "bairro", "endereco", "numero",
                               "complemento"]),
                  ("Destinatário", ["destinatario", "documento", "telefone"]),
                  ("Pedido", ["referencia", "janela"])]  # fmt: skip
        parts = "".join(
            f"<fieldset><legend>{g}</legend>"
            + "".join(select(k) if k in SELECTS else text(k) for k in keys)
            + "</fieldset>"
            for g, keys in groups
        )
        button = "Confirmar solicitação"
    else:
        parts = "".join(select(k) if k in SELECTS else text(k) for k in USUAL_ORDER)
        button = "Solicitar coleta"
    layout = f'<input type="hidden" name="layout" value="{v}">'
    return page("Solicitar coleta", f'<form method="post" action="/portal/coletas">'
                f'{csrf_field(csrf)}{layout}{parts}<button type="submit">{button}</button>'
                "</form>")  # fmt: skip
