"""CPF and phone numbers as Brazilian channels send them, normalised to digits.

Channels write them for people: `529.982.247-25`, `(11) 98765-4321`,
`+55 11 98765-4321`, `011 98765-4321`. We keep digits only (CPF: 11; phone: area code
(DDD) and 8 or 9 digits) and refuse, with a reason a person can act on, what is not one.
"""

from __future__ import annotations

import re

from validate_docbr import CPF

NOT_DIGIT = re.compile(r"[^0-9]")  # ASCII only: "٣" or "²" are not digits here
MASK = re.compile(r"^\+?[0-9 ().\-/]*$")
RAW_MAX = 30  # longer than any masked form: refuse before looking closer


def normalise_cpf(value: str) -> str:
    """`529.982.247-25` -> `52998224725`; ValueError naming what is wrong."""
    if len(value) > RAW_MAX or not MASK.match(value):
        raise ValueError(
            f"{value[:RAW_MAX]!r} is not a CPF: expected 11 digits, e.g. 529.982.247-25"
        )
    digits = NOT_DIGIT.sub("", value)
    if len(digits) != 11:
        raise ValueError(f"{value!r} is not a CPF: it has {len(digits)} digits, a CPF has 11")
    if len(set(digits)) == 1:
        raise ValueError(f"{value!r} is not a valid CPF: all its digits are the same")
    if not CPF().validate(digits):
        raise ValueError(f"{value!r} is not a valid CPF: its check digits do not match (a typo?)")
    return digits


def normalise_phone(value: str) -> str:
    """`(11) 98765-4321`, `+55 11 98765-4321`, `011 98765-4321` -> `11987654321`;
    "" stays "". ValueError naming what is wrong."""
    text = value.strip()
    if not text:
        return ""
    example = "e.g. (11) 98765-4321 or +55 11 98765-4321"
    if len(text) > RAW_MAX or not MASK.match(text):
        raise ValueError(f"{text[:RAW_MAX]!r} is not a phone number: {example}")
    digits = NOT_DIGIT.sub("", text)
    if text.startswith("+"):
        if not digits.startswith("55"):
            raise ValueError(f"{text!r} is not a Brazilian phone number (+55): {example}")
        digits = digits[2:]
    elif len(digits) in (12, 13) and digits.startswith("55"):
        digits = digits[2:]
    if len(digits) in (11, 12) and digits.startswith("0"):
        digits = digits[1:]  # the long-distance prefix 0
    if len(digits) not in (10, 11) or digits[0] == "0":
        raise ValueError(
            f"{text!r} is not a Brazilian phone number: expected the area code (DDD) and "
            f"8 or 9 digits, {example}"
        )
    return digits


def mask_cpf(cpf: str | None) -> str:
    """A CPF for people who need only to recognise it: `529.***.***-25` (the first three
    and the check digits shown, as receipts print it); "" when there is none."""
    digits = NOT_DIGIT.sub("", cpf or "")
    if len(digits) != 11:
        return "***" if digits else ""
    return f"{digits[:3]}.***.***-{digits[9:]}"


def format_cpf(cpf: str | None) -> str:
    """`52998224725` -> `529.982.247-25`."""
    digits = NOT_DIGIT.sub("", cpf or "")
    if len(digits) != 11:
        return digits
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def format_cep(cep: str | None) -> str:
    """`13010000` -> `13010-000`."""
    digits = NOT_DIGIT.sub("", cep or "")
    return f"{digits[:5]}-{digits[5:]}" if len(digits) == 8 else digits
