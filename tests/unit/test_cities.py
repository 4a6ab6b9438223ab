"""IBGE municipality codes: the check digit, the state a code belongs to, and the code
of a city named the way people write it."""

import unicodedata
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.cities import (
    CHECK_DIGIT_EXCEPTIONS,
    CUF_BY_UF,
    CityUnresolved,
    check_digit,
    city_code_belongs_to,
    find_city,
    has_valid_check_digit,
    municipalities,
    municipality,
    resolve_city_code,
)
from domain.orders import Address
from retaguarda.demo.world import PLACES

pytestmark = pytest.mark.unit

CITIES = municipalities()
cities = st.sampled_from(CITIES)
ufs = st.sampled_from(sorted(CUF_BY_UF))
first_six = st.text(alphabet="0123456789", min_size=6, max_size=6)


def test_the_table_has_every_municipality_of_every_state() -> None:
    per_state = Counter(c.uf for c in CITIES)

    assert len(CITIES) == 5570  # IBGE, October 2022
    assert len({c.code for c in CITIES}) == len(CITIES)
    assert set(per_state) == set(CUF_BY_UF)
    assert (per_state["MG"], per_state["SP"], per_state["RR"], per_state["DF"]) == (853, 645, 15, 1)


def test_every_code_of_the_table_is_of_its_state_and_only_the_known_nine_break_the_digit():
    wrong_digit = {c.code for c in CITIES if check_digit(c.code[:6]) != int(c.code[6])}

    assert wrong_digit == CHECK_DIGIT_EXCEPTIONS
    assert all(city_code_belongs_to(c.code, c.uf) for c in CITIES)


@pytest.mark.parametrize(
    ("code", "uf", "name"),
    [
        ("3550308", "SP", "São Paulo"),
        ("3106200", "MG", "Belo Horizonte"),
        ("3304557", "RJ", "Rio de Janeiro"),
        ("4106902", "PR", "Curitiba"),
        ("2927408", "BA", "Salvador"),
        ("4314902", "RS", "Porto Alegre"),
        ("2611606", "PE", "Recife"),
        ("5208707", "GO", "Goiânia"),
        ("5300108", "DF", "Brasília"),
    ],
)
def test_capitals_have_their_ibge_codes(code: str, uf: str, name: str) -> None:
    found = municipality(code)

    assert found is not None
    assert (found.uf, found.name) == (uf, name)


@given(first_six)
def test_a_code_with_its_check_digit_is_valid(six: str) -> None:
    assert has_valid_check_digit(six + str(check_digit(six)))


@given(first_six, st.integers(min_value=0, max_value=6), st.integers(min_value=1, max_value=9))
def test_changing_any_one_digit_breaks_the_check_digit(six: str, at: int, shift: int) -> None:
    code = six + str(check_digit(six))
    changed = code[:at] + str((int(code[at]) + shift) % 10) + code[at + 1 :]

    assert changed in CHECK_DIGIT_EXCEPTIONS or not has_valid_check_digit(changed)


@given(cities, ufs)
def test_a_code_belongs_to_its_own_state_only(city, uf) -> None:
    assert city_code_belongs_to(city.code, uf) == (uf == city.uf)


@pytest.mark.parametrize("code", ["", "355030", "35503080", "355030a", "3550309", "٣٥٥٠٣٠٨"])
def test_malformed_codes_belong_to_no_state(code: str) -> None:
    assert not city_code_belongs_to(code, "SP")


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


spellings = st.sampled_from(
    [
        str.upper,
        str.lower,
        _strip_accents,
        lambda n: _strip_accents(n).upper(),
        lambda n: f"  {n.replace(' ', '  ')} ",
        lambda n: n.replace("-", " ").replace("'", " "),
        lambda n: unicodedata.normalize("NFD", n),  # accents as combining characters
    ]
)


@given(cities, spellings)
def test_a_city_is_found_however_its_name_is_written(city, spell) -> None:
    assert find_city(city.uf, spell(city.name)) == city


@pytest.mark.parametrize("name", ["Sao Paulo", "SÃO PAULO", "são paulo", "Sao-Paulo", "SaoPaulo"])
def test_sao_paulo_in_the_ways_channels_write_it(name: str) -> None:
    assert resolve_city_code("SP", name) == "3550308"


def test_the_demo_customers_live_in_several_states_and_their_cities_resolve() -> None:
    codes = {uf: resolve_city_code(uf, city) for _, _, city, uf, _ in PLACES}

    assert len(codes) >= 8
    assert all(city_code_belongs_to(code, uf) for uf, code in codes.items())


def test_an_unknown_city_is_refused_with_what_to_correct() -> None:
    with pytest.raises(CityUnresolved, match="city 'Xyz' not found in state MG") as raised:
        resolve_city_code("MG", "Xyz")

    assert (raised.value.field, raised.value.code) == ("city", "city_not_found")


def test_a_city_of_another_state_is_not_found_there() -> None:
    with pytest.raises(CityUnresolved, match="not found in state SP"):
        resolve_city_code("SP", "Belo Horizonte")


def test_a_given_code_of_another_state_is_refused_naming_its_city() -> None:
    with pytest.raises(
        CityUnresolved, match="3550308 is São Paulo, SP, not a city of MG"
    ) as raised:
        resolve_city_code("MG", "Belo Horizonte", "3550308")

    assert (raised.value.field, raised.value.code) == ("city_code", "city_code_of_another_state")


def test_a_given_code_with_a_wrong_check_digit_is_refused() -> None:
    with pytest.raises(CityUnresolved, match="not an IBGE municipality code") as raised:
        resolve_city_code("MG", "Belo Horizonte", "3106201")

    assert raised.value.code == "city_code_invalid"


def test_a_given_code_newer_than_the_table_is_kept_when_its_state_and_digit_are_right() -> None:
    six = "510183"  # an order number the October 2022 table does not use in MT
    code = six + str(check_digit(six))
    assert municipality(code) is None

    assert resolve_city_code("MT", "Boa Esperança do Norte", code) == code


def _address(**fields: str) -> Address:
    where = {
        "street": "Rua da Bahia",
        "number": "100",
        "district": "Lourdes",
        "city": "Belo Horizonte",
        "state": "MG",
        "postal_code": "30160011",
    }
    return Address.model_validate({**where, **fields})


def test_an_address_without_a_code_gets_its_own_citys_code_not_sao_paulos() -> None:
    assert _address().city_code == "3106200"
    assert _address(city="GOIANIA", state="GO").city_code == "5208707"


def test_an_address_whose_city_is_not_of_its_state_is_refused() -> None:
    with pytest.raises(ValueError, match="city 'Xyz' not found in state MG"):
        _address(city="Xyz")


def test_an_address_recorded_with_sao_paulos_code_for_another_city_still_decodes() -> None:
    """Orders recorded before codes were looked up carry São Paulo's code for any city;
    their workflow histories must still decode (SEFAZ's 275 is what refuses them)."""
    recorded = _address(city_code="3550308")

    assert recorded.city_code == "3550308"
    assert Address.model_validate_json(recorded.model_dump_json()) == recorded
