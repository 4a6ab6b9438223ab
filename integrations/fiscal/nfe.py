"""NF-e 4.00 (model 55) built with nfelib's bindings, and the nfeProc that joins the
signed NF-e to SEFAZ's protocol. Signing: `integrations.fiscal.signing`; XSD:
`integrations.fiscal.schema`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from lxml import etree
from nfelib.nfe.bindings.v4_0.leiaute_nfe_v4_00 import Tendereco, TenderEmi, Tnfe
from nfelib.nfe.bindings.v4_0.nfe_v4_00 import Nfe

from domain.fiscal import CUF_BY_UF, InvoiceLine, InvoiceRequest, Issuer, access_key, numeric_code
from domain.money import cents
from domain.orders import Address, Channel
from integrations.fiscal.xml import render

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
HOMOLOGATION_NAME = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
# Brazil has had no daylight saving time since 2019: Brasília time is UTC-3 all year.
BRASILIA = timezone(timedelta(hours=-3))
# tPag: 01 cash, 03 credit card, 04 debit card, 15 boleto, 17 Pix, 99 other.
PAYMENT_CODES = {
    "cash": "01",
    "credit_card": "03",
    "card": "03",
    "debit_card": "04",
    "boleto": "15",
    "pix": "17",
}
# Interstate ICMS is 7% from the South/Southeast (except ES) to the N, NE, CO and ES.
_SOUTH_SOUTHEAST = frozenset({"SP", "RJ", "MG", "PR", "SC", "RS"})
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class BuiltNfe:
    """An NF-e ready to sign: `xml` is the `<NFe>` document without its signature."""

    access_key: str
    xml: str

    @property
    def reference_id(self) -> str:
        """The infNFe Id the signature references."""
        return f"NFe{self.access_key}"


_TYPOGRAPHY = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
    }
)


def _ascii(ch: str) -> str:
    return unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()


def text(value: str, max_length: int) -> str:
    """Fit free text to the NF-e string type: Latin-1 only, no control characters,
    single spaces, trimmed. Accents stay; emoji and typographic dashes do not."""
    value = unicodedata.normalize("NFC", value).translate(_TYPOGRAPHY)
    value = "".join(ch if ord(ch) < 256 else _ascii(ch) for ch in value)
    value = re.sub(r"[\x00-\x1f\x7f-\x9f\s]+", " ", value).strip()
    return value[:max_length].rstrip() or "-"


def brasilia_time(moment: datetime) -> datetime:
    """The NF-e's local time, to the second (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BRASILIA).replace(microsecond=0)


def _money(value: Decimal) -> str:
    return f"{cents(value):.2f}"


def _rate(value: Decimal) -> str:
    return f"{value:.2f}"


class NfeBuilder:
    """Turns an `InvoiceRequest` into a complete NF-e 4.00 for a sale to a consumer.

    Taxes: CRT 1/4 (Simples Nacional, MEI) use CSOSN 102 and PIS/COFINS CST 49 with
    zero values; CRT 2 (Simples over its sub-limit) and CRT 3 (regime normal) must use
    CST, not CSOSN (SEFAZ: 591), and use ICMS00 (internal rate inside the state, 7%/12% across
    states) and PIS/COFINS CST 01 at the given rates. The same request always gives
    the same XML and access key: retries and the look-before-act consult rely on it."""

    def __init__(
        self,
        issuer: Issuer,
        *,
        icms_internal_rate: Decimal = Decimal("18.00"),
        pis_rate: Decimal = Decimal("0.65"),
        cofins_rate: Decimal = Decimal("3.00"),
        intermediaries: Mapping[str, str] | None = None,
        software: str = "Retaguarda 0.1",
    ) -> None:
        self.issuer = issuer
        self.icms_internal_rate = icms_internal_rate
        self.pis_rate = pis_rate
        self.cofins_rate = cofins_rate
        self.intermediaries = dict(intermediaries or {})  # channel -> intermediary CNPJ
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

    def build(self, request: InvoiceRequest) -> BuiltNfe:
        key = self.access_key(request)
        inf = Tnfe.InfNfe(
            versao="4.00",
            Id=f"NFe{key}",
            ide=self._ide(request, key),
            emit=self._emit(),
            dest=self._dest(request),
            det=[],
            transp=Tnfe.InfNfe.Transp(modFrete="0"),
        )
        totals = dict.fromkeys(("vBC", "vICMS", "vProd", "vFrete", "vPIS", "vCOFINS"), Decimal(0))
        freights = self._apportion(request)
        for n, (line, freight) in enumerate(zip(request.lines, freights, strict=True), start=1):
            det, values = self._det(n, line, freight, request)
            inf.det.append(det)
            for name, value in values.items():
                totals[name] += value
        total_nf = totals["vProd"] + totals["vFrete"]
        inf.total = Tnfe.InfNfe.Total(ICMSTot=self._icms_tot(totals, total_nf))
        inf.pag = self._pag(request, total_nf)
        if request.order.channel in self.intermediaries:
            inf.infIntermed = Tnfe.InfNfe.InfIntermed(
                CNPJ=self.intermediaries[request.order.channel],
                idCadIntTran=text(request.order.external_id, 60),
            )
        inf.infAdic = Tnfe.InfNfe.InfAdic(infCpl=self._additional_info(request))
        xml = render(Nfe(infNFe=inf))
        return BuiltNfe(access_key=key, xml=xml)

    # -- groups -------------------------------------------------------------------------

    def _interstate(self, request: InvoiceRequest) -> bool:
        return request.order.customer.address.state != self.issuer.address.state

    def _ide(self, request: InvoiceRequest, key: str) -> Tnfe.InfNfe.Ide:
        marketplace = request.order.channel == Channel.MARKETPLACE
        return Tnfe.InfNfe.Ide(
            cUF=CUF_BY_UF[self.issuer.address.state],
            cNF=key[35:43],
            natOp="Venda de mercadoria",
            mod="55",
            serie=str(request.series),
            nNF=str(request.number),
            dhEmi=brasilia_time(request.issued_at).isoformat(),
            tpNF="1",
            idDest="2" if self._interstate(request) else "1",
            cMunFG=self.issuer.address.city_code,
            tpImp="1",
            tpEmis="1",
            cDV=key[43],
            tpAmb=str(self.issuer.environment),
            finNFe="1",
            indFinal="1",
            indPres="2",  # internet sale
            indIntermed="1" if marketplace else "0",
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

    @staticmethod
    def _apportion(request: InvoiceRequest) -> list[Decimal]:
        """Split the order's shipping over the lines by value, in whole cents, by largest
        remainder: no part is negative and the parts add up to the shipping exactly."""
        shipping_cents = int(cents(request.order.shipping_price) * 100)
        values = [cents(line.unit_price * line.quantity) for line in request.lines]
        merchandise = sum(values, Decimal(0))
        if not shipping_cents or not merchandise:
            return [Decimal(0)] * len(values)
        shares = [shipping_cents * value / merchandise for value in values]
        parts = [int(share) for share in shares]
        by_remainder = sorted(range(len(shares)), key=lambda i: (parts[i] - shares[i], i))
        for i in by_remainder[: shipping_cents - sum(parts)]:
            parts[i] += 1
        return [Decimal(part) / 100 for part in parts]

    def _icms_rate(self, request: InvoiceRequest) -> Decimal:
        if not self._interstate(request):
            return self.icms_internal_rate
        origin = self.issuer.address.state
        destination = request.order.customer.address.state
        if origin in _SOUTH_SOUTHEAST and destination not in _SOUTH_SOUTHEAST:
            return Decimal("7.00")
        return Decimal("12.00")

    def _det(
        self, n: int, line: InvoiceLine, freight: Decimal, request: InvoiceRequest
    ) -> tuple[Tnfe.InfNfe.Det, dict[str, Decimal]]:
        value, cfop = cents(line.unit_price * line.quantity), line.cfop
        if self._interstate(request) and cfop.startswith("5"):
            cfop = "6" + cfop[1:]  # the CFOP's first digit follows the destination
        prod = Tnfe.InfNfe.Det.Prod(
            cProd=text(line.sku, 60),
            cEAN="SEM GTIN",
            xProd=text(line.description, 120),
            NCM=line.ncm,
            CFOP=cfop,
            uCom="UN",
            qCom=f"{line.quantity}.0000",
            vUnCom=_money(line.unit_price),
            vProd=_money(value),
            cEANTrib="SEM GTIN",
            uTrib="UN",
            qTrib=f"{line.quantity}.0000",
            vUnTrib=_money(line.unit_price),
            vFrete=_money(freight) if freight else None,
            indTot="1",
        )
        imposto = Tnfe.InfNfe.Det.Imposto
        values = {"vProd": value, "vFrete": freight}
        if self.issuer.crt in {"2", "3"}:
            base, rate = value + freight, self._icms_rate(request)
            vicms, vpis = cents(base * rate / _HUNDRED), cents(value * self.pis_rate / _HUNDRED)
            vcofins = cents(value * self.cofins_rate / _HUNDRED)
            icms = imposto.Icms(
                ICMS00=imposto.Icms.Icms00(
                    orig="0",
                    CST="00",
                    modBC="3",
                    vBC=_money(base),
                    pICMS=_rate(rate),
                    vICMS=_money(vicms),
                )
            )
            pis = imposto.Pis(
                PISAliq=imposto.Pis.Pisaliq(
                    CST="01", vBC=_money(value), pPIS=_rate(self.pis_rate), vPIS=_money(vpis)
                )
            )
            cofins = imposto.Cofins(
                COFINSAliq=imposto.Cofins.Cofinsaliq(
                    CST="01",
                    vBC=_money(value),
                    pCOFINS=_rate(self.cofins_rate),
                    vCOFINS=_money(vcofins),
                )
            )
            values |= {"vBC": base, "vICMS": vicms, "vPIS": vpis, "vCOFINS": vcofins}
        else:
            icms = imposto.Icms(ICMSSN102=imposto.Icms.Icmssn102(orig="0", CSOSN="102"))
            pis = imposto.Pis(
                PISOutr=imposto.Pis.Pisoutr(CST="49", vBC="0.00", pPIS="0.00", vPIS="0.00")
            )
            cofins = imposto.Cofins(
                COFINSOutr=imposto.Cofins.Cofinsoutr(
                    CST="49", vBC="0.00", pCOFINS="0.00", vCOFINS="0.00"
                )
            )
        det = Tnfe.InfNfe.Det(
            nItem=str(n), prod=prod, imposto=imposto(ICMS=icms, PIS=pis, COFINS=cofins)
        )
        return det, values

    @staticmethod
    def _icms_tot(totals: dict[str, Decimal], total_nf: Decimal) -> Tnfe.InfNfe.Total.Icmstot:
        zero = "0.00"
        return Tnfe.InfNfe.Total.Icmstot(
            vBC=_money(totals["vBC"]),
            vICMS=_money(totals["vICMS"]),
            vICMSDeson=zero,
            vFCP=zero,
            vBCST=zero,
            vST=zero,
            vFCPST=zero,
            vFCPSTRet=zero,
            vProd=_money(totals["vProd"]),
            vFrete=_money(totals["vFrete"]),
            vSeg=zero,
            vDesc=zero,
            vII=zero,
            vIPI=zero,
            vIPIDevol=zero,
            vPIS=_money(totals["vPIS"]),
            vCOFINS=_money(totals["vCOFINS"]),
            vOutro=zero,
            vNF=_money(total_nf),
        )

    @staticmethod
    def _pag(request: InvoiceRequest, total_nf: Decimal) -> Tnfe.InfNfe.Pag:
        method = request.order.payment_method.lower()
        code = PAYMENT_CODES.get(method, "99")
        detail = Tnfe.InfNfe.Pag.DetPag(
            indPag="0",  # paid up front
            tPag=code,
            xPag=text(method, 60) if code == "99" else None,
            vPag=_money(total_nf),
            # card and Pix payments carry the card group; 2 = not integrated with the POS
            card=Tnfe.InfNfe.Pag.DetPag.Card(tpIntegra="2") if code in {"03", "04", "17"} else None,
        )
        return Tnfe.InfNfe.Pag(detPag=[detail])

    def _additional_info(self, request: InvoiceRequest) -> str:
        order = request.order
        parts = [f"Pedido {order.channel.value} {order.external_id}"]
        if order.payment_id:
            parts.append(f"Pagamento {order.payment_id}")
        if self.issuer.crt in {"1", "2", "4"}:
            parts.append(
                "DOCUMENTO EMITIDO POR ME OU EPP OPTANTE PELO SIMPLES NACIONAL. "
                "NAO GERA DIREITO A CREDITO FISCAL DE IPI."
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
