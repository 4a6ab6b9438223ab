"""Which authoriser serves which state, and at which URL paths: the simulator serves
each under `/sefaz/<slug>` with the paths the real one publishes, so a client that
builds its URLs from the wrong table gets 404, as it would in production.

The sandbox imports none of our code: this is its own copy of the real world's table
(the client's is integrations/sefaz/endpoints.py)."""

from __future__ import annotations

from dataclasses import dataclass

# The web services of NF-e 4.00, by the names the SOAP namespace uses.
AUTHORISATION = "NFeAutorizacao4"
RECEIPT = "NFeRetAutorizacao4"
CONSULT = "NFeConsultaProtocolo4"
EVENT = "NFeRecepcaoEvento4"
STATUS = "NFeStatusServico4"
VOIDING = "NFeInutilizacao4"

# SEFAZ-SP: lower-case paths.
_SP = {
    AUTHORISATION: "/ws/nfeautorizacao4.asmx",
    RECEIPT: "/ws/nferetautorizacao4.asmx",
    CONSULT: "/ws/nfeconsultaprotocolo4.asmx",
    EVENT: "/ws/nferecepcaoevento4.asmx",
    STATUS: "/ws/nfestatusservico4.asmx",
    VOIDING: "/ws/nfeinutilizacao4.asmx",
}
# SEFAZ-MG: Axis-style services without an extension.
_MG = {
    AUTHORISATION: "/nfe2/services/NFeAutorizacao4",
    RECEIPT: "/nfe2/services/NFeRetAutorizacao4",
    CONSULT: "/nfe2/services/NFeConsultaProtocolo4",
    EVENT: "/nfe2/services/NFeRecepcaoEvento4",
    STATUS: "/nfe2/services/NFeStatusServico4",
    VOIDING: "/nfe2/services/NFeInutilizacao4",
}
# SVRS (the virtual authoriser of most states), SEFAZ-RS and SVC-RS share the layout.
_SVRS = {
    AUTHORISATION: "/ws/NfeAutorizacao/NFeAutorizacao4.asmx",
    RECEIPT: "/ws/NfeRetAutorizacao/NFeRetAutorizacao4.asmx",
    CONSULT: "/ws/NfeConsulta/NfeConsulta4.asmx",
    EVENT: "/ws/recepcaoevento/recepcaoevento4.asmx",
    STATUS: "/ws/NfeStatusServico/NfeStatusServico4.asmx",
    VOIDING: "/ws/nfeinutilizacao/nfeinutilizacao4.asmx",
}
# SVC-AN (Ambiente Nacional): no voiding service in contingency.
_SVC_AN = {
    AUTHORISATION: "/NFeAutorizacao4/NFeAutorizacao4.asmx",
    RECEIPT: "/NFeRetAutorizacao4/NFeRetAutorizacao4.asmx",
    CONSULT: "/NFeConsultaProtocolo4/NFeConsultaProtocolo4.asmx",
    EVENT: "/NFeRecepcaoEvento4/NFeRecepcaoEvento4.asmx",
    STATUS: "/NFeStatusServico4/NFeStatusServico4.asmx",
}
# Other states with an authoriser of their own (paths not checked against theirs).
_GENERIC = {service: f"/ws/{service}.asmx" for service in _SP}

CUF = {
    "RO": "11", "AC": "12", "AM": "13", "RR": "14", "PA": "15", "AP": "16", "TO": "17",
    "MA": "21", "PI": "22", "CE": "23", "RN": "24", "PB": "25", "PE": "26", "AL": "27",
    "SE": "28", "BA": "29", "MG": "31", "ES": "32", "RJ": "33", "SP": "35", "PR": "41",
    "SC": "42", "RS": "43", "MS": "50", "MT": "51", "GO": "52", "DF": "53",
}  # fmt: skip
OWN = ("AM", "BA", "GO", "MG", "MS", "MT", "PE", "PR", "RS", "SP")
# Contingency (NT 2013.007): which SVC takes over each state's authorisations.
SVC_RS_STATES = frozenset({"AM", "BA", "GO", "MA", "MS", "MT", "PE", "PR"})


@dataclass(frozen=True)
class Authoriser:
    slug: str
    name: str
    states: frozenset[str]
    paths: dict[str, str]
    contingency: str | None = None  # "6" SVC-AN, "7" SVC-RS: the tpEmis it accepts

    def serves(self, cuf: str) -> bool:
        return any(CUF[uf] == cuf for uf in self.states)


def _authorisers() -> dict[str, Authoriser]:
    paths = {"SP": _SP, "MG": _MG, "RS": _SVRS}
    found = {
        uf.lower(): Authoriser(uf.lower(), f"SEFAZ-{uf}", frozenset({uf}), paths.get(uf, _GENERIC))
        for uf in OWN
    }
    found["svrs"] = Authoriser("svrs", "SVRS", frozenset(CUF) - set(OWN), _SVRS)
    found["svc-an"] = Authoriser(
        "svc-an", "SVC-AN", frozenset(CUF) - SVC_RS_STATES, _SVC_AN, contingency="6"
    )
    found["svc-rs"] = Authoriser("svc-rs", "SVC-RS", SVC_RS_STATES, _SVRS, contingency="7")
    return found


AUTHORISERS = _authorisers()
