"""What is kept of each NF-e, in a `DocumentStore`: the authorised nfeProc, its DANFE
and its registered events. Every method is safe to repeat (an activity may run twice):
what is stored already is not written, and the DANFE is not printed, again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from integrations.documents.danfe import render_danfe
from integrations.documents.store import DocumentStore, danfe_pdf, event_xml, nfe_xml
from integrations.fiscal.proc_events import EventDocument

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def xml_file(xml: str) -> bytes:
    """An XML document as a file: UTF-8 with its declaration."""
    text = xml if xml.startswith("<?xml") else XML_DECLARATION + xml
    return text.encode("utf-8")


class NfeDocuments:
    def __init__(self, store: DocumentStore, render: Callable[[str], bytes] = render_danfe) -> None:
        self.store = store
        self._render = render

    async def keep_authorised(self, access_key: str, proc_xml: str) -> None:
        """Store the nfeProc and its DANFE. The DANFE is printed from the stored nfeProc
        (the first one kept, should a rerun ever rebuild a different one), in a thread:
        ~170 ms of CPU the worker's other activities need not wait for."""
        name = nfe_xml(access_key)
        await self.store.put(name, xml_file(proc_xml))
        if await self.store.exists(danfe_pdf(access_key)):
            return
        stored = await self.store.get(name)
        source = stored.decode("utf-8") if stored is not None else proc_xml
        pdf = await asyncio.to_thread(self._render, source)
        await self.store.put(danfe_pdf(access_key), pdf)

    async def keep_events(self, events: Iterable[EventDocument]) -> None:
        for event in events:
            name = event_xml(event.access_key, event.event_type, event.sequence)
            await self.store.put(name, xml_file(event.xml))
