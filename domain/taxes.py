"""Tax rules as data, and the NF-e taxes they give for a sale to a consumer (pure).

The rules (`TaxRules`) are settings (`RETAGUARDA_TAXES__...`, docs/fiscal.md); the
functions here turn them, the seller's regime (CRT) and the two states into each line's
ICMS / FCP / DIFAL / PIS / COFINS and the invoice totals, in whole cents:

- CFOP by operation: 5102 inside the state; across states 6108 to a non-contributor
  (a consumer), 6102 to a contributor.
- ICMS: regime normal (CRT 2, 3) taxes the line at the issuer state's internal rate
  inside the state, at the interstate rate across states (4% for imported goods, origin
  1, 2, 3 or 8; 7% from the South/Southeast except ES to the N, NE, CO and ES; else
  12%; Senate Resolutions 22/1989 and 13/2012). Simples Nacional (CRT 1, 4) uses CSOSN.
- DIFAL (EC 87/2015, LC 190/2022): an interstate sale to a non-contributor consumer by
  a regime-normal seller owes the destination state the difference between its internal
  rate and the interstate rate, 100% to the destination since 2019, plus the
  destination's FCP; base única (the line's value plus its freight).
- vTotTrib (Lei 12.741/2012): the approximate tax burden, a rate per NCM (IBPT's table).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from domain.money import cents
from domain.orders import UFS, Frozen

SIMPLES_CRTS = frozenset({"1", "4"})  # Simples Nacional, MEI: CSOSN
IMPORTED_ORIGINS = frozenset({"1", "2", "3", "8"})  # Res. SF 13/2012: 4% across states
SOUTH_SOUTHEAST = frozenset({"SP", "RJ", "MG", "PR", "SC", "RS"})  # ES is not, for the 7%
UNTAXED_CSTS = frozenset({"40", "41"})  # isenta, não tributada: no ICMS, no DIFAL
UNTAXED_CSOSNS = frozenset({"103", "300", "400"})
INTERSTATE_RATES = frozenset({Decimal("4.00"), Decimal("7.00"), Decimal("12.00")})
_HUNDRED = Decimal(100)
_ZERO = Decimal("0.00")

# Internal ("modal") ICMS rates per state, without FCP, as published for 2025. States
# change them by law, often yearly: check them with the accountant and override
# (RETAGUARDA_TAXES__INTERNAL_RATES__BA=20.5).
INTERNAL_RATES = {
    "AC": "19", "AL": "19", "AM": "20", "AP": "18", "BA": "20.5", "CE": "20", "DF": "20",
    "ES": "17", "GO": "19", "MA": "23", "MG": "18", "MS": "17", "MT": "17", "PA": "19",
    "PB": "20", "PE": "20.5", "PI": "22.5", "PR": "19.5", "RJ": "20", "RN": "20",
    "RO": "19.5", "RR": "20", "RS": "17", "SC": "17", "SE": "19", "SP": "18", "TO": "20",
}  # fmt: skip


class NcmRule(Frozen):
    """How the goods of one NCM, or of every NCM starting with a prefix, are taxed."""

    cst: str = Field(default="00", pattern=r"^(00|40|41)$", description="ICMS CST, regime normal")
    csosn: str = Field(
        default="102", pattern=r"^(102|103|300|400)$", description="ICMS CSOSN, Simples"
    )
    pis_cofins_cst: str = Field(
        default="01",
        pattern=r"^(01|04|05|06|07|08|09)$",
        description="regime normal: 01 taxed at the PIS/COFINS rates, else not taxed",
    )
    approximate_tax_rate: Decimal | None = Field(
        default=None, ge=0, le=100, description="Lei 12.741 %, else the rules' default"
    )


def _default_ncm_rules() -> dict[str, NcmRule]:
    # Books (NCM 4901): immune from ICMS (CF art. 150 VI d), PIS/COFINS at zero rate
    # (Lei 10.865/2004 art. 28 VI).
    return {
        "4901": NcmRule(
            cst="41", csosn="300", pis_cofins_cst="06", approximate_tax_rate=Decimal("0")
        )
    }


class TaxRules(Frozen):
    """The seller's tax table. Rates are percentages."""

    internal_rates: dict[str, Decimal] = Field(
        default_factory=lambda: {uf: Decimal(rate) for uf, rate in INTERNAL_RATES.items()}
    )
    fcp_rates: dict[str, Decimal] = Field(
        default_factory=lambda: {"RJ": Decimal("2"), "MG": Decimal("2")},
        description="Fundo de Combate à Pobreza per state (0 where absent)",
    )
    imported_rate: Decimal = Field(default=Decimal("4"), ge=0, le=100)
    south_to_north_rate: Decimal = Field(default=Decimal("7"), ge=0, le=100)
    interstate_rate: Decimal = Field(default=Decimal("12"), ge=0, le=100)
    pis_rate: Decimal = Field(default=Decimal("0.65"), ge=0, le=100)
    cofins_rate: Decimal = Field(default=Decimal("3.00"), ge=0, le=100)
    approximate_tax_rate: Decimal = Field(
        default=Decimal("31.45"), ge=0, le=100, description="Lei 12.741 % by default"
    )
    ncm: dict[str, NcmRule] = Field(
        default_factory=_default_ncm_rules,
        description="NCM or NCM prefix -> rule; the longest matching prefix wins",
    )

    @field_validator("internal_rates", "fcp_rates", mode="before")
    @classmethod
    def _states_upper_case(cls, value: Any) -> Any:
        # Environment variables arrive lower-cased (RETAGUARDA_TAXES__FCP_RATES__RJ).
        if isinstance(value, dict):
            value = {str(uf).upper(): rate for uf, rate in value.items()}
            unknown = sorted(set(value) - UFS)
            if unknown:
                raise ValueError(f"not Brazilian states (UF): {', '.join(unknown)}")
        return value

    @field_validator("ncm")
    @classmethod
    def _ncm_prefixes(cls, value: dict[str, NcmRule]) -> dict[str, NcmRule]:
        bad = [key for key in value if not (key.isdigit() and 2 <= len(key) <= 8)]
        if bad:
            raise ValueError(f"NCM rules are keyed by 2 to 8 digits, not {', '.join(bad)}")
        return value

    def rule_for(self, ncm: str) -> NcmRule:
        for length in range(len(ncm), 1, -1):
            if ncm[:length] in self.ncm:
                return self.ncm[ncm[:length]]
        return NcmRule()

    def internal_rate(self, uf: str) -> Decimal:
        if uf not in self.internal_rates:
            raise ValueError(
                f"no internal ICMS rate for {uf}: set RETAGUARDA_TAXES__INTERNAL_RATES"
            )
        return self.internal_rates[uf]

    def fcp_rate(self, uf: str) -> Decimal:
        return self.fcp_rates.get(uf, _ZERO)

    def interstate(self, origin_uf: str, destination_uf: str, origin: str) -> Decimal:
        """The interstate ICMS rate for goods of this origin between the two states."""
        if origin in IMPORTED_ORIGINS:
            return self.imported_rate
        if origin_uf in SOUTH_SOUTHEAST and destination_uf not in SOUTH_SOUTHEAST:
            return self.south_to_north_rate
        return self.interstate_rate


class Operation(Frozen):
    """Who sells to whom: what decides the CFOP and which groups a line carries."""

    crt: str = Field(pattern=r"^[1-4]$")
    issuer_state: str
    destination_state: str
    contributor: bool = False  # the recipient pays ICMS (has an IE); consumers do not

    @property
    def interstate(self) -> bool:
        return self.issuer_state != self.destination_state

    @property
    def simples(self) -> bool:
        return self.crt in SIMPLES_CRTS


def cfop(operation: Operation, internal: str = "5102") -> str:
    """The line's CFOP from the internal one (5102: resale of goods bought from others).
    Across states the first digit becomes 6; to a non-contributor, resale is 6108 and
    own production 6107."""
    if not operation.interstate:
        return internal
    if not operation.contributor and internal in {"5102", "5101"}:
        return {"5102": "6108", "5101": "6107"}[internal]
    return "6" + internal[1:]


class TaxableLine(Frozen):
    ncm: str = Field(pattern=r"^\d{8}$")
    origin: str = Field(default="0", pattern=r"^[0-8]$")
    value: Decimal = Field(ge=0, description="vProd, in cents")
    freight: Decimal = Field(default=_ZERO, ge=0, description="this line's share, cents")


class Difal(Frozen):
    """The ICMSUFDest group of one line."""

    base: Decimal  # vBCUFDest (and vBCFCPUFDest)
    fcp_rate: Decimal  # pFCPUFDest
    destination_rate: Decimal  # pICMSUFDest
    interstate_rate: Decimal  # pICMSInter
    share: Decimal = Decimal("100")  # pICMSInterPart: all to the destination since 2019
    fcp: Decimal  # vFCPUFDest
    destination: Decimal  # vICMSUFDest
    origin: Decimal = _ZERO  # vICMSUFRemet


class LineTaxes(Frozen):
    cfop: str
    origin: str
    cst: str | None = None  # regime normal
    csosn: str | None = None  # Simples Nacional
    base: Decimal = _ZERO  # vBC
    icms_rate: Decimal = _ZERO
    icms: Decimal = _ZERO
    fcp_rate: Decimal = _ZERO  # FCP inside the issuer's state
    fcp: Decimal = _ZERO
    pis_cofins_cst: str = "49"
    pis_cofins_base: Decimal = _ZERO
    pis_rate: Decimal = _ZERO
    pis: Decimal = _ZERO
    cofins_rate: Decimal = _ZERO
    cofins: Decimal = _ZERO
    difal: Difal | None = None
    approximate_tax: Decimal = _ZERO  # vTotTrib
    approximate_tax_rate: Decimal = _ZERO

    @property
    def taxed_icms(self) -> bool:
        return self.cst == "00"


class TaxTotals(Frozen):
    """The ICMSTot values the taxes decide (vProd, vFrete, vNF come from the lines)."""

    base: Decimal = _ZERO  # vBC
    icms: Decimal = _ZERO
    fcp: Decimal = _ZERO
    fcp_destination: Decimal = _ZERO  # vFCPUFDest
    icms_destination: Decimal = _ZERO  # vICMSUFDest
    icms_origin: Decimal = _ZERO  # vICMSUFRemet
    pis: Decimal = _ZERO
    cofins: Decimal = _ZERO
    approximate_tax: Decimal = _ZERO  # vTotTrib


def _part(base: Decimal, rate: Decimal) -> Decimal:
    return cents(base * rate / _HUNDRED)


def difal_due(operation: Operation) -> bool:
    """Whether an interstate line taxed by ICMS carries ICMSUFDest: to a non-contributor
    final consumer, from a regime-normal seller. SEFAZ exempts Simples Nacional (CRT 1)
    from the group (rule 694); their DIFAL is paid outside the NF-e."""
    return operation.interstate and not operation.contributor and not operation.simples


def line_taxes(
    rules: TaxRules, operation: Operation, line: TaxableLine, internal_cfop: str = "5102"
) -> LineTaxes:
    rule = rules.rule_for(line.ncm)
    approximate_rate = (
        rule.approximate_tax_rate
        if rule.approximate_tax_rate is not None
        else rules.approximate_tax_rate
    )
    common: dict[str, Any] = {
        "cfop": cfop(operation, internal_cfop),
        "origin": line.origin,
        "approximate_tax": _part(line.value, approximate_rate),
        "approximate_tax_rate": approximate_rate,
    }
    if operation.simples:
        return LineTaxes(csosn=rule.csosn, **common)
    if rule.pis_cofins_cst == "01":
        value = line.value
        common |= {
            "pis_cofins_cst": "01",
            "pis_cofins_base": value,
            "pis_rate": rules.pis_rate,
            "pis": _part(value, rules.pis_rate),
            "cofins_rate": rules.cofins_rate,
            "cofins": _part(value, rules.cofins_rate),
        }
    else:
        common["pis_cofins_cst"] = rule.pis_cofins_cst
    if rule.cst in UNTAXED_CSTS:
        return LineTaxes(cst=rule.cst, **common)
    base = line.value + line.freight
    if not operation.interstate:
        rate, fcp_rate = (
            rules.internal_rate(operation.issuer_state),
            rules.fcp_rate(operation.issuer_state),
        )
        return LineTaxes(
            cst="00",
            base=base,
            icms_rate=rate,
            icms=_part(base, rate),
            fcp_rate=fcp_rate,
            fcp=_part(base, fcp_rate),
            **common,
        )
    rate = rules.interstate(operation.issuer_state, operation.destination_state, line.origin)
    difal = None
    if difal_due(operation):
        destination_rate = rules.internal_rate(operation.destination_state)
        fcp_rate = rules.fcp_rate(operation.destination_state)
        difal = Difal(
            base=base,
            fcp_rate=fcp_rate,
            destination_rate=destination_rate,
            interstate_rate=rate,
            fcp=_part(base, fcp_rate),
            destination=_part(base, max(destination_rate - rate, _ZERO)),
        )
    return LineTaxes(
        cst="00", base=base, icms_rate=rate, icms=_part(base, rate), difal=difal, **common
    )


def totals(lines: Sequence[LineTaxes]) -> TaxTotals:
    """The ICMSTot tax values: each is the sum of the lines' (SEFAZ checks exactly that)."""

    def total(values: Sequence[Decimal]) -> Decimal:
        return cents(sum(values, _ZERO))

    difals = [line.difal for line in lines if line.difal is not None]
    return TaxTotals(
        base=total([line.base for line in lines]),
        icms=total([line.icms for line in lines]),
        fcp=total([line.fcp for line in lines]),
        fcp_destination=total([d.fcp for d in difals]),
        icms_destination=total([d.destination for d in difals]),
        icms_origin=total([d.origin for d in difals]),
        pis=total([line.pis for line in lines]),
        cofins=total([line.cofins for line in lines]),
        approximate_tax=total([line.approximate_tax for line in lines]),
    )


def apportion(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `amount` over the lines in proportion to `weights`, in whole cents, by
    largest remainder: no part is negative and the parts add up to `amount` exactly."""
    amount_cents = int(cents(amount) * 100)
    total = sum(weights, Decimal(0))
    if not amount_cents or not total:
        return [_ZERO] * len(weights)
    shares = [amount_cents * weight / total for weight in weights]
    parts = [int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (parts[i] - shares[i], i))
    for i in by_remainder[: amount_cents - sum(parts)]:
        parts[i] += 1
    return [cents(Decimal(part) / 100) for part in parts]
