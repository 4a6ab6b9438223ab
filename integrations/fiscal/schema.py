"""XSD validation with the schemas nfelib ships, each parsed once per process
(re-parsing the NF-e XSD costs ~11 ms a call, validating with a parsed one ~1 ms)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import nfelib
from lxml import etree

from domain.errors import DomainError

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
NFELIB = Path(nfelib.__file__).parent
NFE_XSD = NFELIB / "nfe" / "schemas" / "v4_0" / "nfe_v4.00.xsd"
CANCEL_EVENT_XSD = NFELIB / "nfe_evento_cancel" / "schemas" / "v1_0" / "eventoCancNFe_v1.00.xsd"
CORRECTION_EVENT_XSD = NFELIB / "nfe_evento_cce" / "schemas" / "v1_0" / "CCe_v1.00.xsd"
VOIDING_XSD = NFELIB / "nfe" / "schemas" / "v4_0" / "inutNFe_v4.00.xsd"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class InvalidDocument(DomainError):
    """Our own document does not match its XSD: a data or code problem, not retried."""


class XsdValidator:
    """One XSD, parsed once; `errors` returns readable messages, empty when valid."""

    def __init__(self, xsd: Path) -> None:
        self.name = xsd.name
        self._schema = etree.XMLSchema(etree.parse(str(xsd), parser=_PARSER))

    def errors(self, xml: str | bytes) -> list[str]:
        data = xml.encode() if isinstance(xml, str) else xml
        try:
            document = etree.fromstring(data, parser=_PARSER)
        except etree.XMLSyntaxError as exc:
            return [f"not well-formed XML: {exc}"]
        if self._schema.validate(document):
            return []
        return [
            f"line {e.line}: {e.message.replace('{' + NFE_NS + '}', '')}"
            for e in self._schema.error_log
        ]

    def check(self, xml: str | bytes, what: str) -> None:
        """Raise `InvalidDocument` naming `what` and every error."""
        errors = self.errors(xml)
        if errors:
            raise InvalidDocument(
                f"{what} does not match {self.name}: " + "; ".join(errors[:10]),
                code="invalid_xml",
            )


@cache
def nfe_schema() -> XsdValidator:
    """The NF-e 4.00 schema (root element `NFe`)."""
    return XsdValidator(NFE_XSD)


@cache
def cancellation_event_schema() -> XsdValidator:
    """The cancellation event schema (root element `evento`, tpEvento 110111)."""
    return XsdValidator(CANCEL_EVENT_XSD)


@cache
def correction_event_schema() -> XsdValidator:
    """The correction letter schema (root element `evento`, tpEvento 110110)."""
    return XsdValidator(CORRECTION_EVENT_XSD)


@cache
def voiding_schema() -> XsdValidator:
    """The voiding request schema (root element `inutNFe`)."""
    return XsdValidator(VOIDING_XSD)
