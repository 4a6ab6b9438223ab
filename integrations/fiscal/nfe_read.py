"""Reading what an authorised NF-e says it taxed: per item (`det`), the taxes the seller
pays on the sale, for the contribution margin.

Counted: ICMS (own, ST, FCP and FCP-ST), IPI, PIS, COFINS, and the DIFAL due to the
destination state (vICMSUFDest, vFCPUFDest). Not counted: bases (vBC…), vTotTrib (an
estimate printed for the buyer, Lei 12.741), withheld amounts (…Ret) and vICMSDeson."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from lxml import etree

from domain.errors import DomainError

NS = "http://www.portalfiscal.inf.br/nfe"
TAXES = frozenset(
    {"vICMS", "vICMSST", "vFCP", "vFCPST", "vIPI", "vPIS", "vCOFINS", "vICMSUFDest", "vFCPUFDest"}
)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class NfeUnreadable(DomainError):
    pass


def item_taxes(xml: str) -> list[tuple[str, Decimal]]:
    """(cProd, taxes) per `det`, in the NF-e's item order (one SKU may appear twice)."""
    try:
        root = etree.fromstring(xml.encode(), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise NfeUnreadable(f"the stored NF-e is not XML: {exc}", code="nfe_unreadable") from exc
    out = []
    for det in root.iter(f"{{{NS}}}det"):
        sku = det.findtext(f"{{{NS}}}prod/{{{NS}}}cProd") or ""
        total = Decimal("0.00")
        imposto = det.find(f"{{{NS}}}imposto")
        if imposto is not None:
            for element in imposto.iter():
                name = etree.QName(element).localname if isinstance(element.tag, str) else ""
                if name in TAXES and element.text:
                    try:
                        total += Decimal(element.text.strip())
                    except InvalidOperation as exc:
                        raise NfeUnreadable(
                            f"the NF-e's {name} of item {sku} is not an amount: "
                            f"{element.text[:20]!r}",
                            code="nfe_unreadable",
                        ) from exc
        out.append((sku, total.quantize(Decimal("0.01"))))
    return out
