"""SEFAZ NF-e 4.00 web services over SOAP 1.2, as the real authorisers speak them.

Each call wraps the message in `<soap12:Envelope><soap12:Body><nfeDadosMsg>` and reads
the `ret*` answer out of `<nfeResultMsg>`. Errors are translated here: HTTP 5xx/429,
timeouts and cStat 108/109 (service paralysed) raise `ProviderUnavailable`; any cStat
outside the call's expected set raises `ProviderRejected(code="sefaz_<cStat>")`.
The expected sets hold the codes the invoicing service decides on (duplicity, not
found, already cancelled) so that it can look before it acts.

A real SEFAZ also needs mutual TLS with the A1 certificate: that is the httpx client's
configuration (`cert=`), made at the composition root.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx
from lxml import etree

from domain.errors import ProviderRejected, ProviderUnavailable
from domain.fiscal import CUF_BY_UF
from integrations.http import send
from integrations.sefaz.endpoints import Authoriser, authoriser_of, contingency_of

PROVIDER = "sefaz"
NFE_NS = "http://www.portalfiscal.inf.br/nfe"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSDL_NS = "http://www.portalfiscal.inf.br/nfe/wsdl"
# service -> SOAP operation
SERVICES = {
    "NFeAutorizacao4": "nfeAutorizacaoLote",
    "NFeConsultaProtocolo4": "nfeConsultaNF",
    "NFeRecepcaoEvento4": "nfeRecepcaoEvento",
    "NFeStatusServico4": "nfeStatusServicoNF",
    "NFeInutilizacao4": "nfeInutilizacaoNF",
    "NFeRetAutorizacao4": "nfeRetAutorizacaoLote",
}
UNAVAILABLE = frozenset({108, 109})
# 656 "Consumo Indevido": the authoriser blocks an issuer that calls too often (the same
# consult repeated, a loop). Not a rejection of the document: back off, then retry.
MISUSE_BLOCK = 656
MISUSE_BACKOFF_S = 300.0
RECEIVED, PROCESSING = 103, 105
AUTHORISATION_EXPECTED = frozenset({100, 103, 104, 105, 106, 204, 539})
CONSULT_EXPECTED = frozenset({100, 101, 110, 150, 151, 155, 217, 301, 302})
EVENT_EXPECTED = frozenset({135, 136, 155, 573})
# 102 voided; 241 a number of the range was used; 256 a number is voided already;
# 563 the same range was voided before (a retry)
VOIDING_EXPECTED = frozenset({102, 241, 256, 563})
_N = {"n": NFE_NS}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class AuthorisationResult:
    """The NF-e's outcome: from protNFe when SEFAZ processed it, else the batch's."""

    cstat: int
    reason: str
    access_key: str | None = None
    protocol: str | None = None
    received_at: datetime | None = None
    prot_xml: str | None = None  # the <protNFe> element, for the nfeProc


@dataclass(frozen=True)
class ConsultResult:
    cstat: int
    reason: str
    access_key: str | None = None
    protocol: str | None = None  # the authorisation protocol
    authorised_at: datetime | None = None
    prot_xml: str | None = None
    cancellation_protocol: str | None = None  # when cStat is 101
    events: tuple[str, ...] = ()  # the procEventoNFe elements SEFAZ holds for the NF-e


@dataclass(frozen=True)
class EventResult:
    cstat: int
    reason: str
    access_key: str | None = None
    protocol: str | None = None
    registered_at: datetime | None = None
    ret_xml: str | None = None  # the <retEvento> element


@dataclass(frozen=True)
class VoidingResult:
    cstat: int
    reason: str
    protocol: str | None = None
    received_at: datetime | None = None
    ret_xml: str | None = None  # the <retInutNFe>, for the procInutNFe


@dataclass(frozen=True)
class StatusResult:
    cstat: int
    reason: str
    checked_at: datetime | None = None
    average_seconds: int | None = None


class SefazClient:
    """One authoriser (a state's SEFAZ or SVRS) in one environment (tpAmb)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        uf: str,
        environment: int,
        *,
        endpoints: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        authoriser: Authoriser | None = None,
        receipt_polls: int = 5,
    ) -> None:
        self._http = http
        self._uf = uf
        self._environment = environment
        self._timeout = timeout
        self._receipt_polls = receipt_polls
        self.authoriser = authoriser or authoriser_of(uf)
        self._urls = self.authoriser.urls(base_url) | dict(endpoints or {})

    def contingency(self, base_url: str) -> SefazClient:
        """A client for the SVC that takes over this state's authorisations."""
        return SefazClient(
            self._http,
            base_url,
            self._uf,
            self._environment,
            timeout=self._timeout,
            authoriser=contingency_of(self._uf),
            receipt_polls=self._receipt_polls,
        )

    async def authorise(self, signed_nfe: str) -> AuthorisationResult:
        """NFeAutorizacao4, one NF-e, synchronous (indSinc 1)."""
        nfe = _parse(signed_nfe.encode())
        key = _key_of(nfe)
        message = etree.Element(f"{{{NFE_NS}}}enviNFe", nsmap={None: NFE_NS}, versao="4.00")
        _sub(message, "idLote", _batch_id(key or signed_nfe))
        _sub(message, "indSinc", "1")
        message.append(nfe)
        ret = await self._call("NFeAutorizacao4", message, "retEnviNFe")
        if _cstat(ret) == RECEIVED:
            ret = await self._wait_for_batch(ret)
        prot = ret.find("n:protNFe", _N)
        if prot is None:
            result = AuthorisationResult(cstat=_cstat(ret), reason=_text(ret, "n:xMotivo"))
        else:
            result = AuthorisationResult(
                cstat=_cstat(prot.find("n:infProt", _N)),
                reason=_text(prot, "n:infProt/n:xMotivo"),
                access_key=_text(prot, "n:infProt/n:chNFe") or None,
                protocol=_text(prot, "n:infProt/n:nProt") or None,
                received_at=_when(_text(prot, "n:infProt/n:dhRecbto")),
                prot_xml=_xml(prot),
            )
        _check(result.cstat, result.reason, AUTHORISATION_EXPECTED, "authorisation")
        return result

    async def _wait_for_batch(self, received: etree._Element) -> etree._Element:
        """103: the authoriser took the batch to process later. Ask NFeRetAutorizacao4
        for its outcome, waiting tMed between asks; still 105 after the last ask gives
        105 back (the next attempt consults by key before sending again)."""
        number = _text(received, "n:infRec/n:nRec")
        average = _text(received, "n:infRec/n:tMed")
        wait = min(float(average) if average.isdigit() else 1.0, 5.0)
        ret = received
        for _ in range(self._receipt_polls):
            await asyncio.sleep(wait)
            message = etree.Element(f"{{{NFE_NS}}}consReciNFe", nsmap={None: NFE_NS}, versao="4.00")
            _sub(message, "tpAmb", str(self._environment))
            _sub(message, "nRec", number)
            ret = await self._call("NFeRetAutorizacao4", message, "retConsReciNFe")
            if _cstat(ret) != PROCESSING:
                break
        return ret

    async def consult(self, access_key: str) -> ConsultResult:
        """NFeConsultaProtocolo4: the NF-e's situation by access key."""
        message = etree.Element(f"{{{NFE_NS}}}consSitNFe", nsmap={None: NFE_NS}, versao="4.00")
        _sub(message, "tpAmb", str(self._environment))
        _sub(message, "xServ", "CONSULTAR")
        _sub(message, "chNFe", access_key)
        ret = await self._call("NFeConsultaProtocolo4", message, "retConsSitNFe")
        cstat, reason = _cstat(ret), _text(ret, "n:xMotivo")
        _check(cstat, reason, CONSULT_EXPECTED, f"consult of {access_key}")
        prot = ret.find("n:protNFe", _N)
        cancel = _text(ret, "n:procEventoNFe/n:retEvento/n:infEvento[n:tpEvento='110111']/n:nProt")
        return ConsultResult(
            cstat=cstat,
            reason=reason,
            access_key=_text(ret, "n:chNFe") or None,
            protocol=_text(prot, "n:infProt/n:nProt") or None,
            authorised_at=_when(_text(prot, "n:infProt/n:dhRecbto")),
            prot_xml=_xml(prot),
            cancellation_protocol=cancel or None,
            events=tuple(
                str(etree.tostring(p, encoding=str)) for p in ret.iterfind("n:procEventoNFe", _N)
            ),
        )

    async def send_event(self, signed_event: str) -> EventResult:
        """NFeRecepcaoEvento4 with one signed `<evento>` (e.g. cancellation 110111)."""
        event = _parse(signed_event.encode())
        event_id = event.find("n:infEvento", _N)
        message = etree.Element(f"{{{NFE_NS}}}envEvento", nsmap={None: NFE_NS}, versao="1.00")
        ref = event_id.get("Id", "") if event_id is not None else signed_event
        _sub(message, "idLote", _batch_id(ref))
        message.append(event)
        ret = await self._call("NFeRecepcaoEvento4", message, "retEnvEvento")
        info = ret.find("n:retEvento/n:infEvento", _N)
        if info is None:
            result = EventResult(cstat=_cstat(ret), reason=_text(ret, "n:xMotivo"))
        else:
            result = EventResult(
                cstat=_cstat(info),
                reason=_text(info, "n:xMotivo"),
                access_key=_text(info, "n:chNFe") or None,
                protocol=_text(info, "n:nProt") or None,
                registered_at=_when(_text(info, "n:dhRegEvento")),
                ret_xml=_xml(ret.find("n:retEvento", _N)),
            )
        _check(result.cstat, result.reason, EVENT_EXPECTED, "event")
        return result

    async def void_numbers(self, signed_request: str) -> VoidingResult:
        """NFeInutilizacao4 with one signed `<inutNFe>` (a range of unused numbers)."""
        message = _parse(signed_request.encode())
        ret = await self._call("NFeInutilizacao4", message, "retInutNFe")
        info = ret.find("n:infInut", _N)
        cstat, reason = _cstat(info), _text(info, "n:xMotivo")
        _check(cstat, reason, VOIDING_EXPECTED, "voiding")
        return VoidingResult(
            cstat=cstat,
            reason=reason,
            protocol=_text(info, "n:nProt") or None,
            received_at=_when(_text(info, "n:dhRecbto")),
            ret_xml=_xml(ret),
        )

    async def status(self) -> StatusResult:
        """NFeStatusServico4: 107 when the service is running."""
        message = etree.Element(f"{{{NFE_NS}}}consStatServ", nsmap={None: NFE_NS}, versao="4.00")
        _sub(message, "tpAmb", str(self._environment))
        _sub(message, "cUF", CUF_BY_UF[self._uf])
        _sub(message, "xServ", "STATUS")
        ret = await self._call("NFeStatusServico4", message, "retConsStatServ")
        cstat, reason = _cstat(ret), _text(ret, "n:xMotivo")
        _check(cstat, reason, frozenset({107}), "status")
        average = _text(ret, "n:tMed")
        return StatusResult(
            cstat=cstat,
            reason=reason,
            checked_at=_when(_text(ret, "n:dhRecbto")),
            average_seconds=int(average) if average.isdigit() else None,
        )

    async def _call(self, service: str, message: etree._Element, answer: str) -> etree._Element:
        operation = SERVICES[service]
        envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"soap12": SOAP12_NS})
        body = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body")
        data = etree.SubElement(
            body, f"{{{WSDL_NS}/{service}}}nfeDadosMsg", nsmap={None: f"{WSDL_NS}/{service}"}
        )
        data.append(message)
        content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        action = f"{WSDL_NS}/{service}/{operation}"
        response = await send(
            self._http,
            PROVIDER,
            "POST",
            self._urls[service],
            content=content,
            headers={"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'},
            timeout=self._timeout,
        )
        try:
            root = _parse(response.content)
        except etree.XMLSyntaxError as exc:
            raise ProviderUnavailable(
                f"SEFAZ {service} answered something that is not XML: {response.text[:200]!r}",
                provider=PROVIDER,
                code="sefaz_bad_response",
            ) from exc
        fault = root.find(f".//{{{SOAP12_NS}}}Fault")
        if fault is not None:
            detail = " ".join("".join(fault.itertext()).split())
            raise ProviderRejected(
                f"SEFAZ {service} SOAP fault: {detail[:300]}", provider=PROVIDER, code="sefaz_fault"
            )
        ret = root.find(f".//n:{answer}", _N)
        if ret is None:
            raise ProviderUnavailable(
                f"SEFAZ {service} answer has no {answer}",
                provider=PROVIDER,
                code="sefaz_bad_response",
            )
        return ret


def _check(cstat: int, reason: str, expected: frozenset[int], what: str) -> None:
    if cstat in UNAVAILABLE:
        raise ProviderUnavailable(
            f"SEFAZ {what}: {cstat} {reason}", provider=PROVIDER, code=f"sefaz_{cstat}"
        )
    if cstat == MISUSE_BLOCK:
        raise ProviderUnavailable(
            f"SEFAZ {what}: {cstat} {reason} (calls blocked for a while: retrying in "
            f"{MISUSE_BACKOFF_S:.0f} s)",
            provider=PROVIDER,
            code=f"sefaz_{cstat}",
            retry_after=MISUSE_BACKOFF_S,
        )
    if cstat not in expected:
        raise ProviderRejected(
            f"SEFAZ {what} rejected: {cstat} {reason}", provider=PROVIDER, code=f"sefaz_{cstat}"
        )


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, parser=_PARSER)


def _sub(parent: etree._Element, tag: str, value: str) -> None:
    etree.SubElement(parent, f"{{{NFE_NS}}}{tag}").text = value


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    return (element.findtext(path, default="", namespaces=_N) or "").strip()


def _cstat(element: etree._Element | None) -> int:
    value = _text(element, "n:cStat")
    return int(value) if value.isdigit() else 0


def _when(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _xml(element: etree._Element | None) -> str | None:
    return None if element is None else str(etree.tostring(element, encoding=str))


def _key_of(nfe: etree._Element) -> str:
    info = nfe.find("n:infNFe", _N)
    return (info.get("Id", "") if info is not None else "").removeprefix("NFe")


def _batch_id(seed: str) -> str:
    """idLote: 15 digits, stable for the same document (a retry sends the same batch)."""
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**15).zfill(15)
