"""Where each state's NF-e web services live: the authoriser that serves the state
(its own SEFAZ or the virtual SVRS), the one that takes over in contingency (SVC-AN or
SVC-RS, NT 2013.007), and the URL path of each service at each of them. SEFAZ-SP's
paths are lower-case, SVRS's sit in one folder per service, SVC-AN's likewise without
`/ws`: a client with one generic layout reaches none of them.

The host comes from configuration (the sandbox in development; the real hosts per
environment in production); these paths are appended to `<base>/<slug>`."""

from __future__ import annotations

from dataclasses import dataclass

AUTHORISATION = "NFeAutorizacao4"
RECEIPT = "NFeRetAutorizacao4"
CONSULT = "NFeConsultaProtocolo4"
EVENT = "NFeRecepcaoEvento4"
STATUS = "NFeStatusServico4"
VOIDING = "NFeInutilizacao4"

_SP = {
    AUTHORISATION: "/ws/nfeautorizacao4.asmx",
    RECEIPT: "/ws/nferetautorizacao4.asmx",
    CONSULT: "/ws/nfeconsultaprotocolo4.asmx",
    EVENT: "/ws/nferecepcaoevento4.asmx",
    STATUS: "/ws/nfestatusservico4.asmx",
    VOIDING: "/ws/nfeinutilizacao4.asmx",
}
_MG = {
    service: f"/nfe2/services/{service}"
    for service in (AUTHORISATION, RECEIPT, CONSULT, EVENT, STATUS, VOIDING)
}
_SVRS = {
    AUTHORISATION: "/ws/NfeAutorizacao/NFeAutorizacao4.asmx",
    RECEIPT: "/ws/NfeRetAutorizacao/NFeRetAutorizacao4.asmx",
    CONSULT: "/ws/NfeConsulta/NfeConsulta4.asmx",
    EVENT: "/ws/recepcaoevento/recepcaoevento4.asmx",
    STATUS: "/ws/NfeStatusServico/NfeStatusServico4.asmx",
    VOIDING: "/ws/nfeinutilizacao/nfeinutilizacao4.asmx",
}
_SVC_AN = {
    service: f"/{service}/{service}.asmx"
    for service in (AUTHORISATION, RECEIPT, CONSULT, EVENT, STATUS)
}
_GENERIC = {service: f"/ws/{service}.asmx" for service in _SP}  # paths not checked

OWN_AUTHORISER = frozenset({"AM", "BA", "GO", "MG", "MS", "MT", "PE", "PR", "RS", "SP"})
SVC_RS_STATES = frozenset({"AM", "BA", "GO", "MA", "MS", "MT", "PE", "PR"})
_PATHS = {"sp": _SP, "mg": _MG, "rs": _SVRS, "svrs": _SVRS, "svc-an": _SVC_AN, "svc-rs": _SVRS}


@dataclass(frozen=True)
class Authoriser:
    slug: str  # the simulator's folder: /sefaz/<slug>
    name: str
    paths: dict[str, str]
    emission_type: str = "1"  # tpEmis of what it authorises: 1 normal, 6 SVC-AN, 7 SVC-RS

    def urls(self, base_url: str) -> dict[str, str]:
        base = base_url.rstrip("/")
        return {service: f"{base}/{self.slug}{path}" for service, path in self.paths.items()}


def authoriser_of(uf: str) -> Authoriser:
    """The authoriser of NF-e issued in `uf`."""
    if uf in OWN_AUTHORISER:
        slug = uf.lower()
        return Authoriser(slug, f"SEFAZ-{uf}", _PATHS.get(slug, _GENERIC))
    return Authoriser("svrs", "SVRS", _SVRS)


def contingency_of(uf: str) -> Authoriser:
    """The SVC that authorises `uf`'s NF-e while its authoriser is down."""
    if uf in SVC_RS_STATES:
        return Authoriser("svc-rs", "SVC-RS", _SVRS, emission_type="7")
    return Authoriser("svc-an", "SVC-AN", _SVC_AN, emission_type="6")
