"""What the demo world is made of, generated from a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

PRODUCTS: list[tuple[str, str, str, str, int, tuple[int, int, int]]] = [
    # sku, name, ncm, price, weight_g, (height, width, length) cm
    ("RTG-CAM-001", "Camiseta algodao basica", "61091000", "59.90", 200, (3, 25, 30)),
    ("RTG-CAN-002", "Caneca ceramica 350ml", "69120000", "39.90", 400, (10, 12, 12)),
    ("RTG-MOC-003", "Mochila urbana 20L", "42029200", "189.90", 800, (12, 30, 45)),
    ("RTG-GAR-004", "Garrafa termica 500ml", "96170010", "79.90", 350, (25, 8, 8)),
    ("RTG-FON-005", "Fone de ouvido bluetooth", "85183000", "149.90", 250, (6, 15, 18)),
    ("RTG-LIV-006", "Livro de receitas", "49019900", "69.90", 600, (4, 20, 27)),
    ("RTG-TEN-007", "Tenis corrida", "64041100", "299.90", 900, (13, 22, 33)),
    ("RTG-LUM-008", "Luminaria de mesa LED", "94052000", "129.90", 700, (15, 20, 40)),
    ("RTG-KIT-009", "Kit pinceis maquiagem", "96034000", "49.90", 150, (4, 10, 20)),
    ("RTG-BOL-010", "Bola de futebol", "95066200", "99.90", 450, (22, 22, 22)),
]

# sku -> (NF-e origin, GTIN): the headphones are imported (origin 2: bought from an
# importer here, 4% across states); products without a barcode go out as SEM GTIN.
FISCAL: dict[str, tuple[str, str]] = {
    "RTG-CAN-002": ("0", "7891000100011"),
    "RTG-GAR-004": ("0", "7891000100028"),
    "RTG-FON-005": ("2", "7891000100035"),
    "RTG-LIV-006": ("0", "7891000100059"),
    "RTG-LUM-008": ("1", "7891000100080"),
}


@dataclass(frozen=True, slots=True)
class DemoLot:
    lot: str
    expires_on: date | None
    bin: str
    quantity: int


def demo_lots(index: int, sku: str, quantity: int, today: date, run: str) -> list[DemoLot]:
    """How a SKU's demo stock arrives: in two lots, each in its own bin, the older one
    expiring first (picks take it first); the rest of each SKU's units keep. Bins go
    aisle by aisle, so the pick walk visits them in order."""
    older = quantity // 2 or quantity
    lots = [DemoLot(f"{run[:6]}A{index:02d}", today + timedelta(days=45 + 7 * index),
                    f"A-{index + 1}", older)]  # fmt: skip
    if quantity > older:
        lots.append(DemoLot(f"{run[:6]}B{index:02d}", today + timedelta(days=200 + 7 * index),
                            f"B-{index + 1}", quantity - older))  # fmt: skip
    return lots


PLACES: list[tuple[str, str, str, str, str]] = [
    # street, district, city, UF, CEP: cities of several states, written as people do (with
    # or without accents); each resolves to its IBGE code (tests/unit/test_cities.py)
    ("Rua das Flores", "Centro", "Campinas", "SP", "13010000"),
    ("Avenida Paulista", "Bela Vista", "Sao Paulo", "SP", "01310100"),
    ("Rua da Bahia", "Lourdes", "Belo Horizonte", "MG", "30160011"),
    ("Avenida Atlantica", "Copacabana", "Rio de Janeiro", "RJ", "22021001"),
    ("Rua XV de Novembro", "Centro", "Curitiba", "PR", "80020310"),
    ("Avenida Boa Viagem", "Boa Viagem", "Recife", "PE", "51011000"),
    ("Rua dos Andradas", "Centro Historico", "Porto Alegre", "RS", "90020008"),
    ("Avenida Sete de Setembro", "Centro", "Salvador", "BA", "40060001"),
    ("Avenida Goiás", "Setor Central", "Goiânia", "GO", "74005010"),
]
FIRST = ["Maria", "Joao", "Ana", "Pedro", "Julia", "Lucas", "Beatriz", "Rafael", "Camila"]
LAST = ["Souza", "Silva", "Oliveira", "Santos", "Pereira", "Costa", "Almeida", "Ferreira"]


def cpf(rng: random.Random) -> str:
    """A valid CPF: nine random digits and their two check digits."""
    digits = [rng.randint(0, 9) for _ in range(9)]
    if len(set(digits)) == 1:
        digits[0] = (digits[0] + 1) % 10
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(size + 1, 1, -1), strict=True))
        rest = (total * 10) % 11
        digits.append(0 if rest == 10 else rest)
    return "".join(map(str, digits))


@dataclass
class DemoOrder:
    channel: str  # store | marketplace
    external_id: str
    lines: list[tuple[str, int]]
    customer: dict[str, Any]
    place: tuple[str, str, str, str, str]
    shipping_cost: Decimal
    fate: str  # paid | unpaid | cancelled | cancelled_invoiced | returned | corrected
    pay_after_s: float = 1.0
    cancel_after_s: float = 3.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def workflow_id(self) -> str:
        return f"order:{self.channel}:{self.external_id}"

    def total(self) -> Decimal:
        prices = {p[0]: Decimal(p[3]) for p in PRODUCTS}
        return sum((prices[sku] * qty for sku, qty in self.lines), Decimal("0")) + (
            self.shipping_cost
        )


# What becomes of an order, by a roll in [0, 1): most are paid and delivered; some are
# never paid or cancelled early; after its NF-e, some are cancelled within the
# cancellation window (SEFAZ cancels the NF-e), some past it (a return NF-e undoes it),
# and some get a correction letter (CC-e) and are delivered.
FATES = (
    (0.80, "paid"),
    (0.86, "unpaid"),
    (0.90, "cancelled"),
    (0.94, "cancelled_invoiced"),
    (0.97, "returned"),
    (1.00, "corrected"),
)
AFTER_INVOICE = frozenset({"cancelled_invoiced", "returned", "corrected"})


def _fate(roll: float) -> str:
    return next(fate for limit, fate in FATES if roll < limit)


def make_orders(
    rng: random.Random, count: int, run: str, *, unpaid_allowed: bool = True
) -> list[DemoOrder]:
    orders = []
    for i in range(count):
        channel = "store" if rng.random() < 0.6 else "marketplace"
        skus = rng.sample([p[0] for p in PRODUCTS], k=rng.randint(1, 3))
        fate = _fate(rng.random())
        if fate == "unpaid" and (channel == "marketplace" or not unpaid_allowed):
            fate = "paid"  # marketplace orders arrive paid; or the window is too long
        first, last = rng.choice(FIRST), rng.choice(LAST)
        orders.append(
            DemoOrder(
                channel=channel,
                external_id=f"{run}{i:05d}" if channel == "marketplace" else f"{run}-{i:05d}",
                lines=[(sku, rng.randint(1, 2)) for sku in skus],
                customer={
                    "first": first,
                    "last": last,
                    "cpf": cpf(rng),
                    "email": f"{first}.{last}{i}@example.com".lower(),
                },
                place=rng.choice(PLACES),
                shipping_cost=Decimal(rng.choice(["0.00", "12.90", "19.90"])),
                fate=fate,
                pay_after_s=rng.uniform(0.5, 3.0),
                cancel_after_s=rng.uniform(2.0, 6.0),
                # half the marketplace's orders ship on its own logistics (Mercado Envios)
                extra={"mode": "me2"} if channel == "marketplace" and rng.random() < 0.5 else {},
            )
        )
    if count >= 30:  # a demo that long shows every fate of an NF-e at least once
        for fate in sorted(AFTER_INVOICE):
            paid = [o for o in orders if o.fate == "paid"]
            if paid and not any(o.fate == fate for o in orders):
                rng.choice(paid).fate = fate
    return orders


def store_payload(order: DemoOrder) -> dict[str, Any]:
    street, district, city, uf, cep = order.place
    prices = {p[0]: p[3] for p in PRODUCTS}
    return {
        "id": order.external_id,
        "customer": {
            "name": f"{order.customer['first']} {order.customer['last']}",
            "cpf": order.customer["cpf"],
            "email": order.customer["email"],
        },
        "shipping_address": {
            "street": street, "number": "100", "neighborhood": district, "city": city,
            "state": uf, "zipcode": cep,
        },
        "items": [{"sku": s, "quantity": q, "price": prices[s]} for s, q in order.lines],
        "shipping_cost": str(order.shipping_cost),
        "payment": {"method": "pix", "status": "pending"},
    }  # fmt: skip


def marketplace_payload(order: DemoOrder) -> dict[str, Any]:
    street, district, city, uf, cep = order.place
    prices = {p[0]: p[3] for p in PRODUCTS}
    return {
        "id": order.external_id,
        "buyer": {
            "first_name": order.customer["first"], "last_name": order.customer["last"],
            "cpf": order.customer["cpf"], "email": order.customer["email"],
        },
        "items": [{"sku": s, "quantity": q, "unit_price": prices[s]} for s, q in order.lines],
        "shipping": {
            "street_name": street, "street_number": "100", "neighborhood": district,
            "city": city, "state": uf, "zip_code": cep, "cost": str(order.shipping_cost),
            "mode": order.extra.get("mode", "custom"),
        },
    }  # fmt: skip
