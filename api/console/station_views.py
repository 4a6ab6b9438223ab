"""The warehouse station's screens (view data, rendered by api/console/views.render):
one task at a time, each step a full screen for a 390 px handheld and a scanner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import quote, urlencode

from api.console.views import Chrome
from db.catalogue import ProductView
from db.orders import OrderView
from db.warehouse import WarehouseTaskView
from domain.freight import parcel_for
from domain.lots import LotPick
from domain.station import Box, Difference, encode_counts, suggest_box, walk_order


def station_url(order_id: str, **query: str | list[str]) -> str:
    base = f"/console/station/{quote(order_id, safe=':')}"
    pairs = [(k, v) for k, vs in query.items() for v in ([vs] if isinstance(vs, str) else vs)]
    pairs = [(k, v) for k, v in pairs if v]
    return base + ("?" + urlencode(pairs) if pairs else "")


@dataclass(frozen=True, slots=True)
class Line:
    """One SKU of the task as the station shows it."""

    sku: str
    name: str
    bin: str
    gtin: str
    quantity: int
    done: int = 0
    lots: tuple[LotPick, ...] = ()  # where the units come from, first expiry first

    @property
    def complete(self) -> bool:
        return self.done >= self.quantity


def lines_of(
    task: WarehouseTaskView,
    products: dict[str, ProductView],
    done: dict[str, int],
    lots: Mapping[str, tuple[LotPick, ...]] | None = None,
) -> list[Line]:
    """The pick list in walking order: a SKU whose units come from a lot is walked to at
    its first lot's bin (first expiry first), else at the product's bin."""
    lots = lots or {}
    bins = {sku: products[sku].bin if sku in products else "" for sku in task.items}
    walk = {sku: next((p.bin for p in lots.get(sku, ()) if p.bin), bins[sku]) for sku in bins}
    return [
        Line(
            sku=sku,
            name=products[sku].name if sku in products else sku,
            bin=walk[sku],
            gtin=products[sku].gtin if sku in products else "",
            quantity=task.items[sku],
            done=done.get(sku, 0),
            lots=lots.get(sku, ()),
        )
        for sku in walk_order(walk)
    ]


@dataclass(frozen=True)
class StationHome:
    template: ClassVar[str] = "station/home.html"
    chrome: Chrome
    tasks: list[WarehouseTaskView]
    error: str = ""


@dataclass(frozen=True)
class TaskScreen:
    """What every step's screen knows: the task, its order and its products."""

    chrome: Chrome
    task: WarehouseTaskView
    order: OrderView | None
    products: dict[str, ProductView]
    counts: dict[str, int] = field(default_factory=dict)  # scans so far on this screen
    attempt: str = ""
    lots: dict[str, tuple[LotPick, ...]] = field(default_factory=dict)  # the pick's lots

    @property
    def order_id(self) -> str:
        return self.task.order_id

    @property
    def short_id(self) -> str:
        return self.order_id.removeprefix("order:")

    @property
    def lines(self) -> list[Line]:
        return lines_of(self.task, self.products, self.counts, self.lots)

    @property
    def got(self) -> list[str]:
        return encode_counts(self.counts)

    @property
    def units(self) -> int:
        return sum(self.task.items.values())

    @property
    def scanned_units(self) -> int:
        return sum(self.counts.values())

    @property
    def action(self) -> str:
        return f"/console/station/{quote(self.order_id, safe=':')}"

    @property
    def url(self) -> str:
        return station_url(self.order_id)


@dataclass(frozen=True)
class PickScreen(TaskScreen):
    template: ClassVar[str] = "station/pick.html"

    @property
    def complete(self) -> bool:
        return all(line.complete for line in self.lines)


@dataclass(frozen=True)
class PackScreen(TaskScreen):
    template: ClassVar[str] = "station/pack.html"

    @property
    def expected_weight_g(self) -> int:
        return sum(
            q * self.products[sku].weight_g
            for sku, q in self.task.items.items()
            if sku in self.products
        )

    @property
    def box(self) -> Box | None:
        rows = [
            (q, p.weight_g, p.height_cm, p.width_cm, p.length_cm)
            for sku, q in self.task.items.items()
            if (p := self.products.get(sku)) is not None
        ]
        if not rows:
            return None
        declared = self.order.total if self.order and self.order.total else 0
        return suggest_box(parcel_for(rows, declared))  # type: ignore[arg-type]


@dataclass(frozen=True)
class CheckScreen(TaskScreen):
    """Blind: what was scanned into the box, never what the order holds."""

    template: ClassVar[str] = "station/check.html"

    @property
    def scanned_lines(self) -> list[tuple[str, str, int]]:
        """(SKU, name, units scanned) of what is in the box so far."""
        return [
            (sku, self.products[sku].name if sku in self.products else sku, n)
            for sku, n in sorted(self.counts.items())
        ]


@dataclass(frozen=True)
class MismatchScreen(TaskScreen):
    """The check did not match: pick is reopened for what differs."""

    template: ClassVar[str] = "station/mismatch.html"
    differences: list[Difference] = field(default_factory=list)

    def name(self, sku: str) -> str:
        return self.products[sku].name if sku in self.products else sku

    def bin(self, sku: str) -> str:
        return self.products[sku].bin if sku in self.products else ""


@dataclass(frozen=True)
class PrintScreen(TaskScreen):
    template: ClassVar[str] = "station/print.html"
    danfe_url: str = ""
    label_url: str = ""
    cancelled: bool = False

    @property
    def waiting(self) -> bool:
        return not self.cancelled and not (self.danfe_url and self.label_url)
