"""The KPIs the operation is run by: what they mean and the shape they are reported in.

- **Perfect order**: an order closed in the window (delivered, or cancelled after it was
  paid) that was delivered on time (within the promise after payment), with no check
  mismatch, not cancelled or returned after payment. The rate is perfect / closed.
- **Phases**: minutes from one status to the next (payment: received to paid, ... ,
  delivery: shipped to delivered), p50 and p90 (nearest rank) of the orders whose phase
  ended in the window.
- **Per day**: orders picked and dispatched (shipped) per local day (America/Sao_Paulo).
- **Per operator and shift**: warehouse steps done and check mistakes caught.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

# (phase, status it starts at, status it ends at): the read model's KPI columns t_<status>
PHASES = (
    ("payment", "received", "paid"),
    ("invoicing", "paid", "invoiced"),
    ("picking", "invoiced", "picked"),
    ("packing", "picked", "packed"),
    ("checking", "packed", "checked"),
    ("dispatch", "checked", "shipped"),
    ("delivery", "shipped", "delivered"),
)
LOCAL_OFFSET_S = -3 * 3600  # America/Sao_Paulo: UTC-3 all year since 2019 (no DST)
DEFAULT_PROMISE_S = 7 * 24 * 3600  # delivered within 7 days of payment counts as on time


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)


class PhaseFigures(Report):
    p50_min: float | None
    p90_min: float | None
    orders: int


class PeopleFigures(Report):
    picked: int = 0
    packed: int = 0
    checked: int = 0
    mistakes_caught: int = 0


class KpiReport(Report):
    since: datetime
    until: datetime
    channel: str | None
    perfect_order_rate: float | None  # None: no order closed in the window
    orders_closed: int
    orders_perfect: int
    late: int
    with_check_mismatch: int
    cancelled_after_payment: int
    check_mistakes_caught: int
    phases: dict[str, PhaseFigures]
    picked_per_day: dict[str, int]
    dispatched_per_day: dict[str, int]
    by_operator: dict[str, PeopleFigures]
    by_shift: dict[str, PeopleFigures]
    on_time_within_h: float
