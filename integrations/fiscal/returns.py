"""The return NF-e (devolução de venda) that undoes an authorised sale SEFAZ will no
longer cancel: past the cancellation window (501) or once the goods left (219).

It is derived from the authorised sale document itself, not rebuilt from the order, so
it mirrors exactly what was authorised (items, values, taxes) as an accountant expects:
tpNF 0 (entrada), finNFe 4, CFOP 1202/2202, the sale's key in NFref/refNFe, no payment
(tPag 90), no intermediary (indPres 0: the return is not a sale made through one)."""

from __future__ import annotations

from lxml import etree
from nfelib.nfe.bindings.v4_0.leiaute_nfe_v4_00 import Tnfe
from nfelib.nfe.bindings.v4_0.nfe_v4_00 import Nfe

from domain.fiscal import Issuer, access_key, numeric_code
from domain.fiscal_lifecycle import ReturnInvoiceRequest, return_cfop
from domain.nfe_text import text
from integrations.fiscal.nfe import BuiltNfe, brasilia_time
from integrations.fiscal.xml import render

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
RETURN_NATURE = "Devolucao de venda"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def return_allocation(order_id: str) -> str:
    """What the return NF-e's number is allocated to (an order has one sale number and
    at most one return number per series)."""
    return f"{order_id}/return"


def sale_document(authorised_xml: str) -> str:
    """The `<NFe>` of an nfeProc (or the NFe itself)."""
    root = etree.fromstring(authorised_xml.encode(), parser=_PARSER)
    nfe = root if root.tag == f"{{{NFE_NS}}}NFe" else root.find(f"{{{NFE_NS}}}NFe")
    if nfe is None:
        raise ValueError("the authorised document holds no NFe element")
    return str(etree.tostring(nfe, encoding=str))


def return_access_key(issuer: Issuer, request: ReturnInvoiceRequest, number: int) -> str:
    return access_key(
        uf=issuer.address.state,
        issued_at=brasilia_time(request.issued_at),
        cnpj=issuer.cnpj,
        series=request.series,
        number=number,
        cnf=numeric_code(return_allocation(request.order_id), number),
    )


def build_return(
    issuer: Issuer, authorised_xml: str, request: ReturnInvoiceRequest, number: int
) -> BuiltNfe:
    """The unsigned return NF-e for the sale in `authorised_xml` (its nfeProc)."""
    sale = Nfe.from_xml(sale_document(authorised_xml))
    inf = sale.infNFe
    sale_key = (inf.Id or "").removeprefix("NFe")
    if sale_key != request.refers_to:
        raise ValueError(
            f"the stored sale NF-e is {sale_key}, not {request.refers_to}: cannot return it"
        )
    key = return_access_key(issuer, request, number)
    ide = inf.ide
    ide.cNF, ide.cDV = key[35:43], key[43]
    ide.natOp = RETURN_NATURE
    ide.serie, ide.nNF = str(request.series), str(number)
    ide.dhEmi = brasilia_time(request.issued_at).isoformat()
    ide.dhSaiEnt = None
    ide.tpNF = "0"
    ide.tpEmis = "1"
    ide.finNFe = "4"
    ide.indPres = "0"
    ide.indIntermed = None
    ide.dhCont = ide.xJust = None
    ide.NFref = [Tnfe.InfNfe.Ide.Nfref(refNFe=sale_key)]
    inf.Id = f"NFe{key}"
    inf.infIntermed = None
    for det in inf.det:
        det.prod.CFOP = return_cfop(str(det.prod.CFOP))
    inf.pag = Tnfe.InfNfe.Pag(detPag=[Tnfe.InfNfe.Pag.DetPag(tPag="90", vPag="0.00")])
    note = f"Devolucao da NF-e {sale_key}: {request.reason}"
    inf.infAdic = Tnfe.InfNfe.InfAdic(infCpl=text(note, 5000))
    unsigned = Nfe(infNFe=inf)
    return BuiltNfe(access_key=key, xml=render(unsigned))
