"""Contingency: while the state's authoriser answers 108/109, an NF-e is emitted at the
SVC that takes over (tpEmis 6 SVC-AN, 7 SVC-RS) with a new key, the time the
contingency began (dhCont) and why (xJust); once the authoriser answers again, new
NF-e go back to it. The journal (the database, at the composition root) remembers the
outage and what each emission has been through, so that no NF-e is authorised twice:
an order whose normal send has an unknown outcome waits for the authoriser instead of
going to the SVC, and one sent to the SVC is looked for there (and at the state) first."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from nfelib.nfe.bindings.v4_0.nfe_v4_00 import Nfe

from domain.fiscal_lifecycle import EmissionFacts, Outage, contingency_key
from domain.nfe_text import text
from integrations.fiscal.nfe import BuiltNfe, brasilia_time
from integrations.fiscal.xml import render


class EmissionJournal(Protocol):
    async def outage(self, authoriser: str) -> Outage | None: ...

    async def record_unavailable(
        self, authoriser: str, cstat: int, reason: str, at: datetime
    ) -> Outage: ...

    async def record_available(self, authoriser: str, at: datetime) -> None: ...

    async def facts(self, order_id: str, series: int) -> EmissionFacts: ...

    async def mark_in_doubt(self, order_id: str, series: int, in_doubt: bool) -> None: ...

    async def mark_contingency(
        self, order_id: str, series: int, emission_type: str, since: datetime, reason: str
    ) -> None: ...


def in_contingency(built: BuiltNfe, emission_type: str, since: datetime, reason: str) -> BuiltNfe:
    """The same NF-e for the SVC: tpEmis, dhCont and xJust set, keyed anew (unsigned)."""
    nfe = Nfe.from_xml(built.xml)
    key = contingency_key(built.access_key, emission_type)
    ide = nfe.infNFe.ide
    ide.tpEmis = emission_type
    ide.cDV = key[43]
    ide.dhCont = brasilia_time(since).isoformat()
    ide.xJust = text(reason, 256)
    nfe.infNFe.Id = f"NFe{key}"
    return BuiltNfe(access_key=key, xml=render(nfe))
