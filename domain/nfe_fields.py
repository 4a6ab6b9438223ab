"""What an NF-e says besides its taxes (pure): the payment's official codes, the card
brand, the product's GTIN, the marketplace intermediary and the technical contact."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from validate_docbr import CNPJ

from domain.orders import Frozen

NO_GTIN = "SEM GTIN"

# tPag (MOC 4.00, NT 2020.006): the means of payment.
CASH, CREDIT_CARD, DEBIT_CARD, BOLETO, PIX, OTHER = "01", "03", "04", "15", "17", "99"
# tBand: the card brand (Portal Nacional's table of card operators).
CARD_BRANDS = {
    "visa": "01",
    "master": "02",
    "mastercard": "02",
    "amex": "03",
    "sorocred": "04",
    "diners": "05",
    "elo": "06",
    "hipercard": "07",
    "aura": "08",
    "cabal": "09",
}
OTHER_BRAND = "99"
_METHODS = {
    "cash": CASH,
    "dinheiro": CASH,
    "credit_card": CREDIT_CARD,
    "card": CREDIT_CARD,
    "debit_card": DEBIT_CARD,
    "boleto": BOLETO,
    "bolbradesco": BOLETO,
    "pix": PIX,
}
# Debit cards as Mercado Pago names them (payment_method_id): debvisa, debmaster, debelo.
_DEBIT_PREFIX = "deb"
# card group (YA04) only for these tPag; 01 cash, 15 boleto and 99 carry none here.
CARD_GROUP = frozenset({CREDIT_CARD, DEBIT_CARD, PIX})


class PaymentMeans(Frozen):
    code: str  # tPag
    brand: str | None = None  # tBand, for cards when known
    description: str | None = None  # xPag, for 99

    @property
    def card_group(self) -> bool:
        return self.code in CARD_GROUP


def payment_means(method: str) -> PaymentMeans:
    """tPag and tBand from the order's payment method: a kind ("pix", "credit_card",
    "boleto") or, as Mercado Pago's payment_method_id does, a card brand ("visa",
    "master", "debelo"), which is a card payment of that brand."""
    name = method.strip().lower()
    if name in _METHODS:
        return PaymentMeans(code=_METHODS[name])
    if name.startswith(_DEBIT_PREFIX) and name[len(_DEBIT_PREFIX) :] in CARD_BRANDS:
        return PaymentMeans(code=DEBIT_CARD, brand=CARD_BRANDS[name[len(_DEBIT_PREFIX) :]])
    if name in CARD_BRANDS:
        return PaymentMeans(code=CREDIT_CARD, brand=CARD_BRANDS[name])
    return PaymentMeans(code=OTHER, description=name or "outros")


def valid_gtin(code: str) -> bool:
    """A GTIN-8, 12, 13 or 14 with a right check digit (GS1: weights 3 and 1 from the
    right, excluding the check digit)."""
    if not re.fullmatch(r"\d{8}|\d{12,14}", code):
        return False
    body, check = code[:-1], int(code[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def nfe_gtin(code: str) -> str:
    """cEAN / cEANTrib: the product's GTIN when it is a valid one, else SEM GTIN."""
    code = code.strip()
    return code if valid_gtin(code) else NO_GTIN


def _valid_cnpj(value: str) -> str:
    if not CNPJ().validate(value):
        raise ValueError(f"{value} is not a valid CNPJ (14 digits, check digits)")
    return value


class Intermediary(Frozen):
    """The platform a channel sells through (infIntermed, NT 2020.006)."""

    cnpj: str = Field(pattern=r"^\d{14}$", description="the marketplace's CNPJ")
    seller_id: str = Field(
        min_length=2, max_length=60, description="idCadIntTran: our id at the platform"
    )

    _cnpj = field_validator("cnpj")(_valid_cnpj)


class TechnicalContact(Frozen):
    """infRespTec: who answers for the software that issues the NF-e."""

    cnpj: str = Field(pattern=r"^\d{14}$")
    contact: str = Field(min_length=2, max_length=60)
    email: str = Field(min_length=6, max_length=60, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = Field(pattern=r"^\d{6,14}$")

    _cnpj = field_validator("cnpj")(_valid_cnpj)


BRAND_NAMES = {
    "01": "Visa",
    "02": "Mastercard",
    "03": "American Express",
    "04": "Sorocred",
    "05": "Diners Club",
    "06": "Elo",
    "07": "Hipercard",
    "08": "Aura",
    "09": "Cabal",
}
KIND_NAMES = {
    CASH: "cash",
    CREDIT_CARD: "credit card",
    DEBIT_CARD: "debit card",
    BOLETO: "boleto",
    PIX: "Pix",
    OTHER: "other",
}


def payment_kind_and_brand(method: str) -> tuple[str, str]:
    """What a person calls an order's payment method: ("credit card", "Visa"),
    ("Pix", ""), from the same reading as the NF-e's tPag and tBand."""
    means = payment_means(method)
    return KIND_NAMES[means.code], BRAND_NAMES.get(means.brand or "", "")
