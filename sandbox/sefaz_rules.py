"""Business rules a real SEFAZ authoriser enforces on an NF-e and on its events, each
with the real cStat and xMotivo (../shared/reference/brazil-ecommerce.md; Manual de
Orientação do Contribuinte, NT 2016.002 and later). Pure functions over the parsed
document; the sandbox imports none of our code, so the tables here are its own.

Checked in the order an authoriser does: environment, dates, issuer, intermediary,
regime, recipient, products, interstate taxes, totals."""

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
# indPres 2 internet, 3 phone, 4 NFC-e delivery, 9 other: not in person (NT 2020.006)
REMOTE_SALE = frozenset({"2", "3", "4", "9"})
INTERMEDIATED_ALLOWED = REMOTE_SALE | {"1"}
# Interstate ICMS ceilings (Senate Resolutions 22/1989, 13/2012): 4% for imported goods,
# 7% from the South/Southeast but ES to the N, NE, CO and ES, 12% otherwise.
IMPORTED_ORIGINS = frozenset({"1", "2", "3", "8"})
SOUTH_SOUTHEAST = frozenset({"SP", "RJ", "MG", "PR", "SC", "RS"})
SALE_TO_ORDER_CFOPS = frozenset({"6118", "6119", "6122", "6123"})  # venda à ordem
# No ICMSUFDest needed: exempt, immune or untaxed lines, and these CFOPs (NA01-20).
UNTAXED_ICMS = frozenset({"40", "41", "103", "300", "400"})
NO_DIFAL_CFOPS = frozenset({"6552", "6922", "6929"})

# IBGE state codes: the first two digits of each of the state's municipality codes.
CUF_BY_UF = {
    "RO": "11", "AC": "12", "AM": "13", "RR": "14", "PA": "15", "AP": "16", "TO": "17",
    "MA": "21", "PI": "22", "CE": "23", "RN": "24", "PB": "25", "PE": "26", "AL": "27",
    "SE": "28", "BA": "29", "MG": "31", "ES": "32", "RJ": "33", "SP": "35", "PR": "41",
    "SC": "42", "RS": "43", "MS": "50", "MT": "51", "GO": "52", "DF": "53",
}  # fmt: skip
# Municipality codes IBGE issued with a check digit its algorithm does not give, which
# SEFAZ accepts (NT 2008.004).
CITY_CODE_EXCEPTIONS = frozenset(
    "2201919 2201988 2202251 2611533 3117836 3152131 4305871 5203939 5203962".split()
)
ABROAD = "EX"  # UF of a foreign recipient; its cMun is 9999999, checked elsewhere (509)

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
    _check_issuer(inf)
    _check_intermediary(inf)
    _check_regime(inf)
    _check_recipient(inf)
    _check_products(inf)
    _check_interstate_rates(inf)
    _check_destination_icms(inf)
    _check_totals(inf)


def _outgoing_sale(inf: etree._Element) -> bool:
    """tpNF 1 (exit) and finNFe 1 (normal): where the operation's own rules apply."""
    return find_text(inf, "n:ide/n:tpNF") == "1" and find_text(inf, "n:ide/n:finNFe") == "1"


def _check_intermediary(inf: etree._Element) -> None:
    """NT 2020.006, rules B25c-10 and B25c-20."""
    presence = find_text(inf, "n:ide/n:indPres")
    intermediated = find_text(inf, "n:ide/n:indIntermed")
    if presence in REMOTE_SALE and not intermediated and _outgoing_sale(inf):
        raise Rejection(434, "Rejeição: NF-e sem indicativo do intermediador")
    if intermediated == "1" and presence not in INTERMEDIATED_ALLOWED:
        raise Rejection(435, "Rejeição: NF-e não pode ter o indicativo do intermediador")


def _icms_group(det: etree._Element) -> etree._Element | None:
    icms = det.find("n:imposto/n:ICMS", _N)
    return icms[0] if icms is not None and len(icms) else None


def _check_products(inf: etree._Element) -> None:
    for prod in inf.findall("n:det/n:prod", _N):
        for tag in ("cEAN", "cEANTrib"):
            code = find_text(prod, f"n:{tag}")
            if code and code != "SEM GTIN" and not _gtin_check_digit_ok(code):
                raise Rejection(611, "Rejeição: GTIN (cEAN) inválido")


def _gtin_check_digit_ok(code: str) -> bool:
    body, check = code[:-1], int(code[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _interstate_ceiling(origin_uf: str, destination_uf: str, origin: str) -> Decimal:
    if origin in IMPORTED_ORIGINS:
        return Decimal("4.00")
    if origin_uf in SOUTH_SOUTHEAST and destination_uf not in SOUTH_SOUTHEAST:
        return Decimal("7.00")
    return Decimal("12.00")


def _check_interstate_rates(inf: etree._Element) -> None:
    """An interstate sale's pICMS above the Senate's ceiling for its route and origin."""
    if find_text(inf, "n:ide/n:idDest") != "2" or not _outgoing_sale(inf):
        return
    origin_uf = find_text(inf, "n:emit/n:enderEmit/n:UF")
    destination_uf = find_text(inf, "n:dest/n:enderDest/n:UF")
    for det in inf.findall("n:det", _N):
        group = _icms_group(det)
        if group is None or group.find("{*}pICMS") is None:
            continue
        if find_text(det, "n:prod/n:CFOP") in SALE_TO_ORDER_CFOPS:
            continue
        rate = _money(group, "{*}pICMS")
        ceiling = _interstate_ceiling(origin_uf, destination_uf, find_text(group, "{*}orig"))
        if not rate <= ceiling:
            raise Rejection(
                693, "Rejeição: Alíquota de ICMS superior a definida para a operação interestadual"
            )


def _check_destination_icms(inf: etree._Element) -> None:
    """NA01-20: an interstate sale to a final consumer who pays no ICMS carries, on every
    taxed line, the ICMS due to the destination state (ICMSUFDest, EC 87/2015). Not for
    Simples Nacional issuers, services, exempt or untaxed lines, or delivery in the
    issuer's own state."""
    ide = "n:ide/n:"
    if (
        find_text(inf, ide + "idDest") != "2"
        or find_text(inf, ide + "indFinal") != "1"
        or find_text(inf, "n:dest/n:indIEDest") != "9"
        or find_text(inf, ide + "tpNF") != "1"
        or find_text(inf, ide + "finNFe") in {"2", "3"}
        or find_text(inf, "n:emit/n:CRT") in SIMPLES_CRTS
        or find_text(inf, "n:entrega/n:UF") == find_text(inf, "n:emit/n:enderEmit/n:UF")
    ):
        return
    for det in inf.findall("n:det", _N):
        group = _icms_group(det)
        if group is None or det.find("n:imposto/n:ISSQN", _N) is not None:
            continue
        situation = find_text(group, "{*}CST") or find_text(group, "{*}CSOSN")
        if situation in UNTAXED_ICMS or group.tag.endswith("ICMSPart"):
            continue
        if find_text(det, "n:prod/n:CFOP") in NO_DIFAL_CFOPS:
            continue
        if det.find("n:imposto/n:ICMSUFDest", _N) is None:
            raise Rejection(694, "Rejeição: Não informado o grupo de ICMS para a UF de destino")


def city_code_digit_ok(code: str) -> bool:
    """IBGE's check digit: modulo 10 with weights 1, 2, 1, 2, 1, 2, digits of each
    product added; the known exceptions pass."""
    if len(code) != 7 or not code.isascii() or not code.isdigit():
        return False
    if code in CITY_CODE_EXCEPTIONS:
        return True
    products = (int(d) * w for d, w in zip(code[:6], (1, 2, 1, 2, 1, 2), strict=True))
    total = sum(p // 10 + p % 10 for p in products)
    return (10 - total % 10) % 10 == int(code[6])


def _check_issuer(inf: etree._Element) -> None:
    _check_city(
        inf.find("n:emit/n:enderEmit", _N),
        (272, "Rejeição: Código Município do Emitente: dígito inválido"),
        (273, "Rejeição: Código Município do Emitente: difere da UF do emitente"),
    )


def _check_city(
    where: etree._Element | None, bad_digit: tuple[int, str], other_state: tuple[int, str]
) -> None:
    """An address's cMun: its check digit, then its first two digits against its UF."""
    code, uf = find_text(where, "n:cMun"), find_text(where, "n:UF")
    if not city_code_digit_ok(code):
        raise Rejection(*bad_digit)
    if code[:2] != CUF_BY_UF.get(uf):
        raise Rejection(*other_state)


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
    where = inf.find("n:dest/n:enderDest", _N)
    if where is None or find_text(where, "n:UF") == ABROAD:
        return
    _check_city(
        where,
        (274, "Rejeição: Código Município do Destinatário: dígito inválido"),
        (275, "Rejeição: Código Município do Destinatário: difere da UF do Destinatário"),
    )


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
