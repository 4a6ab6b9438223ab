"""CPF and phone numbers as Brazilian channels write them, normalised to digits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.formats import normalise_cpf, normalise_phone

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "written",
    ["(11) 98765-4321", "+55 11 98765-4321", "+55 (11) 98765-4321", "11 98765 4321",
     "11987654321", "5511987654321", "011 98765-4321", "  (11)98765-4321 "],
)  # fmt: skip
def test_a_mobile_written_any_usual_way_becomes_its_eleven_digits(written: str) -> None:
    assert normalise_phone(written) == "11987654321"


def test_a_landline_keeps_its_ten_digits_and_an_empty_phone_stays_empty() -> None:
    assert normalise_phone("(21) 3456-7890") == "2134567890"
    assert normalise_phone("") == ""


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("+1 415 555 0100", "not a Brazilian phone number (+55)"),
        ("98765-4321", "area code (DDD)"),
        ("ramal 12", "not a phone number"),
        ("9" * 40, "not a phone number"),
    ],
)
def test_what_is_not_a_brazilian_phone_is_refused_saying_why(written: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        normalise_phone(written)


BASES = st.lists(st.integers(0, 9), min_size=9, max_size=9).filter(lambda b: len(set(b)) > 1)


@given(BASES, st.sampled_from(["mask", "spaces", "bare"]))
def test_every_valid_cpf_is_accepted_masked_spaced_or_bare(base: list[int], style: str) -> None:
    digits = with_check_digits(base)
    written = {
        "mask": f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}",
        "spaces": f"{digits[:3]} {digits[3:6]} {digits[6:9]} {digits[9:]}",
        "bare": digits,
    }[style]
    assert normalise_cpf(written) == digits


def with_check_digits(base: list[int]) -> str:
    """The CPF of 9 base digits: its two check digits by the published rule (mod 11)."""
    digits = list(base)
    for weight in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight, 1, -1), strict=False))
        digits.append(0 if total % 11 < 2 else 11 - total % 11)
    return "".join(map(str, digits))


def test_a_cpf_with_a_wrong_check_digit_is_refused_saying_so() -> None:
    with pytest.raises(ValueError, match="check digits do not match"):
        normalise_cpf("529.982.247-26")
    with pytest.raises(ValueError, match="it has 10 digits, a CPF has 11"):
        normalise_cpf("529.982.247-2")
    with pytest.raises(ValueError, match="all its digits are the same"):
        normalise_cpf("111.111.111-11")
