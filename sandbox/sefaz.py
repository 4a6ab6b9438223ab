"""Sandbox provider: a SEFAZ NF-e 4.00 authoriser speaking SOAP 1.2 like the real ones.

Services under `/ws/<service>.asmx`: NFeAutorizacao4 (enviNFe, always answered
synchronously), NFeConsultaProtocolo4 (consSitNFe), NFeRecepcaoEvento4 (envEvento,
cancellation 110111) and NFeStatusServico4 (consStatServ). Requests are checked the way
SEFAZ does: XSD (nfelib's schemas), XML signature (signxml, with the certificate the
signature carries; self-signed accepted), access key check digit and composition,
homologation rules, duplicity. Status codes: docs/fiscal.md.

Faults: `faults.before` may answer HTTP 503/429; then, with probability error_rate/2
(or always while `paralyse(state, 108|109)` is set), HTTP 200 with cStat 108/109;
`faults.after` may lose the response (504) after an authorisation or a cancellation.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import nfelib
from cryptography import x509
from cryptography.x509.oid import NameOID
from fastapi import APIRouter, Request, Response
from lxml import etree
from pydantic import BaseModel
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.verifier import SignatureConfiguration, XMLVerifier

from sandbox.core import SandboxState

PROVIDER = "sefaz"
NFE_NS = "http://www.portalfiscal.inf.br/nfe"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSDL_NS = "http://www.portalfiscal.inf.br/nfe/wsdl"
VER_APLIC = "SANDBOX_SEFAZ_4.00"
HOMOLOGATION_NAME = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
CANCELLATION_WINDOW = timedelta(hours=24)
BRASILIA = timezone(timedelta(hours=-3))
PARALYSED = {
    108: "Serviço Paralisado Momentaneamente (curto prazo)",
    109: "Serviço Paralisado sem Previsão",
}
_NFELIB = Path(nfelib.__file__).parent
_XSD = {
    "enviNFe": _NFELIB / "nfe/schemas/v4_0/enviNFe_v4.00.xsd",
    "consSitNFe": _NFELIB / "nfe/schemas/v4_0/consSitNFe_v4.00.xsd",
    "envEvento": _NFELIB / "nfe_evento_cancel/schemas/v1_0/envEventoCancNFe_v1.00.xsd",
}
_N = {"n": NFE_NS, "ds": DS_NS}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_SHA1 = SignatureConfiguration(
    signature_methods=frozenset({SignatureMethod.RSA_SHA1}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA1}),
)
Handler = Callable[[etree._Element], tuple[etree._Element, bool]]


class Rejection(Exception):
    def __init__(self, cstat: int, reason: str) -> None:
        super().__init__(reason)
        self.cstat = cstat
        self.reason = reason


class Paralysis(BaseModel):
    cstat: int | None = None  # 108 or 109; None resumes the service


@cache
def _schema(root: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_XSD[root]), parser=_PARSER))


def schema_errors(root: str, element: etree._Element) -> list[str]:
    """Readable XSD errors for a request message (enviNFe, consSitNFe, envEvento)."""
    schema = _schema(root)
    if schema.validate(etree.ElementTree(_standalone(element))):
        return []
    return [
        e.message.replace("{" + NFE_NS + "}", "").replace("{" + DS_NS + "}", "ds:")
        for e in schema.error_log
    ]


def paralyse(state: SandboxState, cstat: int | None) -> None:
    """Make every SEFAZ service answer cStat 108/109 (None: back to normal)."""
    if cstat is not None and cstat not in PARALYSED:
        raise ValueError("paralysis is cStat 108 or 109")
    state.data[PROVIDER]["paralysed"] = cstat


def mod11(digits: str) -> str:
    total, weight = 0, 2
    for ch in reversed(digits):
        total += int(ch) * weight
        weight = 2 if weight == 9 else weight + 1
    rest = total % 11
    return "0" if rest in (0, 1) else str(11 - rest)


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    data = state.data[PROVIDER]
    data.setdefault("nfes", {})  # access key -> record
    data.setdefault("numbers", {})  # "cnpj/series/number" -> access key
    data.setdefault("sequence", 0)
    data.setdefault("paralysed", None)
    sefaz = _Sefaz(state, data)

    async def serve(request: Request, service: str, root: str, handler: Handler) -> Response:
        body = await request.body()
        await state.faults.before(PROVIDER)
        try:
            envelope = etree.fromstring(body, parser=_PARSER)
        except etree.XMLSyntaxError as exc:
            return _fault(f"not well-formed XML: {exc}")
        message = envelope.find(f".//{{{WSDL_NS}/{service}}}nfeDadosMsg/n:{root}", _N)
        if message is None:
            return _fault(f"expected soap12:Envelope/Body/nfeDadosMsg/{root} for {service}")
        paralysed = data["paralysed"]
        cfg = state.faults.config_for(PROVIDER)
        if paralysed is None and cfg.error_rate and state.faults.roll(PROVIDER, cfg.error_rate / 2):
            state.faults.injected[f"{PROVIDER}.paralysed"] += 1
            paralysed = 108 if state.faults.roll(PROVIDER, 0.5) else 109
        if paralysed is not None:
            return _soap(service, sefaz.paralysed(root, message, paralysed))
        answer, effect = handler(message)
        if effect:
            state.faults.after(PROVIDER)
        return _soap(service, answer)

    @router.post("/ws/NFeAutorizacao4.asmx")
    async def authorisation(request: Request) -> Response:
        return await serve(request, "NFeAutorizacao4", "enviNFe", sefaz.authorise)

    @router.post("/ws/NFeConsultaProtocolo4.asmx")
    async def consult(request: Request) -> Response:
        return await serve(request, "NFeConsultaProtocolo4", "consSitNFe", sefaz.consult)

    @router.post("/ws/NFeRecepcaoEvento4.asmx")
    async def event(request: Request) -> Response:
        return await serve(request, "NFeRecepcaoEvento4", "envEvento", sefaz.event)

    @router.post("/ws/NFeStatusServico4.asmx")
    async def status(request: Request) -> Response:
        return await serve(request, "NFeStatusServico4", "consStatServ", sefaz.status)

    @router.put("/admin/paralysis")
    async def set_paralysis(body: Paralysis) -> dict[str, int | None]:
        paralyse(state, body.cstat)
        return {"paralysed": body.cstat}

    return router


class _Sefaz:
    """The authoriser's rules. Handlers are synchronous, so each runs atomically in
    the event loop: concurrent requests never interleave a check and its effect."""

    def __init__(self, state: SandboxState, data: dict[str, Any]) -> None:
        self.state = state
        self.data = data

    # -- NFeAutorizacao4 ------------------------------------------------------------------

    def authorise(self, envi: etree._Element) -> tuple[etree._Element, bool]:
        now = self._now()
        nfes = envi.findall("n:NFe", _N)
        tp_amb = _find(envi, "n:NFe/n:infNFe/n:ide/n:tpAmb") or "2"
        cuf = _find(envi, "n:NFe/n:infNFe/n:ide/n:cUF") or "35"

        def batch(cstat: int, reason: str, *extra: etree._Element) -> etree._Element:
            fields = [("tpAmb", tp_amb), ("verAplic", VER_APLIC), ("cStat", str(cstat))]
            fields += [("xMotivo", reason), ("cUF", cuf), ("dhRecbto", _stamp(now))]
            return _ret("retEnviNFe", "4.00", fields, *extra)

        errors = schema_errors("enviNFe", envi)
        if errors:
            reason = "Rejeição: Falha no Schema XML da NFe: " + "; ".join(errors[:5])
            self._rejected(_find(envi, "n:NFe/n:infNFe/@Id").removeprefix("NFe"), 225, reason)
            return batch(225, reason), False
        if len(nfes) != 1 and _find(envi, "n:indSinc") == "1":
            return batch(
                452, "Rejeição: Solicitada resposta síncrona para Lote com mais de uma NF-e"
            ), False
        nfe = _standalone(nfes[0])
        key = (nfe.find("n:infNFe", _N).get("Id") or "").removeprefix("NFe")
        digest = _find(nfe, "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue")
        try:
            record = self._check_and_authorise(nfe, key, digest, tp_amb, now)
        except Rejection as rejection:
            if rejection.cstat != 204:  # a duplicate is not a new rejection
                self._rejected(key, rejection.cstat, rejection.reason)
            prot = _prot(tp_amb, key, _stamp(now), None, digest, rejection.cstat, rejection.reason)
            return batch(104, "Lote processado", prot), False
        return batch(104, "Lote processado", _parse(record["prot_xml"])), True

    def _check_and_authorise(
        self, nfe: etree._Element, key: str, digest: str, tp_amb: str, now: datetime
    ) -> dict[str, Any]:
        inf = nfe.find("n:infNFe", _N)
        if mod11(key[:43]) != key[43]:
            raise Rejection(236, "Rejeição: Chave de Acesso com dígito verificador inválido")
        ide = {
            f: _find(inf, f"n:ide/n:{f}")
            for f in ("cUF", "dhEmi", "mod", "serie", "nNF", "tpEmis", "cNF", "cDV")
        }
        cnpj = _find(inf, "n:emit/n:CNPJ")
        composed = (
            f"{ide['cUF']}{ide['dhEmi'][2:4]}{ide['dhEmi'][5:7]}{cnpj:0>14}{ide['mod']}"
            f"{int(ide['serie']):03d}{int(ide['nNF']):09d}{ide['tpEmis']}{ide['cNF']}{ide['cDV']}"
        )
        if composed != key:
            raise Rejection(
                502,
                "Rejeição: Erro na Chave de Acesso - Campo Id não corresponde à "
                f"concatenação dos campos correspondentes [esperado: {composed}]",
            )
        _verify_signature(nfe, f"NFe{key}", cnpj)
        if tp_amb == "2" and _find(inf, "n:dest/n:xNome") != HOMOLOGATION_NAME:
            raise Rejection(
                598,
                "Rejeição: NF-e emitida em ambiente de homologação com Razão Social do "
                f"destinatário diferente de {HOMOLOGATION_NAME}",
            )
        nfes, numbers = self.data["nfes"], self.data["numbers"]
        if key in nfes:
            first = nfes[key]
            raise Rejection(
                204,
                f"Rejeição: Duplicidade de NF-e [nProt:{first['protocol']}]"
                f"[dhAut:{first['authorised_at']}]",
            )
        number_id = f"{cnpj}/{int(ide['serie'])}/{int(ide['nNF'])}"
        if number_id in numbers:
            first = nfes[numbers[number_id]]
            raise Rejection(
                539,
                "Rejeição: Duplicidade de NF-e, com diferença na Chave de Acesso "
                f"[chNFe:{first['access_key']}][nProt:{first['protocol']}]"
                f"[dhAut:{first['authorised_at']}]",
            )
        protocol, stamp = self._protocol(key[:2], now), _stamp(now)
        prot = _prot(tp_amb, key, stamp, protocol, digest, 100, "Autorizado o uso da NF-e")
        record = {
            "access_key": key,
            "protocol": protocol,
            "authorised_at": stamp,
            "authorised": now,
            "tp_amb": tp_amb,
            "prot_xml": _xml(prot),
            "cancellation": None,
        }
        nfes[key], numbers[number_id] = record, key
        self.state.ledger.record(
            PROVIDER,
            "invoice_authorised",
            access_key=key,
            protocol=protocol,
            number=int(ide["nNF"]),
            series=int(ide["serie"]),
            cnpj=cnpj,
            total=_find(inf, "n:total/n:ICMSTot/n:vNF"),
        )
        return record

    # -- NFeConsultaProtocolo4 ------------------------------------------------------------

    def consult(self, cons: etree._Element) -> tuple[etree._Element, bool]:
        key, tp_amb = _find(cons, "n:chNFe"), _find(cons, "n:tpAmb") or "2"
        record = self.data["nfes"].get(key)
        errors = schema_errors("consSitNFe", cons)
        if errors:
            cstat, reason = 215, "Rejeição: Falha no schema XML: " + "; ".join(errors[:5])
        elif record is None:
            cstat, reason = 217, "Rejeição: NF-e não consta na base de dados da SEFAZ"
        elif record["cancellation"]:
            cstat, reason = 101, "Cancelamento de NF-e homologado"
        else:
            cstat, reason = 100, "Autorizado o uso da NF-e"
        fields = [("tpAmb", tp_amb), ("verAplic", VER_APLIC), ("cStat", str(cstat))]
        fields += [("xMotivo", reason), ("cUF", key[:2] if key[:2].isdigit() else "35")]
        fields += [("dhRecbto", _stamp(self._now())), ("chNFe", key)]
        extra = []
        if record is not None and cstat in (100, 101):
            extra.append(_parse(record["prot_xml"]))
            if record["cancellation"]:
                proc = etree.Element(f"{{{NFE_NS}}}procEventoNFe", versao="1.00")
                proc.append(_parse(record["cancellation"]["event_xml"]))
                proc.append(_parse(record["cancellation"]["ret_xml"]))
                extra.append(proc)
        return _ret("retConsSitNFe", "4.00", fields, *extra), False

    # -- NFeRecepcaoEvento4 ---------------------------------------------------------------

    def event(self, env: etree._Element) -> tuple[etree._Element, bool]:
        now = self._now()
        inf = env.find("n:evento/n:infEvento", _N)
        tp_amb = _find(env, "n:evento/n:infEvento/n:tpAmb") or "2"
        organ = _find(env, "n:evento/n:infEvento/n:cOrgao") or "35"

        def batch(cstat: int, reason: str, *extra: etree._Element) -> etree._Element:
            fields = [("idLote", _find(env, "n:idLote") or "0"), ("tpAmb", tp_amb)]
            fields += [("verAplic", VER_APLIC), ("cOrgao", organ), ("cStat", str(cstat))]
            return _ret("retEnvEvento", "1.00", [*fields, ("xMotivo", reason)], *extra)

        errors = schema_errors("envEvento", env)
        if errors or inf is None:
            reason = "Rejeição: Falha no schema XML: " + "; ".join(errors[:5])
            return batch(215, reason), False
        key = _find(inf, "n:chNFe")
        try:
            ret = self._cancel(_standalone(env.find("n:evento", _N)), inf, key, tp_amb, now)
        except Rejection as rejection:
            self.state.ledger.record(
                PROVIDER,
                "cancellation_rejected",
                access_key=key,
                code=rejection.cstat,
                reason=rejection.reason,
            )
            ret = _ret_event(tp_amb, organ, key, now, None, rejection.cstat, rejection.reason)
            return batch(128, "Lote de Evento Processado", ret), False
        return batch(128, "Lote de Evento Processado", ret), True

    def _cancel(
        self, event: etree._Element, inf: etree._Element, key: str, tp_amb: str, now: datetime
    ) -> etree._Element:
        _verify_signature(event, inf.get("Id") or "", _find(inf, "n:CNPJ"))
        record = self.data["nfes"].get(key)
        if record is None:
            raise Rejection(494, "Rejeição: Chave de Acesso inexistente")
        if record["cancellation"]:
            raise Rejection(
                573, f"Rejeição: Duplicidade de Evento [nProt:{record['cancellation']['protocol']}]"
            )
        if _find(inf, "n:detEvento/n:nProt") != record["protocol"]:
            raise Rejection(222, "Rejeição: Protocolo de Autorização de Uso difere do cadastrado")
        if now - record["authorised"] > CANCELLATION_WINDOW:
            raise Rejection(
                501, "Rejeição: Prazo de cancelamento superior ao previsto na Legislação"
            )
        protocol = self._protocol(key[:2], now)
        organ = _find(inf, "n:cOrgao")
        ret = _ret_event(
            tp_amb, organ, key, now, protocol, 135, "Evento registrado e vinculado a NF-e"
        )
        record["cancellation"] = {
            "protocol": protocol,
            "event_xml": _xml(event),
            "ret_xml": _xml(ret),
        }
        self.state.ledger.record(PROVIDER, "invoice_cancelled", access_key=key, protocol=protocol)
        return ret

    # -- NFeStatusServico4 and paralysis --------------------------------------------------

    def status(self, cons: etree._Element) -> tuple[etree._Element, bool]:
        fields = [("tpAmb", _find(cons, "n:tpAmb") or "2"), ("verAplic", VER_APLIC)]
        fields += [("cStat", "107"), ("xMotivo", "Serviço em Operação")]
        fields += [("cUF", _find(cons, "n:cUF") or "35"), ("dhRecbto", _stamp(self._now()))]
        return _ret("retConsStatServ", "4.00", [*fields, ("tMed", "1")]), False

    def paralysed(self, root: str, message: etree._Element, cstat: int) -> etree._Element:
        tp_amb = _find(message, ".//n:tpAmb") or "2"
        head = [("tpAmb", tp_amb), ("verAplic", VER_APLIC), ("cStat", str(cstat))]
        head.append(("xMotivo", PARALYSED[cstat]))
        tail = [("cUF", _find(message, ".//n:cUF") or "35"), ("dhRecbto", _stamp(self._now()))]
        if root == "enviNFe":
            return _ret("retEnviNFe", "4.00", head + tail)
        if root == "consSitNFe":
            return _ret(
                "retConsSitNFe", "4.00", head + tail + [("chNFe", _find(message, "n:chNFe"))]
            )
        if root == "envEvento":
            lot = [("idLote", _find(message, "n:idLote") or "0")]
            organ = ("cOrgao", _find(message, ".//n:cOrgao") or "35")
            return _ret("retEnvEvento", "1.00", lot + head[:2] + [organ] + head[2:])
        return _ret("retConsStatServ", "4.00", head + tail)

    def _now(self) -> datetime:
        return self.state.clock()

    def _protocol(self, cuf: str, now: datetime) -> str:
        """nProt: 15 digits, 1 + cUF + AA + a 10-digit sequence."""
        self.data["sequence"] += 1
        return f"1{cuf}{now:%y}{self.data['sequence']:010d}"

    def _rejected(self, key: str, cstat: int, reason: str) -> None:
        self.state.ledger.record(
            PROVIDER, "invoice_rejected", access_key=key, code=cstat, reason=reason
        )


def _verify_signature(document: etree._Element, reference_id: str, cnpj: str) -> None:
    cert_b64 = "".join(_find(document, ".//ds:X509Certificate").split())
    if not cert_b64:
        raise Rejection(290, "Rejeição: Certificado Assinatura inválido: sem X509Certificate")
    try:
        result = XMLVerifier().verify(
            etree.tostring(document), x509_cert=cert_b64, expect_config=_SHA1
        )
    except Exception as exc:  # signxml, OpenSSL and lxml all raise their own kinds
        raise Rejection(297, f"Rejeição: Assinatura difere do calculado: {exc}") from exc
    signed = result[0] if isinstance(result, list) else result
    if signed.signed_xml is None or signed.signed_xml.get("Id") != reference_id:
        raise Rejection(298, "Rejeição: Assinatura difere do padrão do Sistema: referência errada")
    cert = x509.load_der_x509_certificate(base64.b64decode(cert_b64))
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    _, _, cert_cnpj = str(names[0].value if names else "").rpartition(":")
    if cert_cnpj.isdigit() and cert_cnpj[:8] != cnpj[:8]:
        raise Rejection(
            213, "Rejeição: CNPJ-Base do Emitente difere do CNPJ-Base do Certificado Digital"
        )


def _standalone(element: etree._Element) -> etree._Element:
    """A copy as its own document, so signatures are checked as the signer made them:
    without the namespaces the SOAP envelope declared around it (inclusive C14N would
    otherwise bring `xmlns:soap12` into the digest)."""
    copy = etree.fromstring(etree.tostring(element), parser=_PARSER)
    etree.cleanup_namespaces(copy)
    return copy


def _parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode(), parser=_PARSER)


def _xml(element: etree._Element) -> str:
    return str(etree.tostring(element, encoding=str))


def _find(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    if "/@" in path:
        path, attribute = path.rsplit("/@", 1)
        found = element.find(path, _N)
        return (found.get(attribute) or "") if found is not None else ""
    return str(element.findtext(path, default="", namespaces=_N)).strip()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(BRASILIA).replace(microsecond=0).isoformat()


def _node(parent: etree._Element, tag: str, value: str) -> None:
    etree.SubElement(parent, f"{{{NFE_NS}}}{tag}").text = value


def _ret(
    tag: str, version: str, fields: list[tuple[str, str]], *children: etree._Element
) -> etree._Element:
    root = etree.Element(f"{{{NFE_NS}}}{tag}", nsmap={None: NFE_NS}, versao=version)
    for name, value in fields:
        _node(root, name, value[:255] if name == "xMotivo" else value)  # TMotivo: 1-255
    for child in children:
        root.append(child)
    return root


def _prot(
    tp_amb: str, key: str, stamp: str, protocol: str | None, digest: str, cstat: int, reason: str
) -> etree._Element:
    prot = etree.Element(f"{{{NFE_NS}}}protNFe", nsmap={None: NFE_NS}, versao="4.00")
    inf = etree.SubElement(prot, f"{{{NFE_NS}}}infProt")
    for name, value in [
        ("tpAmb", tp_amb),
        ("verAplic", VER_APLIC),
        ("chNFe", key),
        ("dhRecbto", stamp),
        ("nProt", protocol),
        ("digVal", digest or None),
        ("cStat", str(cstat)),
        ("xMotivo", reason[:255]),
    ]:
        if value is not None:
            _node(inf, name, value)
    return prot


def _ret_event(
    tp_amb: str, organ: str, key: str, now: datetime, protocol: str | None, cstat: int, reason: str
) -> etree._Element:
    ret = etree.Element(f"{{{NFE_NS}}}retEvento", nsmap={None: NFE_NS}, versao="1.00")
    inf = etree.SubElement(ret, f"{{{NFE_NS}}}infEvento")
    fields = [
        ("tpAmb", tp_amb),
        ("verAplic", VER_APLIC),
        ("cOrgao", organ or "35"),
        ("cStat", str(cstat)),
        ("xMotivo", reason[:255]),
        ("chNFe", key),
        ("tpEvento", "110111"),
        ("xEvento", "Cancelamento registrado"),
        ("nSeqEvento", "1"),
        ("dhRegEvento", _stamp(now)),
        ("nProt", protocol),
    ]
    for name, value in fields:
        if value is not None:
            _node(inf, name, value)
    return ret


def _soap(service: str, answer: etree._Element) -> Response:
    envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"soap": SOAP12_NS})
    body = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body")
    result = etree.SubElement(
        body, f"{{{WSDL_NS}/{service}}}nfeResultMsg", nsmap={None: f"{WSDL_NS}/{service}"}
    )
    result.append(answer)
    content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return Response(content, media_type="application/soap+xml; charset=utf-8")


def _fault(reason: str) -> Response:
    envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"soap": SOAP12_NS})
    fault = etree.SubElement(
        etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body"), f"{{{SOAP12_NS}}}Fault"
    )
    code = etree.SubElement(fault, f"{{{SOAP12_NS}}}Code")
    etree.SubElement(code, f"{{{SOAP12_NS}}}Value").text = "soap:Sender"
    text = etree.SubElement(
        etree.SubElement(fault, f"{{{SOAP12_NS}}}Reason"), f"{{{SOAP12_NS}}}Text"
    )
    text.text = reason
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "pt-BR")
    content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return Response(content, status_code=400, media_type="application/soap+xml; charset=utf-8")
