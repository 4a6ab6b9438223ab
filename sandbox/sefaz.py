"""Sandbox provider: a SEFAZ NF-e 4.00 authoriser speaking SOAP 1.2 like the real ones.

Services under `/ws/<service>.asmx`: NFeAutorizacao4 (enviNFe, always answered
synchronously), NFeConsultaProtocolo4 (consSitNFe), NFeRecepcaoEvento4 (envEvento,
cancellation 110111) and NFeStatusServico4 (consStatServ). Requests are checked the way
SEFAZ does: XSD (nfelib's schemas), XML signature (standard C14N 1.0 and RSA-SHA1 in
sandbox/xmldsig.py, not our signer's library; the certificate the signature carries,
self-signed accepted), access key check digit and composition,
homologation rules, duplicity. Status codes: docs/fiscal.md.

Faults: `faults.before` may answer HTTP 503/429; then, with probability error_rate/2
(or always while `paralyse(state, 108|109)` is set), HTTP 200 with cStat 108/109;
`faults.after` may lose the response (504) after an authorisation or a cancellation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from lxml import etree
from pydantic import BaseModel, Field

from sandbox.core import SandboxState
from sandbox.sefaz_authorisers import (
    AUTHORISATION,
    AUTHORISERS,
    CONSULT,
    EVENT,
    RECEIPT,
    STATUS,
    VOIDING,
    Authoriser,
)
from sandbox.sefaz_rules import HOMOLOGATION, check_event_time, check_nfe, parse_stamp
from sandbox.sefaz_xml import (
    _N,
    _PARSER,
    NFE_NS,
    VER_APLIC,
    WSDL_NS,
    Rejection,
    brasilia_stamp,
    find_text,
    mod11,
    parse_xml,
    prot_element,
    ret_element,
    ret_event,
    schema_errors,
    soap_fault,
    soap_response,
    standalone,
    to_xml,
    verify_signature,
)

PROVIDER = "sefaz"
HOMOLOGATION_NAME = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
CANCELLATION_WINDOW = timedelta(hours=24)
CORRECTION_WINDOW = timedelta(hours=720)
CANCELLATION, CORRECTION = "110111", "110110"
EVENT_REJECTED = {CANCELLATION: "cancellation_rejected", CORRECTION: "correction_rejected"}
CIRCULATING = frozenset({"posted", "in_transit", "out_for_delivery", "delivered"})
PARALYSED = {
    108: "Serviço Paralisado Momentaneamente (curto prazo)",
    109: "Serviço Paralisado sem Previsão",
}
Handler = Callable[[etree._Element, Authoriser], tuple[etree._Element, bool]]


class Paralysis(BaseModel):
    cstat: int | None = None  # 108 or 109; None resumes the service


class Mode(BaseModel):
    asynchronous: bool = False  # answer 103 and process the batch `processing_s` later
    processing_s: float = Field(default=2.0, ge=0, le=600)
    # 656 "Consumo Indevido": more than `max_calls` from one CNPJ (or for one access key)
    # within `window_s` blocks that CNPJ for `block_s`
    max_calls: int = Field(default=3000, ge=1)
    max_same_key: int = Field(default=20, ge=1)
    window_s: float = Field(default=60.0, gt=0)
    block_s: float = Field(default=60.0, ge=0)


def paralyse(state: SandboxState, cstat: int | None) -> None:
    """Make every SEFAZ service answer cStat 108/109 (None: back to normal)."""
    if cstat is not None and cstat not in PARALYSED:
        raise ValueError("paralysis is cStat 108 or 109")
    state.data[PROVIDER]["paralysed"] = cstat


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    data = state.data[PROVIDER]
    data.setdefault("nfes", {})  # access key -> record
    data.setdefault("numbers", {})  # "cnpj/series/number" -> access key
    data.setdefault("voided", {})  # "cnpj/series/number" -> voiding protocol
    data.setdefault("voidings", {})  # "cnpj/series/first-last" -> voiding record
    data.setdefault("batches", {})  # nRec -> asynchronous batch
    data.setdefault("sequence", 0)
    data.setdefault("paralysed", None)
    data.setdefault("mode", Mode())
    data.setdefault("calls", {})  # (cnpj or key) -> recent call times, for 656
    data.setdefault("blocked", {})  # cnpj -> blocked until
    sefaz = _Sefaz(state, data)
    roots = {
        AUTHORISATION: ("enviNFe", sefaz.authorise),
        RECEIPT: ("consReciNFe", sefaz.receipt),
        CONSULT: ("consSitNFe", sefaz.consult),
        EVENT: ("envEvento", sefaz.event),
        STATUS: ("consStatServ", sefaz.status),
        VOIDING: ("inutNFe", sefaz.void),
    }

    async def serve(request: Request, auth: Authoriser, service: str) -> Response:
        root, handler = roots[service]
        body = await request.body()
        await state.faults.before(PROVIDER)
        try:
            envelope = etree.fromstring(body, parser=_PARSER)
        except etree.XMLSyntaxError as exc:
            return soap_fault(f"not well-formed XML: {exc}")
        message = envelope.find(f".//{{{WSDL_NS}/{service}}}nfeDadosMsg/n:{root}", _N)
        if message is None:
            return soap_fault(f"expected soap12:Envelope/Body/nfeDadosMsg/{root} for {service}")
        sefaz.advance()
        paralysed = None if auth.contingency else data["paralysed"]
        cfg = state.faults.config_for(PROVIDER)
        if (
            paralysed is None
            and auth.contingency is None
            and cfg.error_rate
            and state.faults.roll(PROVIDER, cfg.error_rate / 2)
        ):
            state.faults.injected[f"{PROVIDER}.paralysed"] += 1
            paralysed = 108 if state.faults.roll(PROVIDER, 0.5) else 109
        if paralysed is not None:
            return soap_response(service, sefaz.paralysed(root, message, paralysed))
        misuse = sefaz.misuse(root, message)
        if misuse is not None:
            return soap_response(service, sefaz.refused(root, message, 656, misuse))
        answer, effect = handler(message, auth)
        if effect:
            state.faults.after(PROVIDER)
        return soap_response(service, answer)

    def endpoint(auth: Authoriser, service: str) -> Callable[[Request], Awaitable[Response]]:
        async def answer(request: Request) -> Response:
            return await serve(request, auth, service)

        return answer

    for auth in AUTHORISERS.values():
        for service, path in auth.paths.items():
            router.add_api_route(
                f"/{auth.slug}{path}",
                endpoint(auth, service),
                methods=["POST"],
                name=f"{auth.name} {service}",
                include_in_schema=False,
            )

    @router.put("/admin/paralysis")
    async def set_paralysis(body: Paralysis) -> dict[str, int | None]:
        paralyse(state, body.cstat)
        return {"paralysed": body.cstat}

    @router.put("/admin/mode")
    async def set_mode(body: Mode) -> Mode:
        """Asynchronous processing (103, then 105 until `processing_s` passed, then
        104 at NFeRetAutorizacao4) and the misuse limits that answer 656."""
        data["mode"] = body
        return body

    return router


class _Sefaz:
    """The authoriser's rules. Handlers are synchronous, so each runs atomically in
    the event loop: concurrent requests never interleave a check and its effect."""

    def __init__(self, state: SandboxState, data: dict[str, Any]) -> None:
        self.state = state
        self.data = data

    # -- NFeAutorizacao4 ------------------------------------------------------------------

    def authorise(self, envi: etree._Element, auth: Authoriser) -> tuple[etree._Element, bool]:
        now = self._now()
        nfes = envi.findall("n:NFe", _N)
        tp_amb = find_text(envi, "n:NFe/n:infNFe/n:ide/n:tpAmb") or "2"
        cuf = find_text(envi, "n:NFe/n:infNFe/n:ide/n:cUF") or "35"

        def batch(cstat: int, reason: str, *extra: etree._Element) -> etree._Element:
            fields = [("tpAmb", tp_amb), ("verAplic", VER_APLIC), ("cStat", str(cstat))]
            fields += [("xMotivo", reason), ("cUF", cuf), ("dhRecbto", brasilia_stamp(now))]
            return ret_element("retEnviNFe", "4.00", fields, *extra)

        errors = schema_errors("enviNFe", envi)
        if errors:
            reason = "Rejeição: Falha no Schema XML da NFe: " + "; ".join(errors[:5])
            self._rejected(find_text(envi, "n:NFe/n:infNFe/@Id").removeprefix("NFe"), 225, reason)
            return batch(225, reason), False
        if len(nfes) != 1 and find_text(envi, "n:indSinc") == "1":
            return batch(
                452, "Rejeição: Solicitada resposta síncrona para Lote com mais de uma NF-e"
            ), False
        nfe = standalone(nfes[0])
        key = (nfe.find("n:infNFe", _N).get("Id") or "").removeprefix("NFe")
        if not auth.serves(cuf):
            reason = "Rejeição: Código da UF do Emitente diverge da UF autorizadora"
            return batch(226, reason), False
        mode: Mode = self.data["mode"]
        if mode.asynchronous or find_text(envi, "n:indSinc") == "0" or self._busy():
            return self._receive(nfe, key, tp_amb, auth, now, batch), True
        return batch(104, "Lote processado", self._process(nfe, key, tp_amb, auth, now)), True

    def _process(
        self, nfe: etree._Element, key: str, tp_amb: str, auth: Authoriser, now: datetime
    ) -> etree._Element:
        """The protNFe of one NF-e: authorised (100) or rejected with the rule's code."""
        digest = find_text(nfe, "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue")
        try:
            record = self._check_and_authorise(nfe, key, digest, tp_amb, now, auth)
        except Rejection as rejection:
            if rejection.cstat != 204:  # a duplicate is not a new rejection
                self._rejected(key, rejection.cstat, rejection.reason)
            return prot_element(
                tp_amb, key, brasilia_stamp(now), None, digest, rejection.cstat, rejection.reason
            )
        return parse_xml(record["prot_xml"])

    # -- asynchronous batches (103, then NFeRetAutorizacao4) ------------------------------

    def _receive(
        self,
        nfe: etree._Element,
        key: str,
        tp_amb: str,
        auth: Authoriser,
        now: datetime,
        batch: Callable[..., etree._Element],
    ) -> etree._Element:
        """103: the batch is received and gets a receipt number (nRec); it is processed
        `processing_s` later, whether or not anyone asks (a batch sent again while
        waiting gets the same receipt)."""
        batches = self.data["batches"]
        pending = next(
            (n for n, b in batches.items() if b["key"] == key and b["prot_xml"] is None), None
        )
        if pending is None:
            self.data["sequence"] += 1
            pending = f"{key[:2]}{self.data['sequence']:013d}"
            batches[pending] = {
                "key": key,
                "nfe": to_xml(nfe),
                "tp_amb": tp_amb,
                "authoriser": auth.slug,
                "received_at": now,
                "prot_xml": None,
            }
        receipt = etree.Element(f"{{{NFE_NS}}}infRec")
        etree.SubElement(receipt, f"{{{NFE_NS}}}nRec").text = pending
        seconds = max(1, round(self.data["mode"].processing_s))
        etree.SubElement(receipt, f"{{{NFE_NS}}}tMed").text = str(seconds)
        return batch(103, "Lote recebido com sucesso", receipt)

    def _busy(self) -> bool:
        """Under load a real authoriser answers even a synchronous request with 103: with
        faults on, now and then this one does too."""
        rate = self.state.faults.config_for(PROVIDER).error_rate
        if rate and self.state.faults.roll(PROVIDER, rate / 4):
            self.state.faults.injected[f"{PROVIDER}.asynchronous"] += 1
            return True
        return False

    def advance(self) -> None:
        """Process every batch whose time has come (on any request: SEFAZ does not
        wait to be asked). The time is the mode's now: speeding processing up applies
        to the batches waiting too."""
        now = self._now()
        ready = now - timedelta(seconds=self.data["mode"].processing_s)
        for batch in self.data["batches"].values():
            if batch["prot_xml"] is None and batch["received_at"] <= ready:
                auth = AUTHORISERS[batch["authoriser"]]
                prot = self._process(
                    parse_xml(batch["nfe"]), batch["key"], batch["tp_amb"], auth, now
                )
                batch["prot_xml"] = to_xml(prot)

    def receipt(self, cons: etree._Element, auth: Authoriser) -> tuple[etree._Element, bool]:
        """NFeRetAutorizacao4: 105 while the batch waits, 104 with its protNFe after."""
        now = self._now()
        number, tp_amb = find_text(cons, "n:nRec"), find_text(cons, "n:tpAmb") or "2"
        found = self.data["batches"].get(number)
        fields = [("tpAmb", tp_amb), ("verAplic", VER_APLIC), ("nRec", number)]
        errors = schema_errors("consReciNFe", cons)
        if errors:
            cstat, reason = 215, "Rejeição: Falha no schema XML: " + "; ".join(errors[:5])
        elif found is None or found["authoriser"] != auth.slug:
            cstat, reason = 106, "Lote não localizado"
        elif found["prot_xml"] is None:
            cstat, reason = 105, "Lote em processamento"
        else:
            cstat, reason = 104, "Lote processado"
        fields += [("cStat", str(cstat)), ("xMotivo", reason)]
        fields += [("cUF", number[:2] if number[:2].isdigit() else "35")]
        fields += [("dhRecbto", brasilia_stamp(now))]
        extra = [parse_xml(found["prot_xml"])] if cstat == 104 and found else []
        return ret_element("retConsReciNFe", "4.00", fields, *extra), False

    # -- 656: consumo indevido --------------------------------------------------------------

    def misuse(self, root: str, message: etree._Element) -> str | None:
        """Why this call is refused with 656, or None. An issuer calling more than
        `max_calls` times in `window_s`, or consulting one key more than `max_same_key`
        times, is blocked for `block_s`."""
        mode: Mode = self.data["mode"]
        now = self._now()
        cnpj = find_text(message, ".//n:CNPJ") or find_text(message, "n:chNFe")[6:20]
        until = self.data["blocked"].get(cnpj)
        if until is not None and now < until:
            return "Rejeição: Consumo Indevido (bloqueio temporário do emissor)"
        horizon = now - timedelta(seconds=mode.window_s)
        counters = [(cnpj, mode.max_calls)]
        if root == "consSitNFe":
            counters.append((f"key:{find_text(message, 'n:chNFe')}", mode.max_same_key))
        refused = None
        for name, limit in counters:
            recent = [t for t in self.data["calls"].get(name, []) if t > horizon]
            recent.append(now)
            self.data["calls"][name] = recent
            if len(recent) > limit:
                refused = "Rejeição: Consumo Indevido"
        if refused is not None:
            self.data["blocked"][cnpj] = now + timedelta(seconds=mode.block_s)
            self.state.faults.injected[f"{PROVIDER}.misuse_blocked"] += 1
        return refused

    def _check_and_authorise(
        self,
        nfe: etree._Element,
        key: str,
        digest: str,
        tp_amb: str,
        now: datetime,
        auth: Authoriser,
    ) -> dict[str, Any]:
        inf = nfe.find("n:infNFe", _N)
        if mod11(key[:43]) != key[43]:
            raise Rejection(236, "Rejeição: Chave de Acesso com dígito verificador inválido")
        ide = {
            f: find_text(inf, f"n:ide/n:{f}")
            for f in ("cUF", "dhEmi", "mod", "serie", "nNF", "tpEmis", "cNF", "cDV")
        }
        cnpj = find_text(inf, "n:emit/n:CNPJ")
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
        verify_signature(nfe, f"NFe{key}", cnpj)
        self._check_emission_type(inf, ide["tpEmis"], auth, now)
        check_nfe(inf, now)
        if tp_amb == "2" and find_text(inf, "n:dest/n:xNome") != HOMOLOGATION_NAME:
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
        if number_id in self.data["voided"]:
            raise Rejection(206, "Rejeição: NF-e já está inutilizada na Base de dados da SEFAZ")
        purpose = find_text(inf, "n:ide/n:finNFe")
        refers_to = find_text(inf, "n:ide/n:NFref/n:refNFe")
        if purpose == "4" and not inf.findall("n:ide/n:NFref", _N):
            raise Rejection(
                321,
                "Rejeição: NF-e de devolução de mercadoria não possui documento fiscal "
                "referenciado",
            )
        if number_id in numbers:
            first = nfes[numbers[number_id]]
            raise Rejection(
                539,
                "Rejeição: Duplicidade de NF-e, com diferença na Chave de Acesso "
                f"[chNFe:{first['access_key']}][nProt:{first['protocol']}]"
                f"[dhAut:{first['authorised_at']}]",
            )
        protocol, stamp = self._protocol(key[:2], now), brasilia_stamp(now)
        prot = prot_element(tp_amb, key, stamp, protocol, digest, 100, "Autorizado o uso da NF-e")
        record = {
            "access_key": key,
            "protocol": protocol,
            "authorised_at": stamp,
            "authorised": now,
            "emitted": ide["dhEmi"],
            "tp_amb": tp_amb,
            "prot_xml": to_xml(prot),
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
            total=find_text(inf, "n:total/n:ICMSTot/n:vNF"),
            **({"purpose": "return", "refers_to": refers_to} if purpose == "4" else {}),
        )
        return record

    def _check_emission_type(
        self, inf: etree._Element, emission: str, auth: Authoriser, now: datetime
    ) -> None:
        """Normal emission at the state's authoriser; tpEmis 6/7 only at the SVC that
        takes over while the state is down (NT 2013.007; MOC B22-30, B22-60, B28)."""
        since = parse_stamp(find_text(inf, "n:ide/n:dhCont"))
        why = find_text(inf, "n:ide/n:xJust")
        if auth.contingency is None:
            if emission in {"6", "7"}:
                raise Rejection(
                    570,
                    "Rejeição: Tipo de Emissão 3, 6 ou 7 só é válido nas contingências SCAN/SVC",
                )
            if emission == "1" and (since or why):
                raise Rejection(
                    556,
                    "Rejeição: Justificativa de entrada em contingência não deve ser informada "
                    "para tipo de emissão normal",
                )
            return
        if emission != auth.contingency:
            raise Rejection(
                713,
                "Rejeição: Tipo de Emissão diferente de 6 ou 7 para contingência da SVC acessada",
            )
        if self.data["paralysed"] is None and not self.data.get("svc_active"):
            raise Rejection(114, f"{auth.name} desabilitada pela SEFAZ de Origem")
        if since is None or not why:
            raise Rejection(
                557, "Rejeição: A Justificativa de entrada em contingência deve ser informada"
            )
        if since - now > timedelta(minutes=5):
            raise Rejection(
                558, "Rejeição: Data de entrada em contingência posterior a data de recebimento"
            )

    # -- NFeConsultaProtocolo4 ------------------------------------------------------------

    def consult(self, cons: etree._Element, auth: Authoriser) -> tuple[etree._Element, bool]:
        key, tp_amb = find_text(cons, "n:chNFe"), find_text(cons, "n:tpAmb") or "2"
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
        fields += [("dhRecbto", brasilia_stamp(self._now())), ("chNFe", key)]
        extra = []
        if record is not None and cstat in (100, 101):
            extra.append(parse_xml(record["prot_xml"]))
            events = [*record.get("corrections", {}).values()]
            events += [record["cancellation"]] if record["cancellation"] else []
            for registered in events:
                proc = etree.Element(f"{{{NFE_NS}}}procEventoNFe", versao="1.00")
                proc.append(parse_xml(registered["event_xml"]))
                proc.append(parse_xml(registered["ret_xml"]))
                extra.append(proc)
        return ret_element("retConsSitNFe", "4.00", fields, *extra), False

    # -- NFeRecepcaoEvento4 ---------------------------------------------------------------

    def event(self, env: etree._Element, auth: Authoriser) -> tuple[etree._Element, bool]:
        now = self._now()
        inf = env.find("n:evento/n:infEvento", _N)
        tp_amb = find_text(env, "n:evento/n:infEvento/n:tpAmb") or "2"
        organ = find_text(env, "n:evento/n:infEvento/n:cOrgao") or "35"
        kind = find_text(env, "n:evento/n:infEvento/n:tpEvento")
        sequence = find_text(env, "n:evento/n:infEvento/n:nSeqEvento") or "1"

        def batch(cstat: int, reason: str, *extra: etree._Element) -> etree._Element:
            fields = [("idLote", find_text(env, "n:idLote") or "0"), ("tpAmb", tp_amb)]
            fields += [("verAplic", VER_APLIC), ("cOrgao", organ), ("cStat", str(cstat))]
            return ret_element("retEnvEvento", "1.00", [*fields, ("xMotivo", reason)], *extra)

        handlers = {CANCELLATION: self._cancel, CORRECTION: self._correct}
        if kind not in handlers:
            return batch(491, "Rejeição: O tpEvento informado inválido"), False
        errors = schema_errors(f"envEvento/{kind}", env)
        if errors or inf is None:
            reason = "Rejeição: Falha no schema XML: " + "; ".join(errors[:5])
            return batch(215, reason), False
        key = find_text(inf, "n:chNFe")
        try:
            event = standalone(env.find("n:evento", _N))
            verify_signature(event, inf.get("Id") or "", find_text(inf, "n:CNPJ"))
            expected_id = f"ID{kind}{key}{int(sequence):02d}"
            if inf.get("Id") != expected_id:
                raise Rejection(
                    572,
                    "Rejeição: Erro Atributo ID do evento não corresponde a concatenação dos "
                    "campos (“ID” + tpEvento + chNFe + nSeqEvento)",
                )
            ret = handlers[kind](event, inf, key, tp_amb, now)
        except Rejection as rejection:
            self.state.ledger.record(
                PROVIDER,
                EVENT_REJECTED[kind],
                access_key=key,
                code=rejection.cstat,
                reason=rejection.reason,
            )
            ret = ret_event(
                tp_amb,
                organ,
                key,
                now,
                None,
                rejection.cstat,
                rejection.reason,
                kind=kind,
                sequence=sequence,
            )
            return batch(128, "Lote de Evento Processado", ret), False
        return batch(128, "Lote de Evento Processado", ret), True

    def _cancel(
        self, event: etree._Element, inf: etree._Element, key: str, tp_amb: str, now: datetime
    ) -> etree._Element:
        record = self.data["nfes"].get(key)
        if record is None:
            raise Rejection(494, "Rejeição: Chave de Acesso inexistente")
        if record["cancellation"]:
            raise Rejection(
                573, f"Rejeição: Duplicidade de Evento [nProt:{record['cancellation']['protocol']}]"
            )
        if find_text(inf, "n:detEvento/n:nProt") != record["protocol"]:
            raise Rejection(222, "Rejeição: Protocolo de Autorização de Uso difere do cadastrado")
        check_event_time(
            parse_stamp(find_text(inf, "n:dhEvento")),
            parse_stamp(record.get("emitted", "")),
            record["authorised"],
            now,
        )
        if now - record["authorised"] > self._cancellation_window():
            raise Rejection(
                501, "Rejeição: Prazo de cancelamento superior ao previsto na Legislação"
            )
        if self._circulated(key):
            raise Rejection(219, "Rejeição: Circulação da NF-e verificada")
        protocol = self._protocol(key[:2], now)
        organ = find_text(inf, "n:cOrgao")
        ret = ret_event(
            tp_amb, organ, key, now, protocol, 135, "Evento registrado e vinculado a NF-e"
        )
        record["cancellation"] = {
            "protocol": protocol,
            "event_xml": to_xml(event),
            "ret_xml": to_xml(ret),
        }
        self.state.ledger.record(PROVIDER, "invoice_cancelled", access_key=key, protocol=protocol)
        return ret

    def _correct(
        self, event: etree._Element, inf: etree._Element, key: str, tp_amb: str, now: datetime
    ) -> etree._Element:
        """CC-e 110110: up to 20 per NF-e, within 720 h of its authorisation, never on a
        cancelled one; the latest text replaces the earlier ones."""
        record = self.data["nfes"].get(key)
        if record is None:
            raise Rejection(494, "Rejeição: Chave de Acesso inexistente")
        if record["cancellation"]:
            raise Rejection(580, "Rejeição: O evento exige uma NF-e autorizada")
        sequence = int(find_text(inf, "n:nSeqEvento") or "1")
        corrections = record.setdefault("corrections", {})
        if str(sequence) in corrections:
            first = corrections[str(sequence)]
            raise Rejection(573, f"Rejeição: Duplicidade de Evento [nProt:{first['protocol']}]")
        check_event_time(
            parse_stamp(find_text(inf, "n:dhEvento")),
            parse_stamp(record.get("emitted", "")),
            record["authorised"],
            now,
        )
        if now - record["authorised"] > CORRECTION_WINDOW:
            raise Rejection(
                501, "Rejeição: Prazo de registro da Carta de Correção superior a 720 horas"
            )
        protocol = self._protocol(key[:2], now)
        organ = find_text(inf, "n:cOrgao")
        ret = ret_event(
            tp_amb,
            organ,
            key,
            now,
            protocol,
            135,
            "Evento registrado e vinculado a NF-e",
            kind=CORRECTION,
            sequence=str(sequence),
        )
        corrections[str(sequence)] = {
            "protocol": protocol,
            "text": find_text(inf, "n:detEvento/n:xCorrecao"),
            "event_xml": to_xml(event),
            "ret_xml": to_xml(ret),
        }
        self.state.ledger.record(
            PROVIDER, "invoice_corrected", access_key=key, sequence=sequence, protocol=protocol
        )
        return ret

    # -- NFeInutilizacao4 -----------------------------------------------------------------

    def void(self, inut: etree._Element, auth: Authoriser) -> tuple[etree._Element, bool]:
        """Voiding (inutilização) of a range of numbers never used: 102, or 241 when one
        was used, 256 when one is voided already, 563 when the same range was before."""
        now = self._now()
        inf = inut.find("n:infInut", _N)
        fields = {
            f: find_text(inf, f"n:{f}")
            for f in ("tpAmb", "cUF", "ano", "CNPJ", "mod", "serie", "nNFIni", "nNFFin")
        }

        def answer(cstat: int, reason: str, protocol: str | None = None) -> etree._Element:
            ret = etree.Element(f"{{{NFE_NS}}}retInutNFe", nsmap={None: NFE_NS}, versao="4.00")
            info = etree.SubElement(ret, f"{{{NFE_NS}}}infInut")
            values = [("tpAmb", fields["tpAmb"] or "2"), ("verAplic", VER_APLIC)]
            values += [("cStat", str(cstat)), ("xMotivo", reason[:255])]
            values += [("cUF", fields["cUF"] or "35")]
            values += [(f, fields[f]) for f in ("ano", "CNPJ", "mod", "serie", "nNFIni", "nNFFin")]
            values += [("dhRecbto", brasilia_stamp(now)), ("nProt", protocol or "")]
            for name, value in values:
                if value:
                    etree.SubElement(info, f"{{{NFE_NS}}}{name}").text = value
            return ret

        errors = schema_errors("inutNFe", inut)
        if errors or inf is None:
            return answer(215, "Rejeição: Falha no schema XML: " + "; ".join(errors[:5])), False
        try:
            verify_signature(standalone(inut), inf.get("Id") or "", fields["CNPJ"])
            if fields["tpAmb"] != HOMOLOGATION:
                raise Rejection(
                    252, "Rejeição: Ambiente informado diverge do Ambiente de recebimento"
                )
            first, last = int(fields["nNFIni"]), int(fields["nNFFin"])
            if first > last:
                raise Rejection(224, "Rejeição: A faixa inicial é maior que a faixa final")
            prefix = f"{fields['CNPJ']}/{int(fields['serie'])}"
            span = f"{prefix}/{first}-{last}"
            earlier = self.data["voidings"].get(span)
            if earlier is not None:
                raise Rejection(
                    563,
                    "Rejeição: Já existe pedido de Inutilização com a mesma faixa de "
                    f"inutilização [nProt:{earlier['protocol']}]",
                )
            numbers = [f"{prefix}/{n}" for n in range(first, last + 1)]
            if any(n in self.data["numbers"] for n in numbers):
                raise Rejection(241, "Rejeição: Um número da faixa já foi utilizado")
            if any(n in self.data["voided"] for n in numbers):
                raise Rejection(
                    256, "Rejeição: Uma NF-e da faixa já está inutilizada na Base de dados da SEFAZ"
                )
        except Rejection as rejection:
            self.state.ledger.record(
                PROVIDER,
                "voiding_rejected",
                cnpj=fields["CNPJ"],
                series=fields["serie"],
                first=fields["nNFIni"],
                last=fields["nNFFin"],
                code=rejection.cstat,
                reason=rejection.reason,
            )
            return answer(rejection.cstat, rejection.reason), False
        protocol = self._protocol(fields["cUF"] or "35", now)
        self.data["voidings"][span] = {"protocol": protocol, "at": brasilia_stamp(now)}
        for n in numbers:
            self.data["voided"][n] = protocol
        self.state.ledger.record(
            PROVIDER,
            "numbers_voided",
            cnpj=fields["CNPJ"],
            series=int(fields["serie"]),
            first=first,
            last=last,
            protocol=protocol,
        )
        return answer(102, "Inutilização de número homologado", protocol), True

    def _circulated(self, key: str) -> bool:
        """Whether the goods of this NF-e left with a carrier (the sandbox carrier's
        shipments carry the key): SEFAZ learns it from transport documents and road
        checkpoints, and then refuses a cancellation (219)."""
        carrier = self.state.data.get("carrier", {}).get("db")
        for shipment in getattr(carrier, "shipments", {}).values():
            invoice = shipment.get("invoice") or {}
            if invoice.get("key") == key and shipment.get("status") in CIRCULATING:
                return True
        return False

    def _cancellation_window(self) -> timedelta:
        hours = self.data.get("cancellation_window_h")
        return timedelta(hours=float(hours)) if hours else CANCELLATION_WINDOW

    # -- NFeStatusServico4 and paralysis --------------------------------------------------

    def status(self, cons: etree._Element, auth: Authoriser) -> tuple[etree._Element, bool]:
        fields = [("tpAmb", find_text(cons, "n:tpAmb") or "2"), ("verAplic", VER_APLIC)]
        fields += [("cStat", "107"), ("xMotivo", "Serviço em Operação")]
        fields += [
            ("cUF", find_text(cons, "n:cUF") or "35"),
            ("dhRecbto", brasilia_stamp(self._now())),
        ]
        return ret_element("retConsStatServ", "4.00", [*fields, ("tMed", "1")]), False

    def paralysed(self, root: str, message: etree._Element, cstat: int) -> etree._Element:
        return self.refused(root, message, cstat, PARALYSED[cstat])

    def refused(
        self, root: str, message: etree._Element, cstat: int, reason: str
    ) -> etree._Element:
        """The service's answer refusing the whole call (108/109 paralysed, 656)."""
        tp_amb = find_text(message, ".//n:tpAmb") or "2"
        head = [("tpAmb", tp_amb), ("verAplic", VER_APLIC), ("cStat", str(cstat))]
        head.append(("xMotivo", reason))
        tail = [
            ("cUF", find_text(message, ".//n:cUF") or "35"),
            ("dhRecbto", brasilia_stamp(self._now())),
        ]
        if root == "enviNFe":
            return ret_element("retEnviNFe", "4.00", head + tail)
        if root == "consSitNFe":
            return ret_element(
                "retConsSitNFe", "4.00", head + tail + [("chNFe", find_text(message, "n:chNFe"))]
            )
        if root == "envEvento":
            lot = [("idLote", find_text(message, "n:idLote") or "0")]
            organ = ("cOrgao", find_text(message, ".//n:cOrgao") or "35")
            return ret_element("retEnvEvento", "1.00", lot + head[:2] + [organ] + head[2:])
        if root == "consReciNFe":
            number = ("nRec", find_text(message, "n:nRec"))
            return ret_element("retConsReciNFe", "4.00", head[:2] + [number] + head[2:] + tail)
        if root == "inutNFe":
            ret = etree.Element(f"{{{NFE_NS}}}retInutNFe", nsmap={None: NFE_NS}, versao="4.00")
            info = etree.SubElement(ret, f"{{{NFE_NS}}}infInut")
            for name, value in head + tail:
                etree.SubElement(info, f"{{{NFE_NS}}}{name}").text = value
            return ret
        return ret_element("retConsStatServ", "4.00", head + tail)

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
