"""Brazilian municipalities: IBGE codes, their check digit, and the code of a city
named by a person.

An IBGE municipality code has 7 digits: the state's cUF (2), an order number (4) and a
check digit computed modulo 10 with weights 1, 2, 1, 2, 1, 2 (digits of each product
added). SEFAZ refuses a recipient's code with a wrong check digit (274) or of another
state (275), and the same for the issuer (272 / 273).

The table of municipalities (domain/data/municipios.csv, source in the README beside it)
is read once, on the first look-up.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from domain.errors import DomainError

# IBGE state codes (cUF): the first two digits of every municipality's code.
CUF_BY_UF = {
    "RO": "11", "AC": "12", "AM": "13", "RR": "14", "PA": "15", "AP": "16", "TO": "17",
    "MA": "21", "PI": "22", "CE": "23", "RN": "24", "PB": "25", "PE": "26", "AL": "27",
    "SE": "28", "BA": "29", "MG": "31", "ES": "32", "RJ": "33", "SP": "35", "PR": "41",
    "SC": "42", "RS": "43", "MS": "50", "MT": "51", "GO": "52", "DF": "53",
}  # fmt: skip

# Codes IBGE issued with a check digit the algorithm does not give; SEFAZ accepts them
# (NT 2008.004).
CHECK_DIGIT_EXCEPTIONS = frozenset(
    {
        "2201919",  # Bom Princípio do Piauí, PI
        "2201988",  # Brejo do Piauí, PI
        "2202251",  # Canavieira, PI
        "2611533",  # Quixaba, PE
        "3117836",  # Cônego Marinho, MG
        "3152131",  # Ponto Chique, MG
        "4305871",  # Coronel Barros, RS
        "5203939",  # Buriti de Goiás, GO
        "5203962",  # Buritinópolis, GO
    }
)
_WEIGHTS = (1, 2, 1, 2, 1, 2)
_CODE = re.compile(r"^[0-9]{7}$")
_NOT_LETTER_OR_DIGIT = re.compile(r"[^a-z0-9]")


def check_digit(first_six: str) -> int:
    """The IBGE check digit of a code's first six digits."""
    if len(first_six) != 6 or not first_six.isascii() or not first_six.isdigit():
        raise ValueError(f"{first_six!r} is not the six leading digits of an IBGE code")
    total = 0
    for weight, digit in zip(_WEIGHTS, first_six, strict=True):
        product = weight * int(digit)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def has_valid_check_digit(code: str) -> bool:
    """Seven ASCII digits whose last is the check digit of the others (or one of the
    codes IBGE issued with another)."""
    if not _CODE.match(code):
        return False
    return code in CHECK_DIGIT_EXCEPTIONS or check_digit(code[:6]) == int(code[6])


def city_code_belongs_to(code: str, uf: str) -> bool:
    """Whether `code` is a well-formed IBGE municipality code of state `uf`: its first
    two digits are the state's cUF and its check digit is right. The table is not
    consulted, so a municipality newer than it still passes."""
    cuf = CUF_BY_UF.get(uf)
    return cuf is not None and code[:2] == cuf and has_valid_check_digit(code)


def name_key(name: str) -> str:
    """A city name reduced to what people agree on: no accents, no case, and letters and
    digits only ("São Paulo", "SAO PAULO", "sao-paulo" -> "saopaulo"; "Olho d'Água" and
    "Olho D Agua" -> "olhodagua")."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _NOT_LETTER_OR_DIGIT.sub("", bare)


@dataclass(frozen=True)
class Municipality:
    code: str
    uf: str
    name: str


@dataclass(frozen=True)
class _Table:
    by_code: dict[str, Municipality]
    by_name: dict[tuple[str, str], Municipality]


@cache
def _table() -> _Table:
    text = (resources.files("domain") / "data" / "municipios.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    cities = [Municipality(r["code"], r["uf"], r["name"]) for r in rows]
    return _Table(
        by_code={c.code: c for c in cities},
        by_name={(c.uf, name_key(c.name)): c for c in cities},
    )


def municipalities() -> tuple[Municipality, ...]:
    """Every municipality of the table, by code."""
    return tuple(_table().by_code.values())


def municipality(code: str) -> Municipality | None:
    """The municipality with this IBGE code, if the table has it."""
    return _table().by_code.get(code)


def find_city(uf: str, name: str) -> Municipality | None:
    """The municipality of state `uf` called `name` (accents, case, spaces, hyphens and
    apostrophes ignored), if there is one."""
    key = name_key(name)
    return _table().by_name.get((uf, key)) if key else None


class CityUnresolved(DomainError):
    """An address whose city cannot be given an IBGE code: the name is not a municipality
    of its state (misspelt, a district, the wrong state), or the code sent with it is
    malformed or of another state. `field` is the address field to correct: "city",
    "city_code" or "state"."""

    def __init__(self, message: str, *, field: str, code: str) -> None:
        super().__init__(message, code=code)
        self.field = field


def resolve_city_code(uf: str, name: str, given: str | None = None) -> str:
    """The IBGE code of an address's city. A `given` code (the channel sent one) must be
    a well-formed code of `uf`; without one, the city is looked up by name. Raises
    CityUnresolved with a message saying what to correct: an address never silently
    gets another city's code."""
    if uf not in CUF_BY_UF:
        raise CityUnresolved(
            f"{uf!r} is not a Brazilian state (UF)", field="state", code="unknown_state"
        )
    if given:
        code = given.strip()
        if not has_valid_check_digit(code):
            raise CityUnresolved(
                f"{given!r} is not an IBGE municipality code (7 digits, the last a check "
                f"digit): correct the code of {name!r}, {uf}, or leave it out",
                field="city_code",
                code="city_code_invalid",
            )
        if not city_code_belongs_to(code, uf):
            known = municipality(code)
            where = f"{known.name}, {known.uf}" if known else f"of the state with cUF {code[:2]}"
            raise CityUnresolved(
                f"city code {code} is {where}, not a city of {uf}: correct the state or "
                f"the code of {name!r}",
                field="city_code",
                code="city_code_of_another_state",
            )
        return code
    found = find_city(uf, name)
    if found is None:
        raise CityUnresolved(
            f"city {name!r} not found in state {uf} (IBGE list of municipalities): correct "
            "the city name or the state of the address",
            field="city",
            code="city_not_found",
        )
    return found.code
