"""SefazClient's translation of SEFAZ answers into the error tree (httpx.MockTransport)."""

import httpx
import pytest

from domain.errors import ProviderRejected, ProviderUnavailable
from integrations.sefaz.client import SefazClient

pytestmark = pytest.mark.unit

KEY = "35261111222333000181550010000000011000000010"


def soap(ret: str) -> bytes:
    return (
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
        '<nfeResultMsg xmlns="http://www.portalfiscal.inf.br/nfe/wsdl/NFeConsultaProtocolo4">'
        f"{ret}</nfeResultMsg></soap:Body></soap:Envelope>"
    ).encode()


def consult_answer(cstat: int, reason: str) -> bytes:
    return soap(
        '<retConsSitNFe xmlns="http://www.portalfiscal.inf.br/nfe" versao="4.00">'
        f"<tpAmb>2</tpAmb><verAplic>T</verAplic><cStat>{cstat}</cStat>"
        f"<xMotivo>{reason}</xMotivo><cUF>35</cUF><dhRecbto>2026-11-20T10:00:00-03:00</dhRecbto>"
        f"<chNFe>{KEY}</chNFe></retConsSitNFe>"
    )


async def consult_with(response: httpx.Response, seen: list[httpx.Request] | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return response

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        return await SefazClient(http, "https://sefaz.test", "SP", 2).consult(KEY)


async def test_consult_speaks_soap_12_to_the_consultation_service():
    seen: list[httpx.Request] = []

    result = await consult_with(
        httpx.Response(200, content=consult_answer(217, "Não consta")), seen
    )

    assert (result.cstat, result.reason, result.access_key) == (217, "Não consta", KEY)
    request = seen[0]
    assert request.url == "https://sefaz.test/sp/ws/nfeconsultaprotocolo4.asmx"  # SP: lower case
    assert request.headers["Content-Type"].startswith("application/soap+xml")
    assert "NFeConsultaProtocolo4/nfeConsultaNF" in request.headers["Content-Type"]
    assert b"<nfeDadosMsg" in request.content
    assert f"<chNFe>{KEY}</chNFe>".encode() in request.content


@pytest.mark.parametrize("cstat", [108, 109])
async def test_paralysed_service_is_unavailable(cstat):
    with pytest.raises(ProviderUnavailable) as raised:
        await consult_with(httpx.Response(200, content=consult_answer(cstat, "Paralisado")))

    assert raised.value.code == f"sefaz_{cstat}"


async def test_misuse_block_656_backs_off_instead_of_rejecting():
    answer = consult_answer(656, "Rejeição: Consumo Indevido")

    with pytest.raises(ProviderUnavailable, match="Consumo Indevido") as raised:
        await consult_with(httpx.Response(200, content=answer))

    assert raised.value.code == "sefaz_656"
    assert raised.value.retry_after == 300.0


async def test_unexpected_status_is_a_rejection_carrying_the_reason():
    answer = consult_answer(236, "Rejeição: Chave de Acesso com dígito verificador inválido")

    with pytest.raises(ProviderRejected, match="dígito verificador") as raised:
        await consult_with(httpx.Response(200, content=answer))

    assert raised.value.code == "sefaz_236"


@pytest.mark.parametrize("status", [500, 503, 504, 429])
async def test_http_failures_are_unavailable(status):
    with pytest.raises(ProviderUnavailable):
        await consult_with(httpx.Response(status, text="busy"))


async def test_an_html_error_page_is_unavailable_not_a_crash():
    with pytest.raises(ProviderUnavailable, match="not XML"):
        await consult_with(httpx.Response(200, text="<html><body>Erro</body>"))


async def test_a_soap_fault_is_a_rejection():
    fault = (
        b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
        b"<soap:Fault><soap:Reason><soap:Text>bad envelope</soap:Text></soap:Reason>"
        b"</soap:Fault></soap:Body></soap:Envelope>"
    )
    with pytest.raises(ProviderRejected, match="bad envelope"):
        await consult_with(httpx.Response(200, content=fault))


@pytest.mark.parametrize(
    ("uf", "path"),
    [
        ("SP", "/sp/ws/nfeautorizacao4.asmx"),
        ("MG", "/mg/nfe2/services/NFeAutorizacao4"),
        ("RJ", "/svrs/ws/NfeAutorizacao/NFeAutorizacao4.asmx"),
        ("SC", "/svrs/ws/NfeAutorizacao/NFeAutorizacao4.asmx"),
    ],
)
def test_each_state_reaches_its_own_authoriser_at_its_real_path(uf, path):
    from integrations.sefaz.endpoints import authoriser_of

    assert authoriser_of(uf).urls("https://sefaz.test")["NFeAutorizacao4"] == (
        "https://sefaz.test" + path
    )


@pytest.mark.parametrize(
    ("uf", "svc", "emission"),
    [("SP", "svc-an", "6"), ("RJ", "svc-an", "6"), ("BA", "svc-rs", "7"), ("PR", "svc-rs", "7")],
)
def test_each_state_has_its_contingency_authoriser(uf, svc, emission):
    from integrations.sefaz.endpoints import contingency_of

    backup = contingency_of(uf)

    assert (backup.slug, backup.emission_type) == (svc, emission)
