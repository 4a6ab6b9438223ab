"""Tax rules as data: CFOP, ICMS by regime and origin, DIFAL, totals, in whole cents."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import cents
from domain.nfe_fields import nfe_gtin, payment_means, valid_gtin
from domain.orders import UFS
from domain.taxes import (
    NcmRule,
    Operation,
    TaxableLine,
    TaxRules,
    apportion,
    cfop,
    line_taxes,
    totals,
)

pytestmark = pytest.mark.unit

RULES = TaxRules()
ZERO = Decimal(0)
STATES = sorted(UFS)
amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2)
lines = st.builds(
    TaxableLine,
    ncm=st.sampled_from(["69120000", "85183000", "49019900", "61091000"]),
    origin=st.sampled_from(list("012345678")),
    value=amounts,
    freight=st.decimals(min_value=Decimal("0"), max_value=Decimal("999.99"), places=2),
)
operations = st.builds(
    Operation,
    crt=st.sampled_from(["1", "2", "3", "4"]),
    issuer_state=st.sampled_from(STATES),
    destination_state=st.sampled_from(STATES),
)


def regime_normal(origin: str = "SP", destination: str = "SP") -> Operation:
    return Operation(crt="3", issuer_state=origin, destination_state=destination)


def mug(value: str = "100.00", freight: str = "0", origin: str = "0") -> TaxableLine:
    return TaxableLine(
        ncm="69120000", origin=origin, value=Decimal(value), freight=Decimal(freight)
    )


@pytest.mark.parametrize(
    ("origin", "destination", "contributor", "expected"),
    [
        ("SP", "SP", False, "5102"),
        ("SP", "BA", False, "6108"),
        ("SP", "BA", True, "6102"),
    ],
)
def test_cfop_follows_the_operation(origin, destination, contributor, expected):
    operation = Operation(
        crt="3", issuer_state=origin, destination_state=destination, contributor=contributor
    )

    assert cfop(operation) == expected


@pytest.mark.parametrize(
    ("origin_uf", "destination_uf", "origin", "rate"),
    [
        ("SP", "BA", "0", "7"),  # South/Southeast to the Northeast
        ("SP", "ES", "0", "7"),  # ES counts with the N/NE/CO
        ("SP", "RJ", "0", "12"),
        ("BA", "SP", "0", "12"),
        ("ES", "BA", "0", "12"),
        ("SP", "BA", "1", "4"),  # imported goods: 4% whatever the route
        ("BA", "SP", "8", "4"),
        ("SP", "BA", "6", "7"),  # imported without a national similar (CAMEX list): not 4%
    ],
)
def test_interstate_rate_by_route_and_origin(origin_uf, destination_uf, origin, rate):
    assert RULES.interstate(origin_uf, destination_uf, origin) == Decimal(rate)


def test_same_state_sale_is_taxed_at_the_internal_rate_with_the_state_fcp():
    taxed = line_taxes(RULES, regime_normal("RJ", "RJ"), mug("100.00", "10.00"))

    assert (taxed.cst, taxed.base, taxed.icms_rate, taxed.icms) == (
        "00",
        Decimal("110.00"),
        Decimal("20"),
        Decimal("22.00"),
    )
    assert (taxed.fcp_rate, taxed.fcp, taxed.difal) == (Decimal("2"), Decimal("2.20"), None)


def test_interstate_sale_to_a_consumer_splits_the_difal_all_to_the_destination():
    taxed = line_taxes(RULES, regime_normal("SP", "MG"), mug("100.00", "20.00"))

    assert (taxed.cfop, taxed.icms_rate, taxed.icms) == ("6108", Decimal("12"), Decimal("14.40"))
    difal = taxed.difal
    assert difal is not None
    assert difal.base == Decimal("120.00")
    assert (difal.destination_rate, difal.interstate_rate, difal.share) == (
        Decimal("18"),
        Decimal("12"),
        Decimal("100"),
    )
    assert difal.destination == Decimal("7.20")  # 120 x (18% - 12%)
    assert (difal.fcp_rate, difal.fcp, difal.origin) == (Decimal(2), Decimal("2.40"), ZERO)


def test_imported_goods_pay_the_difal_from_4_percent():
    taxed = line_taxes(RULES, regime_normal("SP", "BA"), mug("100.00", origin="1"))

    assert taxed.icms_rate == Decimal("4")
    assert taxed.difal is not None
    assert taxed.difal.destination == Decimal("16.50")  # 100 x (20.5% - 4%)


@pytest.mark.parametrize("crt", ["1", "4"])
def test_simples_nacional_uses_csosn_without_icms_or_difal_groups(crt):
    operation = Operation(crt=crt, issuer_state="SP", destination_state="BA")

    taxed = line_taxes(RULES, operation, mug("100.00"))

    assert (taxed.csosn, taxed.cst, taxed.icms, taxed.difal) == ("102", None, ZERO, None)
    assert (taxed.pis_cofins_cst, taxed.pis, taxed.cofins) == ("49", ZERO, ZERO)
    assert taxed.cfop == "6108"


def test_books_are_immune_from_icms_and_at_zero_pis_cofins_in_either_regime():
    book = TaxableLine(ncm="49019900", value=Decimal("69.90"))

    normal = line_taxes(RULES, regime_normal("SP", "BA"), book)
    simples = line_taxes(RULES, Operation(crt="1", issuer_state="SP", destination_state="BA"), book)

    assert (normal.cst, normal.icms, normal.difal) == ("41", ZERO, None)
    assert normal.pis_cofins_cst == "06"
    assert simples.csosn == "300"


def test_the_longest_ncm_prefix_wins_and_unknown_ncms_take_the_default():
    rules = TaxRules(ncm={"85": NcmRule(cst="40"), "851830": NcmRule(cst="41")})

    assert rules.rule_for("85183000").cst == "41"
    assert rules.rule_for("85171231").cst == "40"
    assert rules.rule_for("69120000") == NcmRule()


def test_rates_keyed_by_state_accept_lower_case_and_refuse_unknown_states():
    assert TaxRules(fcp_rates={"ba": Decimal("2")}).fcp_rate("BA") == Decimal("2")
    with pytest.raises(ValueError, match="not Brazilian states"):
        TaxRules(internal_rates={"XX": Decimal("18")})


@given(operation=operations, taxable=st.lists(lines, min_size=1, max_size=8))
def test_totals_are_the_sums_of_the_lines(operation, taxable):
    taxed = [line_taxes(RULES, operation, line) for line in taxable]

    total = totals(taxed)

    assert total.base == sum(t.base for t in taxed)
    assert total.icms == sum(t.icms for t in taxed)
    assert total.fcp == sum(t.fcp for t in taxed)
    assert total.pis == sum(t.pis for t in taxed)
    assert total.cofins == sum(t.cofins for t in taxed)
    assert total.approximate_tax == sum(t.approximate_tax for t in taxed)
    difals = [t.difal for t in taxed if t.difal]
    assert total.icms_destination == sum(d.destination for d in difals)
    assert total.fcp_destination == sum(d.fcp for d in difals)
    assert total.icms_origin == 0


@given(operation=operations, line=lines)
def test_every_value_is_whole_cents_and_the_difal_is_rounded_per_line(operation, line):
    taxed = line_taxes(RULES, operation, line)

    for value in (taxed.base, taxed.icms, taxed.fcp, taxed.pis, taxed.cofins):
        assert value == cents(value)
    if taxed.difal is not None:
        difal = taxed.difal
        assert difal.base == line.value + line.freight
        assert difal.destination == cents(
            difal.base * (difal.destination_rate - difal.interstate_rate) / 100
        )
        assert difal.fcp == cents(difal.base * difal.fcp_rate / 100)
        assert taxed.icms_rate in {Decimal(4), Decimal(7), Decimal(12)}


@given(operation=operations, line=lines)
def test_difal_only_on_interstate_taxed_sales_by_a_regime_normal_seller(operation, line):
    taxed = line_taxes(RULES, operation, line)

    due = operation.interstate and operation.crt in {"2", "3"} and taxed.cst == "00"
    assert (taxed.difal is not None) == due


@given(
    amount=st.decimals(min_value=Decimal("0"), max_value=Decimal("9999.99"), places=2),
    weights=st.lists(
        st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2),
        min_size=1,
        max_size=20,
    ),
)
def test_apportioned_freight_adds_up_exactly_in_whole_cents(amount, weights):
    parts = apportion(amount, weights)

    assert len(parts) == len(weights)
    assert all(part >= 0 and part == cents(part) for part in parts)
    assert sum(parts) == (amount if sum(weights) else 0)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("7891000315507", True),  # GTIN-13
        ("7891000315508", False),  # wrong check digit
        ("96385074", True),  # GTIN-8
        ("012345678905", True),  # GTIN-12 (UPC-A)
        ("17891000315504", True),  # GTIN-14
        ("789100031550", False),  # 12 digits, wrong check digit
        ("", False),
        ("ABC", False),
    ],
)
def test_gtin_check_digit(code, valid):
    assert valid_gtin(code) is valid
    assert nfe_gtin(code) == (code if valid else "SEM GTIN")


@pytest.mark.parametrize(
    ("method", "code", "brand"),
    [
        ("pix", "17", None),
        ("boleto", "15", None),
        ("credit_card", "03", None),
        ("debit_card", "04", None),
        ("visa", "03", "01"),
        ("master", "03", "02"),
        ("amex", "03", "03"),
        ("elo", "03", "06"),
        ("hipercard", "03", "07"),
        ("debelo", "04", "06"),
        ("cash", "01", None),
        ("voucher", "99", None),
    ],
)
def test_payment_method_gives_the_official_tpag_and_card_brand(method, code, brand):
    means = payment_means(method)

    assert (means.code, means.brand) == (code, brand)
    assert (means.description is not None) == (code == "99")
