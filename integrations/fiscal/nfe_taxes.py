"""The imposto group of an NF-e line, from the taxes `domain.taxes` computed: ICMS by
CST/CSOSN, ICMSUFDest (DIFAL), PIS, COFINS and vTotTrib."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

from nfelib.nfe.bindings.v4_0.leiaute_nfe_v4_00 import Tnfe

from domain.money import cents
from domain.taxes import LineTaxes

ZERO = "0.00"


def money(value: Decimal) -> str:
    return f"{cents(value):.2f}"


def rate(value: Decimal) -> str:
    """A percentage: two decimals, four when it has them (TDec_0302a04)."""
    return f"{value:.2f}" if value == round(value, 2) else f"{value:.4f}"


Imposto: TypeAlias = Tnfe.InfNfe.Det.Imposto


def tax_groups(taxed: LineTaxes) -> Tnfe.InfNfe.Det.Imposto:
    """A line's imposto: ICMS by CST/CSOSN, ICMSUFDest when DIFAL is due, PIS and COFINS,
    and vTotTrib."""
    if taxed.csosn is not None:
        icms = Imposto.Icms(ICMSSN102=Imposto.Icms.Icmssn102(orig=taxed.origin, CSOSN=taxed.csosn))
    elif taxed.taxed_icms:
        icms = Imposto.Icms(
            ICMS00=Imposto.Icms.Icms00(
                orig=taxed.origin,
                CST="00",
                modBC="3",  # value of the operation
                vBC=money(taxed.base),
                pICMS=rate(taxed.icms_rate),
                vICMS=money(taxed.icms),
                pFCP=rate(taxed.fcp_rate) if taxed.fcp else None,
                vFCP=money(taxed.fcp) if taxed.fcp else None,
            )
        )
    else:
        icms = Imposto.Icms(ICMS40=Imposto.Icms.Icms40(orig=taxed.origin, CST=taxed.cst))
    difal = taxed.difal
    uf_dest = None
    if difal is not None:
        uf_dest = Imposto.Icmsufdest(
            vBCUFDest=money(difal.base),
            vBCFCPUFDest=money(difal.base) if difal.fcp_rate else None,
            pFCPUFDest=rate(difal.fcp_rate),
            pICMSUFDest=rate(difal.destination_rate),
            pICMSInter=rate(difal.interstate_rate),
            pICMSInterPart=rate(difal.share),
            vFCPUFDest=money(difal.fcp),
            vICMSUFDest=money(difal.destination),
            vICMSUFRemet=money(difal.origin),
        )
    return Imposto(
        vTotTrib=money(taxed.approximate_tax),
        ICMS=icms,
        ICMSUFDest=uf_dest,
        PIS=_pis(taxed),
        COFINS=_cofins(taxed),
    )


def _pis(taxed: LineTaxes) -> Tnfe.InfNfe.Det.Imposto.Pis:
    if taxed.pis_cofins_cst == "01":
        return Imposto.Pis(
            PISAliq=Imposto.Pis.Pisaliq(
                CST="01",
                vBC=money(taxed.pis_cofins_base),
                pPIS=rate(taxed.pis_rate),
                vPIS=money(taxed.pis),
            )
        )
    if taxed.pis_cofins_cst == "49":  # Simples Nacional: paid in the DAS
        return Imposto.Pis(PISOutr=Imposto.Pis.Pisoutr(CST="49", vBC=ZERO, pPIS=ZERO, vPIS=ZERO))
    return Imposto.Pis(PISNT=Imposto.Pis.Pisnt(CST=taxed.pis_cofins_cst))


def _cofins(taxed: LineTaxes) -> Tnfe.InfNfe.Det.Imposto.Cofins:
    if taxed.pis_cofins_cst == "01":
        return Imposto.Cofins(
            COFINSAliq=Imposto.Cofins.Cofinsaliq(
                CST="01",
                vBC=money(taxed.pis_cofins_base),
                pCOFINS=rate(taxed.cofins_rate),
                vCOFINS=money(taxed.cofins),
            )
        )
    if taxed.pis_cofins_cst == "49":
        return Imposto.Cofins(
            COFINSOutr=Imposto.Cofins.Cofinsoutr(CST="49", vBC=ZERO, pCOFINS=ZERO, vCOFINS=ZERO)
        )
    return Imposto.Cofins(COFINSNT=Imposto.Cofins.Cofinsnt(CST=taxed.pis_cofins_cst))
