"""The NF-e builder: complete, schema-valid, consistent totals, deterministic.

The sample factories at the top are shared with tests/integration/test_sefaz_*.py."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from domain.fiscal import InvoiceLine, InvoiceRequest, Issuer, is_valid_access_key
from domain.nfe_fields import Intermediary, TechnicalContact
from domain.nfe_text import text
from domain.orders import Address, Channel, Customer, Order, OrderItem
from integrations.fiscal.certificate import load_certificate, make_dev_certificate
from integrations.fiscal.nfe import HOMOLOGATION_NAME, NfeBuilder
from integrations.fiscal.schema import nfe_schema
from integrations.fiscal.signing import NfeSigner

pytestmark = pytest.mark.unit

NS = {"n": "http://www.portalfiscal.inf.br/nfe"}
ISSUER_CNPJ = "11222333000181"
CERT_PASSWORD = "dev-only"
MARKETPLACE_CNPJ, PROCESSOR_CNPJ = "03007331000141", "10573521000191"
INTERMEDIARIES = {"marketplace": Intermediary(cnpj=MARKETPLACE_CNPJ, seller_id="LOJA-RTG")}
PROCESSORS = {"store": PROCESSOR_CNPJ, "marketplace": PROCESSOR_CNPJ}
CONTACT = TechnicalContact(
    cnpj=ISSUER_CNPJ, contact="Equipe Retaguarda", email="fiscal@retaguarda.dev", phone="1130000000"
)


def sample_issuer(*, crt: str = "3", environment: int = 2, state: str = "SP") -> Issuer:
    return Issuer(
        cnpj=ISSUER_CNPJ,
        name="Retaguarda Comércio Eletrônico Ltda",
        trade_name="Retaguarda Store",
        ie="123456789110",
        crt=crt,
        environment=environment,
        address=Address(
            street="Avenida Paulista",
            number="1000",
            complement="Conjunto 12",
            district="Bela Vista",
            city="São Paulo",
            city_code="3550308",
            state=state,
            postal_code="01310100",
        ),
    )


def sample_builder(**issuer: Any) -> NfeBuilder:
    """A builder configured as the workers configure it (intermediary, card processor,
    technical contact), with the default tax rules."""
    return NfeBuilder(
        sample_issuer(**issuer),
        intermediaries=INTERMEDIARIES,
        card_processors=PROCESSORS,
        technical_contact=CONTACT,
    )


# A customer's city and CEP per state; the IBGE code is looked up from the city's name.
CUSTOMER_CITIES = {
    "SP": ("Campinas", "13010000"),
    "BA": ("Salvador", "40010000"),
    "MG": ("Belo Horizonte", "30160011"),
    "RJ": ("Rio de Janeiro", "22021001"),
    "PR": ("Curitiba", "80020310"),
    "RS": ("Porto Alegre", "90020008"),
    "PE": ("Recife", "51011000"),
    "GO": ("Goiânia", "74005010"),
}


def sample_customer(state: str = "SP") -> Customer:
    city, cep = CUSTOMER_CITIES[state]
    return Customer(
        name="Maria José da Conceição",
        cpf="52998224725",
        email="maria@example.com",
        phone="11 98765-4321",
        address=Address(
            street="Rua das Flores",
            number="42",
            district="Centro",
            city=city,
            state=state,
            postal_code=cep,
        ),
    )


def sample_request(
    *,
    number: int = 1,
    order_id: str = "order:store:A-1",
    lines: tuple[tuple[str, int, str], ...] = (("CANECA-01", 2, "39.90"), ("CAFE-500", 1, "24.50")),
    shipping: str = "15.00",
    state: str = "SP",
    payment_method: str = "pix",
    channel: Channel = Channel.STORE,
    issued_at: datetime = datetime(2026, 11, 20, 14, 30, tzinfo=UTC),
    ncm: str = "69120000",
    origin: str = "0",
    gtin: str = "",
    weight_g: int = 400,
) -> InvoiceRequest:
    items = tuple(
        OrderItem(sku=sku, quantity=qty, unit_price=Decimal(price)) for sku, qty, price in lines
    )
    merchandise = sum((i.subtotal for i in items), Decimal(0))
    order = Order(
        channel=channel,
        external_id=order_id.rsplit(":", 1)[-1],
        placed_at=issued_at,
        customer=sample_customer(state),
        items=items,
        shipping_price=Decimal(shipping),
        total=merchandise + Decimal(shipping),
        payment_method=payment_method,
        payment_id="PAY-1",
    )
    return InvoiceRequest(
        order_id=order_id,
        order=order,
        lines=tuple(
            InvoiceLine(
                sku=i.sku,
                description=f"Produto {i.sku} — edição “especial” ☕",
                ncm=ncm,
                quantity=i.quantity,
                unit_price=i.unit_price,
                origin=origin,
                gtin=gtin,
                weight_g=weight_g,
            )
            for i in items
        ),
        number=number,
        series=1,
        issued_at=issued_at,
        idempotency_key=f"{order_id}:invoice",
    )


def dev_signer(directory: Path) -> NfeSigner:
    path = directory / "dev-a1.pfx"
    make_dev_certificate(path, ISSUER_CNPJ, CERT_PASSWORD)
    return NfeSigner(load_certificate(path, CERT_PASSWORD))


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode())


def values(root: etree._Element, path: str) -> list[Decimal]:
    return [Decimal(v) for v in root.xpath(f"{path}/text()", namespaces=NS)]


CASES: dict[str, dict[str, dict[str, Any]]] = {
    "normal regime, same state, pix": {"issuer": {"crt": "3"}, "request": {}},
    "normal regime, to the northeast, card": {
        "issuer": {"crt": "3"},
        "request": {"state": "BA", "payment_method": "credit_card"},
    },
    "simples nacional, boleto, free shipping": {
        "issuer": {"crt": "1"},
        "request": {"shipping": "0", "payment_method": "boleto"},
    },
    "marketplace with intermediary, odd cents, unknown payment": {
        "issuer": {"crt": "3"},
        "builder": {"intermediaries": INTERMEDIARIES},
        "request": {
            "channel": Channel.MARKETPLACE,
            "lines": (("A", 3, "0.33"), ("B", 7, "10.01"), ("C", 1, "999.99")),
            "shipping": "10.00",
            "payment_method": "voucher",
        },
    },
}


@pytest.mark.parametrize("case", CASES)
def test_signed_nfe_validates_against_the_xsd_with_no_errors(case, signer):
    builder = NfeBuilder(sample_issuer(**CASES[case]["issuer"]), **CASES[case].get("builder", {}))
    built = builder.build(sample_request(**CASES[case]["request"]))

    signed = signer.sign(built.xml, built.reference_id)

    assert nfe_schema().errors(signed) == []


@pytest.mark.parametrize("case", CASES)
def test_totals_add_up_to_the_order_total(case):
    request = sample_request(**CASES[case]["request"])
    root = parse(sample_builder(**CASES[case]["issuer"]).build(request).xml)
    tot = "n:infNFe/n:total/n:ICMSTot"

    assert sum(values(root, "//n:det/n:prod/n:vProd")) == values(root, f"{tot}/n:vProd")[0]
    assert sum(values(root, "//n:det/n:prod/n:vFrete")) == request.order.shipping_price
    assert sum(values(root, "//n:det//n:vICMS")) == values(root, f"{tot}/n:vICMS")[0]
    assert sum(values(root, "//n:det//n:vPIS")) == values(root, f"{tot}/n:vPIS")[0]
    assert sum(values(root, "//n:det//n:vCOFINS")) == values(root, f"{tot}/n:vCOFINS")[0]
    assert sum(values(root, "//n:det/n:imposto/n:vTotTrib")) == values(root, f"{tot}/n:vTotTrib")[0]
    for name in ("vICMSUFDest", "vFCPUFDest"):
        assert sum(values(root, f"//n:det//n:ICMSUFDest/n:{name}")) == sum(
            values(root, f"{tot}/n:{name}")
        )
    assert values(root, f"{tot}/n:vNF") == [request.order.total]
    assert values(root, "//n:pag/n:detPag/n:vPag") == [request.order.total]


def test_the_same_request_always_gives_the_same_access_key_and_document(signer):
    builder = NfeBuilder(sample_issuer())
    first, again = builder.build(sample_request()), builder.build(sample_request())

    assert first == again
    assert first.access_key == builder.access_key(sample_request())
    assert is_valid_access_key(first.access_key)
    assert signer.sign(first.xml, first.reference_id) == signer.sign(again.xml, again.reference_id)


def test_homologation_names_the_recipient_as_required_and_production_does_not():
    homologation = parse(NfeBuilder(sample_issuer(environment=2)).build(sample_request()).xml)
    production = parse(NfeBuilder(sample_issuer(environment=1)).build(sample_request()).xml)

    assert homologation.findtext(".//n:dest/n:xNome", namespaces=NS) == HOMOLOGATION_NAME
    assert production.findtext(".//n:dest/n:xNome", namespaces=NS) == "Maria José da Conceição"
    assert production.findtext(".//n:ide/n:tpAmb", namespaces=NS) == "1"


def test_interstate_sale_to_a_consumer_uses_cfop_6108_and_the_interstate_rate():
    root = parse(NfeBuilder(sample_issuer()).build(sample_request(state="BA")).xml)

    assert root.findtext(".//n:ide/n:idDest", namespaces=NS) == "2"
    assert set(root.xpath("//n:CFOP/text()", namespaces=NS)) == {"6108"}
    assert set(root.xpath("//n:pICMS/text()", namespaces=NS)) == {"7.00"}


def test_issue_date_is_brasilia_time_and_matches_the_key_month():
    request = sample_request(issued_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC))  # Nov 30 in BR
    built = NfeBuilder(sample_issuer()).build(request)

    assert parse(built.xml).findtext(".//n:dhEmi", namespaces=NS) == "2026-11-30T22:00:00-03:00"
    assert built.access_key[2:6] == "2611"


def test_free_text_is_fitted_to_the_nfe_string_type():
    assert text("  Caneca – “azul”\n  ☕ grande ", 60) == 'Caneca - "azul" grande'
    assert text("Ação çé", 60) == "Ação çé"
    assert text("x" * 200, 120) == "x" * 120
    assert text("☕", 10) == "-"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.tuples(
            st.integers(1, 50),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2),
        ),
        min_size=1,
        max_size=6,
    ),
    shipping=st.decimals(min_value=Decimal("0"), max_value=Decimal("300"), places=2),
    crt=st.sampled_from(["1", "2", "3"]),
    state=st.sampled_from(["SP", "BA", "RJ", "MG"]),
    origin=st.sampled_from(["0", "1", "2"]),
    method=st.sampled_from(["pix", "visa", "boleto", "voucher"]),
    channel=st.sampled_from(list(Channel)),
)
def test_any_order_gives_a_valid_nfe_whose_total_is_the_order_total(
    lines, shipping, crt, state, origin, method, channel, signer
):
    request = sample_request(
        lines=tuple((f"SKU-{n}", qty, str(price)) for n, (qty, price) in enumerate(lines)),
        shipping=str(shipping),
        state=state,
        origin=origin,
        payment_method=method,
        channel=channel,
    )
    built = sample_builder(crt=crt).build(request)
    signed = signer.sign(built.xml, built.reference_id)

    assert nfe_schema().errors(signed) == []
    root = parse(built.xml)
    assert values(root, "//n:ICMSTot/n:vNF") == [request.order.total]
    assert sum(values(root, "//n:det/n:prod/n:vFrete")) == request.order.shipping_price


def text_of(root: etree._Element, path: str) -> list[str]:
    return [str(v) for v in root.xpath(f"{path}/text()", namespaces=NS)]


def test_regime_normal_interstate_sale_to_a_consumer_carries_the_difal_group():
    root = parse(sample_builder(crt="3").build(sample_request(state="RJ")).xml)
    uf_dest = "//n:det/n:imposto/n:ICMSUFDest"

    assert len(root.xpath(uf_dest, namespaces=NS)) == 2
    assert set(text_of(root, f"{uf_dest}/n:pICMSInter")) == {"12.00"}
    assert set(text_of(root, f"{uf_dest}/n:pICMSUFDest")) == {"20.00"}
    assert set(text_of(root, f"{uf_dest}/n:pFCPUFDest")) == {"2.00"}
    assert set(text_of(root, f"{uf_dest}/n:pICMSInterPart")) == {"100.00"}
    assert set(text_of(root, f"{uf_dest}/n:vICMSUFRemet")) == {"0.00"}
    # 79.80 + 11.48 freight = 91.28: x 8% = 7.30; 24.50 + 3.52 = 28.02: x 8% = 2.24
    assert text_of(root, f"{uf_dest}/n:vICMSUFDest") == ["7.30", "2.24"]
    assert text_of(root, "//n:ICMSTot/n:vICMSUFDest") == ["9.54"]
    assert text_of(root, "//n:ICMSTot/n:vFCPUFDest") == ["2.39"]


@pytest.mark.parametrize(
    ("crt", "state"), [("1", "RJ"), ("3", "SP")], ids=["simples", "same-state"]
)
def test_no_difal_group_for_simples_nacional_or_inside_the_state(crt, state):
    root = parse(sample_builder(crt=crt).build(sample_request(state=state)).xml)

    assert root.xpath("//n:ICMSUFDest", namespaces=NS) == []
    assert root.xpath("//n:ICMSTot/n:vICMSUFDest", namespaces=NS) == []


def test_imported_goods_go_out_at_4_percent_with_their_origin():
    root = parse(sample_builder().build(sample_request(state="BA", origin="1")).xml)

    assert set(text_of(root, "//n:ICMS00/n:orig")) == {"1"}
    assert set(text_of(root, "//n:ICMS00/n:pICMS")) == {"4.00"}


def test_books_go_out_immune_from_icms_and_at_zero_pis_cofins():
    root = parse(sample_builder().build(sample_request(state="BA", ncm="49019900")).xml)

    assert set(text_of(root, "//n:ICMS40/n:CST")) == {"41"}
    assert set(text_of(root, "//n:PISNT/n:CST")) == {"06"}
    assert root.xpath("//n:ICMSUFDest", namespaces=NS) == []
    assert text_of(root, "//n:ICMSTot/n:vICMS") == ["0.00"]


@pytest.mark.parametrize(
    ("gtin", "expected"),
    [("7891000315507", "7891000315507"), ("7891000315508", "SEM GTIN"), ("", "SEM GTIN")],
)
def test_a_valid_gtin_is_the_barcode_else_sem_gtin(gtin, expected):
    root = parse(sample_builder().build(sample_request(gtin=gtin)).xml)

    assert set(text_of(root, "//n:cEAN")) == set(text_of(root, "//n:cEANTrib")) == {expected}


def test_marketplace_sale_names_the_platform_and_our_seller_id():
    store = parse(sample_builder().build(sample_request()).xml)
    marketplace = parse(sample_builder().build(sample_request(channel=Channel.MARKETPLACE)).xml)

    assert text_of(store, "//n:ide/n:indIntermed") == ["0"]
    assert store.xpath("//n:infIntermed", namespaces=NS) == []
    assert text_of(marketplace, "//n:ide/n:indIntermed") == ["1"]
    assert text_of(marketplace, "//n:infIntermed/n:CNPJ") == [MARKETPLACE_CNPJ]
    assert text_of(marketplace, "//n:infIntermed/n:idCadIntTran") == ["LOJA-RTG"]


def test_a_marketplace_sale_without_a_configured_platform_is_refused():
    with pytest.raises(ValueError, match="must name its platform"):
        NfeBuilder(sample_issuer()).build(sample_request(channel=Channel.MARKETPLACE))


@pytest.mark.parametrize(
    ("method", "tpag", "brand", "card"),
    [
        ("visa", "03", ["01"], True),
        ("debmaster", "04", ["02"], True),
        ("pix", "17", [], True),
        ("boleto", "15", [], False),
        ("voucher", "99", [], False),
    ],
)
def test_payment_group_carries_the_official_code_card_brand_and_processor(
    method, tpag, brand, card
):
    root = parse(sample_builder().build(sample_request(payment_method=method)).xml)
    pag = "//n:pag/n:detPag"

    assert text_of(root, f"{pag}/n:tPag") == [tpag]
    assert text_of(root, f"{pag}/n:card/n:tBand") == brand
    if card:
        assert text_of(root, f"{pag}/n:card/n:tpIntegra") == ["1"]
        assert text_of(root, f"{pag}/n:card/n:CNPJ") == [PROCESSOR_CNPJ]
        assert text_of(root, f"{pag}/n:card/n:cAut") == ["PAY-1"]
    else:
        assert root.xpath(f"{pag}/n:card", namespaces=NS) == []
    assert text_of(root, f"{pag}/n:xPag") == (["voucher"] if tpag == "99" else [])


def test_transport_is_by_the_issuer_with_one_box_of_the_goods_weight():
    root = parse(sample_builder().build(sample_request(weight_g=350)).xml)

    assert text_of(root, "//n:transp/n:modFrete") == ["0"]
    assert text_of(root, "//n:transp/n:vol/n:qVol") == ["1"]
    assert text_of(root, "//n:transp/n:vol/n:pesoL") == ["1.050"]  # 3 units of 350 g
    assert text_of(root, "//n:transp/n:vol/n:pesoB") == ["1.050"]


def test_technical_contact_and_approximate_taxes_are_declared():
    root = parse(sample_builder().build(sample_request()).xml)

    assert text_of(root, "//n:infRespTec/n:CNPJ") == [ISSUER_CNPJ]
    assert text_of(root, "//n:infRespTec/n:email") == ["fiscal@retaguarda.dev"]
    # 31.45% of 79.80 and of 24.50
    assert text_of(root, "//n:det/n:imposto/n:vTotTrib") == ["25.10", "7.71"]
    assert text_of(root, "//n:ICMSTot/n:vTotTrib") == ["32.81"]
    assert "Val Aprox Tributos R$ 32.81" in text_of(root, "//n:infCpl")[0]
