"""Registered events as documents: the `procEventoNFe` (versao 1.00: the signed evento +
SEFAZ's retEvento) that is kept and handed out with the NF-e, for any event type
(cancellation 110111, CC-e 110110, ...)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

REGISTERED = frozenset({"135", "136", "155"})  # retEvento cStat of an event that took effect
NFE_NS = "http://www.portalfiscal.inf.br/nfe"
_N = {"n": NFE_NS}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@dataclass(frozen=True)
class EventDocument:
    """A registered event's `procEventoNFe` (versao 1.00: the signed evento + SEFAZ's
    retEvento), the document to keep and hand out with the NF-e."""

    access_key: str
    event_type: str  # tpEvento
    sequence: int  # nSeqEvento
    xml: str


def proc_event(signed_event: str, ret_event: str) -> str:
    """The distributable `procEventoNFe` (versao 1.00): the signed `evento` followed by
    SEFAZ's `retEvento`. Both are moved as they are, so their signatures stay valid."""
    proc = etree.Element(f"{{{NFE_NS}}}procEventoNFe", nsmap={None: NFE_NS}, versao="1.00")
    for xml in (signed_event, ret_event):
        element = etree.fromstring(xml.encode(), parser=_PARSER)
        etree.cleanup_namespaces(element)
        proc.append(element)
    return str(etree.tostring(proc, encoding=str))


def registered_events(procs: Iterable[str]) -> list[EventDocument]:
    """The events among `procs` (procEventoNFe elements, e.g. from a consult) that SEFAZ
    registered, each rebuilt on its own by `proc_event`: without the namespaces of the
    answer it came in, so the evento's signature verifies in the file as it did at SEFAZ."""
    found = []
    for xml in procs:
        proc = etree.fromstring(xml.encode(), parser=_PARSER)
        event, ret = proc.find("n:evento", _N), proc.find("n:retEvento", _N)
        info = None if event is None else event.find("n:infEvento", _N)
        status = _text(ret, "n:infEvento/n:cStat")
        if event is None or ret is None or info is None or status not in REGISTERED:
            continue
        sequence = _text(info, "n:nSeqEvento")
        found.append(
            EventDocument(
                access_key=_text(info, "n:chNFe"),
                event_type=_text(info, "n:tpEvento"),
                sequence=int(sequence) if sequence.isdigit() else 0,
                xml=proc_event(_serialised(event), _serialised(ret)),
            )
        )
    return found


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    return (element.findtext(path, default="", namespaces=_N) or "").strip()


def _serialised(element: etree._Element) -> str:
    return str(etree.tostring(element, encoding=str))
