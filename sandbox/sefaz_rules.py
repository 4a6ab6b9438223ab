"""Business rules a real SEFAZ authoriser enforces on an NF-e and on its events, each
with the real cStat and xMotivo (../shared/reference/brazil-ecommerce.md; Manual de
Orientação do Contribuinte, NT 2016.002 and later). Pure functions over the parsed
document; the sandbox imports none of our code, so the tables here are its own.

Checked in the order an authoriser does: environment, dates, regime, recipient, totals.
Not yet: 275 (recipient's city code of another state), which waits for the city codes
of orders from channels that send only a city name (they get São Paulo's today)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree
from validate_docbr import CPF

from sandbox.sefaz_xml import _N, Rejection, find_text

HOMOLOGATION = "2"  # the environment this simulator answers for
EMISSION_TOO_OLD = timedelta(days=30)
CLOCK_TOLERANCE = timedelta(minutes=5)
SIMPLES_CRTS = frozenset({"1", "4"})  # Simples Nacional and MEI: CSOSN; 2 and 3: CST

# vNF = vProd - vDesc - vICMSDeson + vST + vFCPST + vFrete + vSeg + vOutro + vII + vIPI
#       + vIPIDevol  (MOC 4.00, rule W16-10)
_ADDED = ("vST", "vFCPST", "vFrete", "vSeg", "vOutro", "vII", "vIPI", "vIPIDevol")
_SUBTRACTED = ("vDesc", "vICMSDeson")


def parse_stamp(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _money(element: etree._Element | None, path: str) -> Decimal:
    try:
        return Decimal(find_text(element, path) or "0")
    except InvalidOperation:
        return Decimal("NaN")


def check_nfe(inf: etree._Element, now: datetime) -> None:
    """Raise the Rejection an authoriser would give this infNFe, if any."""
    if find_text(inf, "n:ide/n:tpAmb") != HOMOLOGATION:
        raise Rejection(252, "Rejeição: Ambiente informado diverge do Ambiente de recebimento")
    emitted = parse_stamp(find_text(inf, "n:ide/n:dhEmi"))
    if emitted is None:
        raise Rejection(225, "Rejeição: Falha no Schema XML da NFe: dhEmi sem fuso horário")
    if now - emitted > EMISSION_TOO_OLD:
        raise Rejection(228, "Rejeição: Data de Emissão muito atrasada")
    if emitted - now > CLOCK_TOLERANCE:
        raise Rejection(703, "Rejeição: Data-Hora de Emissão posterior ao horário de recebimento")
    _check_regime(inf)
    _check_recipient(inf)
    _check_totals(inf)


def _check_regime(inf: etree._Element) -> None:
    crt = find_text(inf, "n:emit/n:CRT")
    for icms in inf.findall("n:det/n:imposto/n:ICMS", _N):
        group = icms[0] if len(icms) else None
        if group is None:
            continue
        has_csosn = group.find("{*}CSOSN") is not None
        if has_csosn and crt not in SIMPLES_CRTS:
            raise Rejection(
                591,
                "Rejeição: Informado CSOSN para emissor que não é do Simples Nacional "
                "(CRT diferente de 1)",
            )
        if not has_csosn and crt in SIMPLES_CRTS:
            raise Rejection(590, "Rejeição: Informado CST para emissor do Simples Nacional (CRT=1)")


def _check_recipient(inf: etree._Element) -> None:
    cpf = find_text(inf, "n:dest/n:CPF")
    if cpf and not CPF().validate(cpf):
        raise Rejection(237, "Rejeição: CPF do destinatário inválido")


def _check_totals(inf: etree._Element) -> None:
    items = sum((_money(prod, "n:vProd") for prod in inf.findall("n:det/n:prod", _N)), Decimal(0))
    tot = inf.find("n:total/n:ICMSTot", _N)
    if items != _money(tot, "n:vProd"):
        raise Rejection(564, "Rejeição: Total do Produto / Serviço difere do somatório dos itens")
    expected = _money(tot, "n:vProd")
    expected -= sum((_money(tot, f"n:{name}") for name in _SUBTRACTED), Decimal(0))
    expected += sum((_money(tot, f"n:{name}") for name in _ADDED), Decimal(0))
    if expected != _money(tot, "n:vNF"):
        raise Rejection(
            610, "Rejeição: Total da NF difere do somatório dos Valores compõe o valor Total da NF"
        )


def check_event_time(
    event_at: datetime | None, emitted: datetime | None, authorised: datetime, now: datetime
) -> None:
    """An event's dhEvento against the NF-e's emission and authorisation, to the second
    (the precision both are written with)."""
    if event_at is None:
        raise Rejection(215, "Rejeição: Falha no schema XML: dhEvento sem fuso horário")
    seconds = event_at.replace(microsecond=0)
    if seconds - now > CLOCK_TOLERANCE:
        raise Rejection(
            578, "Rejeição: A data do evento não pode ser maior que a data do processamento"
        )
    if emitted is not None and seconds < emitted.replace(microsecond=0):
        raise Rejection(
            577, "Rejeição: A data do evento não pode ser menor que a data de emissão da NF-e"
        )
    if seconds < authorised.replace(microsecond=0):
        raise Rejection(
            579,
            "Rejeição: A data do evento não pode ser menor que a data de autorização para "
            "NF-e não emitida em contingência",
        )
