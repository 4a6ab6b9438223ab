"""What happens to an NF-e after its authorisation (pure): the return NF-e that undoes a
sale SEFAZ will no longer cancel, the voiding (inutilização) of numbers never used, and
the correction letter (CC-e) with the rules of what it may not change."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field, field_validator

from domain.fiscal import mod11_check_digit
from domain.nfe_text import folded
from domain.orders import Frozen

# A CC-e is accepted up to 720 h (30 days) after the NF-e's authorisation, at most 20
# per NF-e; each new one replaces the previous text (it must repeat what still holds).
CORRECTION_WINDOW = timedelta(hours=720)
MAX_CORRECTIONS = 20
CORRECTION_MIN, CORRECTION_MAX = 15, 1000
# The condition of use the CC-e layout requires, word for word (NT 2011.004).
CORRECTION_CONDITIONS = (
    "A Carta de Correcao e disciplinada pelo paragrafo 1o-A do art. 7o do Convenio S/N, "
    "de 15 de dezembro de 1970 e pode ser utilizada para regularizacao de erro ocorrido "
    "na emissao de documento fiscal, desde que o erro nao esteja relacionado com: I - as "
    "variaveis que determinam o valor do imposto tais como: base de calculo, aliquota, "
    "diferenca de preco, quantidade, valor da operacao ou da prestacao; II - a correcao "
    "de dados cadastrais que implique mudanca do remetente ou do destinatario; III - a "
    "data de emissao ou de saida."
)
VOID_REASON_MIN, VOID_REASON_MAX = 15, 255


class ReturnInvoiceRequest(Frozen):
    """Emit the return NF-e (finNFe 4, entrada) that undoes the order's authorised sale
    NF-e `refers_to`: past the cancellation window, or once the goods left (219). The
    same request always gives the same document (its number is allocated by the order)."""

    order_id: str
    refers_to: str = Field(pattern=r"^\d{44}$")
    reason: str = Field(min_length=15, max_length=255)
    issued_at: datetime
    series: int = Field(default=1, ge=0, le=999)
    idempotency_key: str


class ReturnInvoice(Frozen):
    order_id: str
    refers_to: str
    access_key: str = Field(pattern=r"^\d{44}$")
    number: int
    series: int
    protocol: str
    authorised_at: datetime


class NumberVoiding(Frozen):
    """Give up the order's NF-e number at SEFAZ (NFeInutilizacao4) when no NF-e was
    authorised with it; a no-op when the number is in use or there is none."""

    order_id: str
    series: int = Field(default=1, ge=0, le=999)
    reason: str = Field(min_length=VOID_REASON_MIN, max_length=VOID_REASON_MAX)
    at: datetime


class VoidingStatus(StrEnum):
    VOIDED = "voided"  # SEFAZ homologated the voiding (102), or had it already
    IN_USE = "in_use"  # an NF-e holds the number: nothing to void
    NONE = "none"  # the order never had a number


class NumberVoided(Frozen):
    status: VoidingStatus
    series: int
    number: int | None = None
    protocol: str | None = None


class CorrectionRequest(Frozen):
    """A CC-e (event 110110) for the order's authorised NF-e, asked by a person."""

    order_id: str
    access_key: str = Field(pattern=r"^\d{44}$")
    sequence: int = Field(ge=1, le=MAX_CORRECTIONS)
    text: str
    requested_at: datetime
    requested_by: str = ""

    @field_validator("text")
    @classmethod
    def _rules(cls, value: str) -> str:
        problems = correction_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return correction_text(value)


class CorrectionStatus(StrEnum):
    SENDING = "sending"  # asked, SEFAZ has not answered yet: holds its number
    REGISTERED = "registered"
    REJECTED = "rejected"


class Correction(Frozen):
    access_key: str
    sequence: int
    status: CorrectionStatus
    protocol: str | None = None
    registered_at: datetime | None = None
    message: str = ""


def correction_workflow_id(access_key: str, sequence: int) -> str:
    """One workflow per letter: asking twice for the same CC-e starts it once."""
    return f"cce:{access_key}:{sequence}"


def correction_text(text: str) -> str:
    """The xCorrecao as sent: NF-e text (Latin-1, single spaces, trimmed; no emoji or
    control characters), the characters SEFAZ counts."""
    return folded(text)


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


# What a CC-e may not change (Convênio S/N 1970, art. 7º §1º-A), as the words and
# figures that give such a change away. A person gets the reason, not a silent refusal.
_FORBIDDEN = (
    (
        re.compile(
            r"\b(valor(es)?|preco|base de calculo|aliquota|quantidade|qtde|desconto|"
            r"imposto|icms|ipi|pis|cofins)\b"
        ),
        "it may not change values, prices, quantities, rates or taxes (issue a "
        "complementary or return NF-e instead)",
    ),
    (
        re.compile(r"r\$\s*\d|\b\d+[.,]\d{2}\b"),
        "it may not carry amounts of money (values cannot be corrected by a CC-e)",
    ),
    (
        re.compile(
            r"\b(razao social|inscricao estadual|(cnpj|cpf|nome) d[oa] (destinatario|"
            r"remetente|emitente|cliente)|(novo|outro|troca d[eo]) (destinatario|remetente|"
            r"cliente))\b"
        ),
        "it may not change the sender or the recipient (cancel and issue a new NF-e)",
    ),
    (
        re.compile(r"\bdata de (emissao|saida)\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
        "it may not change the date of issue or of departure",
    ),
)


def correction_problems(text: str) -> list[str]:
    """Why SEFAZ or the law would refuse this CC-e text; empty when it may be sent."""
    clean = correction_text(text)
    problems = []
    if not CORRECTION_MIN <= len(clean) <= CORRECTION_MAX:
        problems.append(
            f"the correction must have {CORRECTION_MIN} to {CORRECTION_MAX} characters "
            f"(it has {len(clean)})"
        )
    plain = _plain(clean)
    problems += [reason for pattern, reason in _FORBIDDEN if pattern.search(plain)]
    return problems


def within_correction_window(authorised_at: datetime, now: datetime) -> bool:
    return now - authorised_at <= CORRECTION_WINDOW


def void_reason(reason: str) -> str:
    """The xJust of a voiding: 15 to 255 characters, saying why the number is unused."""
    text = " ".join(("Numero nao utilizado: " + (reason.strip() or "pedido cancelado")).split())
    return text[:VOID_REASON_MAX].ljust(VOID_REASON_MIN, ".")


def return_cfop(sale_cfop: str) -> str:
    """The CFOP of the return of goods sold under `sale_cfop`: 1202 inside the state,
    2202 from another state (devolução de venda de mercadoria adquirida ou recebida de
    terceiros); 1201/2201 for goods the seller produced (5101/6101...)."""
    if len(sale_cfop) != 4 or not sale_cfop.isdigit() or sale_cfop[0] not in "567":
        raise ValueError(f"{sale_cfop!r} is not the CFOP of a sale (5xxx, 6xxx or 7xxx)")
    origin = {"5": "1", "6": "2", "7": "3"}[sale_cfop[0]]
    produced = sale_cfop[1:] in {"101", "103", "105", "109", "116", "118", "122", "401"}
    return origin + ("201" if produced else "202")


# -- contingency (SVC-AN / SVC-RS) ---------------------------------------------------------

CONTINGENCY_TYPES = frozenset({"6", "7"})  # tpEmis: 6 SVC-AN, 7 SVC-RS


class Outage(Frozen):
    """An authoriser answering 108/109 (service paralysed) since `since`."""

    authoriser: str
    since: datetime
    last_seen: datetime
    cstat: int
    reason: str


class EmissionFacts(Frozen):
    """What an order's NF-e emission has been through, kept across attempts: a normal
    send whose outcome was never known (`in_doubt`), or a contingency emission (its
    tpEmis, since and justification, so every attempt builds the same document)."""

    in_doubt: bool = False
    contingency: str | None = Field(default=None, pattern=r"^[67]$")
    contingency_since: datetime | None = None
    contingency_reason: str | None = None


def contingency_due(outage: Outage | None, now: datetime, after: timedelta) -> bool:
    """After `after` of 108/109 from the state's authoriser, emit in contingency."""
    return outage is not None and now - outage.since >= after


def contingency_reason(outage: Outage, name: str) -> str:
    """xJust of the entry in contingency: 15 to 256 characters, plain text."""
    since = outage.since.strftime("%d/%m/%Y %H:%M UTC")
    text = f"{name} fora do ar desde {since}: {outage.cstat} {outage.reason}"
    return " ".join(text.split())[:256].ljust(15, ".")


def contingency_key(key: str, emission_type: str) -> str:
    """The access key of the same NF-e emitted with tpEmis `emission_type`: the 35th
    digit changes and so does the check digit."""
    if (
        len(key) != 44
        or not key.isdigit()
        or len(emission_type) != 1
        or emission_type not in "12345679"
    ):
        raise ValueError(f"cannot re-key {key!r} to tpEmis {emission_type!r}")
    body = key[:34] + emission_type + key[35:43]
    return body + mod11_check_digit(body)
