"""The DANFE (Documento Auxiliar da NF-e), the page that travels with the goods, rendered
from the nfeProc by brazilfiscalreport (fpdf2): the layout in force on the NF-e's issue
date, the access key in groups of four with its barcode, the authorisation protocol.

About 170 ms of CPU for an NF-e of a few lines: callers run it in a thread. The PDF's
creation date is the authorisation time, so the same nfeProc always gives the same
bytes (a rerun of the activity writes nothing new)."""

from __future__ import annotations

from datetime import UTC, datetime

from brazilfiscalreport.danfe import Danfe
from lxml import etree

from domain.errors import DomainError

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
_N = {"n": NFE_NS}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class DanfeError(DomainError):
    """The nfeProc could not be printed: a data or code problem, not retried."""


def render_danfe(proc_xml: str) -> bytes:
    """The DANFE PDF of an authorised NF-e, from its nfeProc (signed NF-e + protNFe)."""
    try:
        root = etree.fromstring(proc_xml.encode(), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise DanfeError(f"the nfeProc is not well-formed XML: {exc}", code="danfe") from exc
    if root.tag != f"{{{NFE_NS}}}nfeProc":
        raise DanfeError(f"a DANFE is printed from an nfeProc, not {root.tag}", code="danfe")
    authorised_at = _authorised_at(root)
    try:
        danfe = Danfe(xml=proc_xml)
        danfe.set_creation_date(authorised_at)
        return bytes(danfe.output())
    except Exception as exc:  # the library's own errors: the same XML fails the same way
        raise DanfeError(
            f"brazilfiscalreport could not print the DANFE: {type(exc).__name__}: {exc}",
            code="danfe",
        ) from exc


def _authorised_at(proc: etree._Element) -> datetime:
    stamp = proc.findtext("n:protNFe/n:infProt/n:dhRecbto", default="", namespaces=_N)
    try:
        return datetime.fromisoformat(stamp.strip()).astimezone(UTC)
    except ValueError:
        raise DanfeError(
            f"the nfeProc's protNFe has no valid dhRecbto ({stamp!r})", code="danfe"
        ) from None
