from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fiscal import (
    CUF_BY_UF,
    access_key,
    is_valid_access_key,
    mod11_check_digit,
    numeric_code,
)

pytestmark = pytest.mark.unit

ufs = st.sampled_from(sorted(CUF_BY_UF))
moments = st.datetimes(
    min_value=datetime(2006, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
cnpjs = st.text(alphabet="0123456789", min_size=14, max_size=14)
series = st.integers(min_value=0, max_value=999)
numbers = st.integers(min_value=1, max_value=999_999_999)
order_ids = st.text(min_size=1, max_size=40)


def make_key(uf: str, moment: datetime, cnpj: str, serie: int, number: int, order: str) -> str:
    return access_key(
        uf=uf,
        issued_at=moment,
        cnpj=cnpj,
        series=serie,
        number=number,
        cnf=numeric_code(order, number),
    )


@given(ufs, moments, cnpjs, series, numbers, order_ids)
def test_access_key_has_44_digits_and_a_valid_check_digit(uf, moment, cnpj, serie, number, order):
    key = make_key(uf, moment, cnpj, serie, number, order)

    assert len(key) == 44
    assert key.isdigit()
    assert is_valid_access_key(key)
    assert key[:2] == CUF_BY_UF[uf]
    assert key[2:6] == f"{moment:%y%m}"
    assert key[20:22] == "55"
    assert int(key[25:34]) == number


@given(ufs, moments, cnpjs, series, numbers, order_ids)
def test_same_input_gives_the_same_access_key(uf, moment, cnpj, serie, number, order):
    assert make_key(uf, moment, cnpj, serie, number, order) == make_key(
        uf, moment, cnpj, serie, number, order
    )


@given(ufs, moments, cnpjs, series, numbers, numbers, order_ids)
def test_access_key_changes_when_the_number_changes(uf, moment, cnpj, serie, a, b, order):
    if a == b:
        return
    assert make_key(uf, moment, cnpj, serie, a, order) != make_key(
        uf, moment, cnpj, serie, b, order
    )


@given(order_ids, numbers)
def test_numeric_code_has_8_digits_and_never_equals_the_number(order, number):
    code = numeric_code(order, number)

    assert len(code) == 8
    assert code.isdigit()
    assert int(code) != number % 100_000_000


@given(st.text(alphabet="0123456789", min_size=44, max_size=44), st.integers(0, 43))
def test_a_digit_off_by_one_breaks_the_check_digit(digits, position):
    key = digits[:43] + mod11_check_digit(digits[:43])
    digit = int(key[position])
    typo = digit + 1 if digit < 9 else digit - 1
    changed = key[:position] + str(typo) + key[position + 1 :]

    assert is_valid_access_key(key)
    assert not is_valid_access_key(changed)
