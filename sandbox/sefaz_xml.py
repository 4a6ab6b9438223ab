"""The SEFAZ simulator's XML: SOAP envelopes, the ret* answers, XSD and signature checks
(pure functions over lxml, no state)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import nfelib
from cryptography.x509.oid import NameOID
from fastapi import Response
from lxml import etree

from sandbox.xmldsig import SignatureRejected, verify_enveloped

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
NFE_NS = "http://www.portalfiscal.inf.br/nfe"


DS_NS = "http://www.w3.org/2000/09/xmldsig#"


WSDL_NS = "http://www.portalfiscal.inf.br/nfe/wsdl"


VER_APLIC = "SANDBOX_SEFAZ_4.00"


BRASILIA = timezone(timedelta(hours=-3))


_NFELIB = Path(nfelib.__file__).parent


_XSD = {
    "enviNFe": _NFELIB / "nfe/schemas/v4_0/enviNFe_v4.00.xsd",
    "consSitNFe": _NFELIB / "nfe/schemas/v4_0/consSitNFe_v4.00.xsd",
    "envEvento": _NFELIB / "nfe_evento_cancel/schemas/v1_0/envEventoCancNFe_v1.00.xsd",
    "envEvento/110111": _NFELIB / "nfe_evento_cancel/schemas/v1_0/envEventoCancNFe_v1.00.xsd",
    "envEvento/110110": _NFELIB / "nfe_evento_cce/schemas/v1_0/envCCe_v1.00.xsd",
    "inutNFe": _NFELIB / "nfe/schemas/v4_0/inutNFe_v4.00.xsd",
    "consReciNFe": _NFELIB / "nfe/schemas/v4_0/consReciNFe_v4.00.xsd",
}


_N = {"n": NFE_NS, "ds": DS_NS}


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class Rejection(Exception):
    def __init__(self, cstat: int, reason: str) -> None:
        super().__init__(reason)
        self.cstat = cstat
        self.reason = reason


@cache
def xsd(root: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_XSD[root]), parser=_PARSER))


def schema_errors(root: str, element: etree._Element) -> list[str]:
    """Readable XSD errors for a request message (enviNFe, consSitNFe, envEvento)."""
    schema = xsd(root)
    if schema.validate(etree.ElementTree(standalone(element))):
        return []
    return [
        e.message.replace("{" + NFE_NS + "}", "").replace("{" + DS_NS + "}", "ds:")
        for e in schema.error_log
    ]


def mod11(digits: str) -> str:
    total, weight = 0, 2
    for ch in reversed(digits):
        total += int(ch) * weight
        weight = 2 if weight == 9 else weight + 1
    rest = total % 11
    return "0" if rest in (0, 1) else str(11 - rest)


def verify_signature(document: etree._Element, reference_id: str, cnpj: str) -> None:
    """Verify as an authoriser does: standard C14N 1.0 and RSA-SHA1 (sandbox/xmldsig.py),
    so a document signed correctly by any software passes and a wrong one gets 297."""
    try:
        verified = verify_enveloped(document, reference_id)
    except SignatureRejected as exc:
        if exc.kind == "certificate":
            raise Rejection(
                290, f"Rejeição: Certificado Assinatura inválido: {exc.reason}"
            ) from exc
        if exc.kind in ("form", "reference"):
            raise Rejection(
                298, f"Rejeição: Assinatura difere do padrão do Sistema: {exc.reason}"
            ) from exc
        raise Rejection(297, f"Rejeição: Assinatura difere do calculado: {exc.reason}") from exc
    names = verified.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    _, _, cert_cnpj = str(names[0].value if names else "").rpartition(":")
    if cert_cnpj.isdigit() and cert_cnpj[:8] != cnpj[:8]:
        raise Rejection(
            213, "Rejeição: CNPJ-Base do Emitente difere do CNPJ-Base do Certificado Digital"
        )


def standalone(element: etree._Element) -> etree._Element:
    """A copy as its own document, so signatures are checked as the signer made them:
    without the namespaces the SOAP envelope declared around it (inclusive C14N would
    otherwise bring `xmlns:soap12` into the digest)."""
    copy = etree.fromstring(etree.tostring(element), parser=_PARSER)
    etree.cleanup_namespaces(copy)
    return copy


def parse_xml(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode(), parser=_PARSER)


def to_xml(element: etree._Element) -> str:
    return str(etree.tostring(element, encoding=str))


def find_text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    if "/@" in path:
        path, attribute = path.rsplit("/@", 1)
        found = element.find(path, _N)
        return (found.get(attribute) or "") if found is not None else ""
    return str(element.findtext(path, default="", namespaces=_N)).strip()


def brasilia_stamp(moment: datetime) -> str:
    return moment.astimezone(BRASILIA).replace(microsecond=0).isoformat()


def add_node(parent: etree._Element, tag: str, value: str) -> None:
    etree.SubElement(parent, f"{{{NFE_NS}}}{tag}").text = value


def ret_element(
    tag: str, version: str, fields: list[tuple[str, str]], *children: etree._Element
) -> etree._Element:
    root = etree.Element(f"{{{NFE_NS}}}{tag}", nsmap={None: NFE_NS}, versao=version)
    for name, value in fields:
        add_node(root, name, value[:255] if name == "xMotivo" else value)  # TMotivo: 1-255
    for child in children:
        root.append(child)
    return root


def prot_element(
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
            add_node(inf, name, value)
    return prot


EVENT_NAMES = {"110111": "Cancelamento registrado", "110110": "Carta de Correcao registrada"}


def ret_event(
    tp_amb: str,
    organ: str,
    key: str,
    now: datetime,
    protocol: str | None,
    cstat: int,
    reason: str,
    *,
    kind: str = "110111",
    sequence: str = "1",
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
        ("tpEvento", kind),
        ("xEvento", EVENT_NAMES.get(kind, "Evento registrado")),
        ("nSeqEvento", sequence),
        ("dhRegEvento", brasilia_stamp(now)),
        ("nProt", protocol),
    ]
    for name, value in fields:
        if value is not None:
            add_node(inf, name, value)
    return ret


def soap_response(service: str, answer: etree._Element) -> Response:
    envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"soap": SOAP12_NS})
    body = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body")
    result = etree.SubElement(
        body, f"{{{WSDL_NS}/{service}}}nfeResultMsg", nsmap={None: f"{WSDL_NS}/{service}"}
    )
    result.append(answer)
    content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return Response(content, media_type="application/soap+xml; charset=utf-8")


def soap_fault(reason: str) -> Response:
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
