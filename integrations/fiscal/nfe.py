"""NF-e 4.00 (model 55) built with nfelib's bindings, and the nfeProc that joins the
signed NF-e to SEFAZ's protocol. Signing: `integrations.fiscal.signing`; XSD:
`integrations.fiscal.schema`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from lxml import etree
from nfelib.nfe.bindings.v4_0.leiaute_nfe_v4_00 import Tendereco, TenderEmi, TinfRespTec, Tnfe
from nfelib.nfe.bindings.v4_0.nfe_v4_00 import Nfe

from domain.fiscal import CUF_BY_UF, InvoiceLine, InvoiceRequest, Issuer, access_key, numeric_code
from domain.money import cents
from domain.nfe_fields import Intermediary, TechnicalContact, nfe_gtin, payment_means
from domain.nfe_text import text
from domain.orders import Address, Channel
from domain.taxes import (
    LineTaxes,
    Operation,
    TaxableLine,
    TaxRules,
    TaxTotals,
    apportion,
    line_taxes,
    totals,
)
from integrations.fiscal.nfe_taxes import ZERO as _ZERO
from integrations.fiscal.nfe_taxes import money as _money
from integrations.fiscal.nfe_taxes import tax_groups
from integrations.fiscal.xml import render

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
HOMOLOGATION_NAME = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
# Brazil has had no daylight saving time since 2019: Brasília time is UTC-3 all year.
BRASILIA = timezone(timedelta(hours=-3))


@dataclass(frozen=True)
class BuiltNfe:
    """An NF-e ready to sign: `xml` is the `<NFe>` document without its signature."""

    access_key: str
    xml: str

    @property
    def reference_id(self) -> str:
        """The infNFe Id the signature references."""
        return f"NFe{self.access_key}"


def brasilia_time(moment: datetime) -> datetime:
    """The NF-e's local time, to the second (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BRASILIA).replace(microsecond=0)


def _kg(grams: int) -> str:
    return f"{Decimal(grams) / 1000:.3f}"


class NfeBuilder:
    """Turns an `InvoiceRequest` into a complete NF-e 4.00 for a sale to a consumer.

    The taxes come from `domain.taxes` with the seller's `TaxRules`: CSOSN for CRT 1/4
    (Simples Nacional, MEI), CST for CRT 2/3 (SEFAZ: 590/591), the interstate rate by
    origin, DIFAL (ICMSUFDest) on interstate sales by a regime-normal seller, vTotTrib.
    The channel decides the intermediary (infIntermed), the payment the pag group, the
    products' weights the volume. The same request always gives the same XML and access
    key: retries and the look-before-act consult rely on it."""

    def __init__(
        self,
        issuer: Issuer,
        *,
        taxes: TaxRules | None = None,
        intermediaries: Mapping[str, Intermediary] | None = None,
        card_processors: Mapping[str, str] | None = None,
        technical_contact: TechnicalContact | None = None,
        software: str = "Retaguarda 0.1",
    ) -> None:
        self.issuer = issuer
        self.taxes = taxes or TaxRules()
        self.intermediaries = dict(intermediaries or {})  # channel -> the platform
        self.card_processors = dict(card_processors or {})  # channel -> processor CNPJ
        self.technical_contact = technical_contact
        self.software = software

    def access_key(self, request: InvoiceRequest) -> str:
        """The chNFe this request gets, without building the document."""
        return access_key(
            uf=self.issuer.address.state,
            issued_at=brasilia_time(request.issued_at),
            cnpj=self.issuer.cnpj,
            series=request.series,
            number=request.number,
            cnf=numeric_code(request.order_id, request.number),
        )

    def operation(self, request: InvoiceRequest) -> Operation:
        return Operation(
            crt=self.issuer.crt,
            issuer_state=self.issuer.address.state,
            destination_state=request.order.customer.address.state,
        )

    def line_taxes(self, request: InvoiceRequest) -> list[tuple[InvoiceLine, Decimal, LineTaxes]]:
        """Each line with its share of the shipping and its taxes."""
        operation = self.operation(request)
        values = [cents(line.unit_price * line.quantity) for line in request.lines]
        freights = apportion(request.order.shipping_price, values)
        return [
            (
                line,
                freight,
                line_taxes(
                    self.taxes,
                    operation,
                    TaxableLine(ncm=line.ncm, origin=line.origin, value=value, freight=freight),
                    line.cfop,
                ),
            )
            for line, value, freight in zip(request.lines, values, freights, strict=True)
        ]

    def build(self, request: InvoiceRequest) -> BuiltNfe:
        key = self.access_key(request)
        lines = self.line_taxes(request)
        taxes = totals([taxed for _, _, taxed in lines])
        products = cents(
            sum((cents(ln.unit_price * ln.quantity) for ln, _, _ in lines), Decimal(0))
        )
        freight = cents(sum((f for _, f, _ in lines), Decimal(0)))
        total_nf = products + freight
        inf = Tnfe.InfNfe(
            versao="4.00",
            Id=f"NFe{key}",
            ide=self._ide(request, key),
            emit=self._emit(),
            dest=self._dest(request),
            det=[self._det(n, *line) for n, line in enumerate(lines, start=1)],
            total=Tnfe.InfNfe.Total(
                ICMSTot=self._icms_tot(taxes, products, freight, total_nf, lines)
            ),
            transp=self._transp(request),
            pag=self._pag(request, total_nf),
            infIntermed=self._intermediary(request),
            infAdic=Tnfe.InfNfe.InfAdic(infCpl=self._additional_info(request, taxes)),
            infRespTec=self._technical_contact(),
        )
        xml = render(Nfe(infNFe=inf))
        return BuiltNfe(access_key=key, xml=xml)

    # -- groups -------------------------------------------------------------------------

    def _ide(self, request: InvoiceRequest, key: str) -> Tnfe.InfNfe.Ide:
        return Tnfe.InfNfe.Ide(
            cUF=CUF_BY_UF[self.issuer.address.state],
            cNF=key[35:43],
            natOp="Venda de mercadoria",
            mod="55",
            serie=str(request.series),
            nNF=str(request.number),
            dhEmi=brasilia_time(request.issued_at).isoformat(),
            tpNF="1",
            idDest="2" if self.operation(request).interstate else "1",
            cMunFG=self.issuer.address.city_code,
            tpImp="1",
            tpEmis="1",
            cDV=key[43],
            tpAmb=str(self.issuer.environment),
            finNFe="1",
            indFinal="1",
            indPres="2",  # internet sale
            indIntermed="1" if request.order.channel == Channel.MARKETPLACE else "0",
            procEmi="0",
            verProc=text(self.software, 20),
        )

    def _emit(self) -> Tnfe.InfNfe.Emit:
        issuer, address = self.issuer, self.issuer.address
        return Tnfe.InfNfe.Emit(
            CNPJ=issuer.cnpj,
            xNome=text(issuer.name, 60),
            xFant=text(issuer.trade_name, 60) if issuer.trade_name.strip() else None,
            enderEmit=TenderEmi(**self._address(address)),
            IE=issuer.ie,
            CRT=issuer.crt,
        )

    def _dest(self, request: InvoiceRequest) -> Tnfe.InfNfe.Dest:
        customer = request.order.customer
        name = HOMOLOGATION_NAME if self.issuer.environment == 2 else text(customer.name, 60)
        phone = re.sub(r"\D", "", customer.phone)
        return Tnfe.InfNfe.Dest(
            CPF=customer.cpf,
            xNome=name,
            enderDest=Tendereco(
                **self._address(customer.address), fone=phone if 6 <= len(phone) <= 14 else None
            ),
            indIEDest="9",  # consumer, not a ICMS contributor
            email=text(customer.email, 60) if "@" in customer.email else None,
        )

    @staticmethod
    def _address(address: Address) -> dict[str, str | None]:
        return {
            "xLgr": text(address.street, 60),
            "nro": text(address.number, 60),
            "xCpl": text(address.complement, 60) if address.complement.strip() else None,
            "xBairro": text(address.district, 60),
            "cMun": address.city_code,
            "xMun": text(address.city, 60),
            "UF": address.state,
            "CEP": address.postal_code,
            "cPais": "1058",
            "xPais": "Brasil",
        }

    def _det(
        self, n: int, line: InvoiceLine, freight: Decimal, taxed: LineTaxes
    ) -> Tnfe.InfNfe.Det:
        value, gtin = cents(line.unit_price * line.quantity), nfe_gtin(line.gtin)
        prod = Tnfe.InfNfe.Det.Prod(
            cProd=text(line.sku, 60),
            cEAN=gtin,
            xProd=text(line.description, 120),
            NCM=line.ncm,
            CFOP=taxed.cfop,
            uCom="UN",
            qCom=f"{line.quantity}.0000",
            vUnCom=_money(line.unit_price),
            vProd=_money(value),
            cEANTrib=gtin,
            uTrib="UN",
            qTrib=f"{line.quantity}.0000",
            vUnTrib=_money(line.unit_price),
            vFrete=_money(freight) if freight else None,
            indTot="1",
        )
        return Tnfe.InfNfe.Det(nItem=str(n), prod=prod, imposto=tax_groups(taxed))

    @staticmethod
    def _icms_tot(
        taxes: TaxTotals,
        products: Decimal,
        freight: Decimal,
        total_nf: Decimal,
        lines: list[tuple[InvoiceLine, Decimal, LineTaxes]],
    ) -> Tnfe.InfNfe.Total.Icmstot:
        difal = any(taxed.difal is not None for _, _, taxed in lines)
        return Tnfe.InfNfe.Total.Icmstot(
            vBC=_money(taxes.base),
            vICMS=_money(taxes.icms),
            vICMSDeson=_ZERO,
            vFCPUFDest=_money(taxes.fcp_destination) if difal else None,
            vICMSUFDest=_money(taxes.icms_destination) if difal else None,
            vICMSUFRemet=_money(taxes.icms_origin) if difal else None,
            vFCP=_money(taxes.fcp),
            vBCST=_ZERO,
            vST=_ZERO,
            vFCPST=_ZERO,
            vFCPSTRet=_ZERO,
            vProd=_money(products),
            vFrete=_money(freight),
            vSeg=_ZERO,
            vDesc=_ZERO,
            vII=_ZERO,
            vIPI=_ZERO,
            vIPIDevol=_ZERO,
            vPIS=_money(taxes.pis),
            vCOFINS=_money(taxes.cofins),
            vOutro=_ZERO,
            vNF=_money(total_nf),
            vTotTrib=_money(taxes.approximate_tax),
        )

    @staticmethod
    def _transp(request: InvoiceRequest) -> Tnfe.InfNfe.Transp:
        """modFrete 0: the seller hires the carrier (CIF), whoever pays the shipping. One
        box per order (domain.freight.parcel_for); its weight is the goods' weight."""
        grams = sum(line.weight_g * line.quantity for line in request.lines)
        volume = Tnfe.InfNfe.Transp.Vol(qVol="1", esp="CAIXA", pesoL=_kg(grams), pesoB=_kg(grams))
        return Tnfe.InfNfe.Transp(modFrete="0", vol=[volume] if grams else [])

    def _pag(self, request: InvoiceRequest, total_nf: Decimal) -> Tnfe.InfNfe.Pag:
        order = request.order
        means = payment_means(order.payment_method)
        card = None
        if means.card_group:
            processor = self.card_processors.get(order.channel.value)
            integrated = processor is not None and order.payment_id is not None
            card = Tnfe.InfNfe.Pag.DetPag.Card(
                # 1: the payment is integrated with our system (e-commerce, NT 2020.006),
                # with the processor's CNPJ and its authorisation; 2: not integrated.
                tpIntegra="1" if integrated else "2",
                CNPJ=processor,
                tBand=means.brand,
                cAut=text(order.payment_id, 128) if integrated and order.payment_id else None,
            )
        detail = Tnfe.InfNfe.Pag.DetPag(
            indPag="0",  # paid up front
            tPag=means.code,
            xPag=text(means.description, 60) if means.description else None,
            vPag=_money(total_nf),
            card=card,
        )
        return Tnfe.InfNfe.Pag(detPag=[detail])

    def _intermediary(self, request: InvoiceRequest) -> Tnfe.InfNfe.InfIntermed | None:
        if request.order.channel != Channel.MARKETPLACE:
            return None
        platform = self.intermediaries.get(request.order.channel.value)
        if platform is None:
            raise ValueError(
                "a marketplace sale must name its platform (infIntermed): no intermediary "
                f"configured for {request.order.channel.value}"
            )
        return Tnfe.InfNfe.InfIntermed(
            CNPJ=platform.cnpj, idCadIntTran=text(platform.seller_id, 60)
        )

    def _technical_contact(self) -> TinfRespTec | None:
        contact = self.technical_contact
        if contact is None:
            return None
        return TinfRespTec(
            CNPJ=contact.cnpj,
            xContato=text(contact.contact, 60),
            email=text(contact.email, 60),
            fone=contact.phone,
        )

    def _additional_info(self, request: InvoiceRequest, taxes: TaxTotals) -> str:
        order = request.order
        parts = [f"Pedido {order.channel.value} {order.external_id}"]
        if order.payment_id:
            parts.append(f"Pagamento {order.payment_id}")
        if self.issuer.crt in {"1", "2", "4"}:
            parts.append(
                "DOCUMENTO EMITIDO POR ME OU EPP OPTANTE PELO SIMPLES NACIONAL. "
                "NAO GERA DIREITO A CREDITO FISCAL DE IPI"
            )
        if taxes.icms_destination or taxes.fcp_destination:
            parts.append(
                f"DIFAL EC 87/2015: ICMS UF destino R$ {_money(taxes.icms_destination)}, "
                f"FCP UF destino R$ {_money(taxes.fcp_destination)}"
            )
        parts.append(
            f"Val Aprox Tributos R$ {_money(taxes.approximate_tax)} (Lei 12.741/2012). Fonte: IBPT"
        )
        return text(". ".join(parts), 5000)


_NS = {"n": NFE_NS, "ds": "http://www.w3.org/2000/09/xmldsig#"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def digest_value(signed_nfe: str) -> str:
    """The signature's DigestValue: SEFAZ echoes it as the protocol's digVal."""
    root = etree.fromstring(signed_nfe.encode(), parser=_PARSER)
    return str(root.findtext(".//ds:DigestValue", default="", namespaces=_NS)).strip()


def protocol_digest(prot_nfe: str) -> str:
    root = etree.fromstring(prot_nfe.encode(), parser=_PARSER)
    return str(root.findtext(".//n:digVal", default="", namespaces=_NS)).strip()


def nfe_proc(signed_nfe: str, prot_nfe: str) -> str:
    """The distributable `nfeProc`: the signed NF-e followed by its authorisation
    protocol. The NF-e element is moved as is, so its signature stays valid."""
    proc = etree.Element(f"{{{NFE_NS}}}nfeProc", nsmap={None: NFE_NS}, versao="4.00")
    proc.append(etree.fromstring(signed_nfe.encode(), parser=_PARSER))
    proc.append(etree.fromstring(prot_nfe.encode(), parser=_PARSER))
    return str(etree.tostring(proc, encoding=str))
