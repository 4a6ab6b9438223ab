"""Correcting the customer's data of a stuck order: the delivery address or the CPF that
SEFAZ or the carrier refused, typed by ops, checked here, and handed to the workflow with
the retry (`OpsDecision.correction`), which uses it for every step from then on.

Pure rules: which failures a correction can fix, what a typed address or CPF must be,
and the order with the correction applied."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from pydantic import Field, model_validator

from domain.cities import CUF_BY_UF, CityUnresolved, resolve_city_code
from domain.errors import DomainError
from domain.formats import normalise_cpf
from domain.orders import Address, Frozen, Order


class CorrectionKind(StrEnum):
    ADDRESS = "address"
    CPF = "cpf"


# SEFAZ's rejections of the recipient's data: 237 the CPF, 274/275 the recipient's
# municipality code (its check digit, or a code of another state). 272/273 are the same
# checks on the issuer's address: the seller's own settings, not the customer's.
SEFAZ_FIXES = {
    "sefaz_237": CorrectionKind.CPF,
    "sefaz_274": CorrectionKind.ADDRESS,
    "sefaz_275": CorrectionKind.ADDRESS,
}
BOOKING_STEPS = frozenset({"book_shipment", "book_portal_pickup"})
CPF_WORDS = re.compile(r"\b(cpf|document|documento)\b", re.IGNORECASE)
ADDRESS_WORDS = re.compile(
    r"\b(cep|postal|zip|endere[cç]o|address|trecho|destino|destination)\b", re.IGNORECASE
)
ADDRESS_FIELDS = ("postal_code", "street", "number", "complement", "district", "city", "state")


class CustomerCorrection(Frozen):
    """What ops corrected: the whole delivery address, the CPF, or both."""

    address: Address | None = None
    cpf: str | None = Field(default=None, description="11 digits, check digits verified")

    @model_validator(mode="after")
    def _something(self) -> CustomerCorrection:
        if self.address is None and self.cpf is None:
            raise ValueError("a correction carries the address, the CPF or both")
        if self.cpf is not None:
            normalise_cpf(self.cpf)  # the message says what is wrong
        return self


class InvalidCorrection(DomainError):
    """A typed correction that cannot be used; `problems` maps each field to why."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()), code="invalid")


def correction_for(step: str, error_type: str, message: str = "") -> CorrectionKind | None:
    """The correction that can unblock this failure, if the customer's data is the cause."""
    if step == "emit_invoice":
        return SEFAZ_FIXES.get(error_type)
    if step in BOOKING_STEPS:
        if error_type == "no_freight_service" or ADDRESS_WORDS.search(message):
            return CorrectionKind.ADDRESS
        if CPF_WORDS.search(message):
            return CorrectionKind.CPF
    return None


def typed_address(fields: Mapping[str, str]) -> Address:
    """An address typed in the console's form, checked field by field: CEP of 8 digits
    (a hyphen or dot allowed), a Brazilian state, a city of that state (its IBGE code is
    looked up, never typed), and street, number and district present."""
    value = {k: " ".join(str(fields.get(k, "")).split()) for k in ADDRESS_FIELDS}
    problems: dict[str, str] = {}
    cep = re.sub(r"[.\-\s]", "", value["postal_code"])
    if not re.fullmatch(r"\d{8}", cep):
        problems["postal_code"] = "a CEP has 8 digits, e.g. 13010-000"
    state = value["state"].upper()
    if state not in CUF_BY_UF:
        problems["state"] = f"{value['state'] or '(empty)'!r} is not a Brazilian state (UF)"
    for name, what in (
        ("street", "street"),
        ("number", "number (or S/N)"),
        ("district", "district"),
    ):
        if not value[name]:
            problems[name] = f"type the {what}"
        elif len(value[name]) > 60:
            problems[name] = "60 characters at most"
    if len(value["complement"]) > 60:
        problems["complement"] = "60 characters at most"
    code = ""
    if not value["city"]:
        problems["city"] = "type the city"
    elif "state" not in problems:
        try:
            code = resolve_city_code(state, value["city"])
        except CityUnresolved as exc:
            problems[exc.field] = exc.message
    if problems:
        raise InvalidCorrection(problems)
    return Address(
        street=value["street"], number=value["number"], complement=value["complement"],
        district=value["district"], city=value["city"], state=state, postal_code=cep,
        city_code=code,
    )  # fmt: skip


def typed_cpf(text: str) -> str:
    """A CPF typed with or without its mask, check digits verified (validate-docbr)."""
    try:
        return normalise_cpf(text.strip())
    except ValueError as exc:
        raise InvalidCorrection({"cpf": str(exc)}) from None


def apply_correction(order: Order, correction: CustomerCorrection) -> Order:
    """The order with the corrected address and/or CPF; everything else as it was."""
    customer = order.customer
    update: dict[str, object] = {}
    if correction.address is not None:
        update["address"] = correction.address
    if correction.cpf is not None:
        update["cpf"] = normalise_cpf(correction.cpf)
    return order.model_copy(update={"customer": customer.model_copy(update=update)})
