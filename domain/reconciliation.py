"""Reconciliation contracts: what a nightly run is asked, what it answers, and the
classes every line ends in. The matching itself is set-based (integrations/finance)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from domain.attention import StepFailure
from domain.money import Money
from domain.orders import Frozen


class ReconKind(StrEnum):
    MARKETPLACE = "marketplace"  # the payment provider's release report vs receivables
    BANK = "bank"  # the bank statement (OFX) vs payouts, anticipations and payables


class LineClass(StrEnum):
    """Where each line of a marketplace reconciliation ends."""

    MATCHED = "matched"
    FEE_DIVERGENCE = "fee_divergence"
    AMOUNT_DIVERGENCE = "amount_divergence"
    MISSING_PAYOUT = "missing_payout"
    UNEXPECTED_PAYOUT = "unexpected_payout"
    CHARGEBACK = "chargeback"
    ANTICIPATED = "anticipated"


class BankClass(StrEnum):
    """Where each line of a bank reconciliation ends."""

    MATCHED = "matched"  # a statement line explained by payouts, anticipations or payables
    UNMATCHED_LINE = "unmatched_line"  # on the statement, nothing we expected explains it
    UNMATCHED_EXPECTED = "unmatched_expected"  # we expected it, the statement lacks it


# What needs a person: alerts are raised for these.
NEEDS_PERSON = frozenset(
    {
        LineClass.FEE_DIVERGENCE,
        LineClass.AMOUNT_DIVERGENCE,
        LineClass.MISSING_PAYOUT,
        LineClass.UNEXPECTED_PAYOUT,
        LineClass.CHARGEBACK,
        BankClass.UNMATCHED_LINE,
        BankClass.UNMATCHED_EXPECTED,
    }
)


def reconciliation_workflow_id(kind: ReconKind, day: date) -> str:
    """One workflow per kind and day: asking twice for a night joins the run."""
    return f"reconcile:{kind.value}:{day.isoformat()}"


def night_of_workflow(workflow_id: str) -> tuple[ReconKind, date] | None:
    """The kind and day `reconciliation_workflow_id` made `workflow_id` from; None for
    an id it did not make."""
    prefix, kind, day = (workflow_id.split(":") + ["", ""])[:3]
    if prefix != "reconcile" or kind not in {k.value for k in ReconKind}:
        return None
    try:
        return ReconKind(kind), date.fromisoformat(day)
    except ValueError:
        return None


def night_to_reconcile(today: date) -> date:
    """A nightly run closes the day before: its report is complete by then."""
    return today - timedelta(days=1)


class ReportSource(StrEnum):
    """Where a channel's settlement report comes from."""

    API = "api"  # the payment provider's API (Mercado Pago's release report)
    PORTAL = "portal"  # the channel's seller centre, a website with no API (the rpa bot)


# The channels whose seller centre the `rpa` bot knows (integrations/portals/seller_portal).
PORTAL_CHANNELS = frozenset({"marketplace"})


def release_line_channel(external_reference: str, order_id: str) -> str | None:
    """The channel a release-report line belongs to, by the same rule as its key
    (`EXTERNAL_REFERENCE` = `<channel>:<order id>`, else the marketplace's `ORDER_ID`);
    None when the line names neither (it follows the provider's API report)."""
    reference = external_reference.strip()
    if reference:
        channel, colon, _ = reference.partition(":")
        return channel if colon and channel else None
    return "marketplace" if order_id.strip() else None


class SettlementDownload(Frozen):
    """Ask the `rpa` bot for a channel's settlement report of a day, from its portal."""

    day: date
    channel: str = Field(min_length=1, max_length=40)


class PortalReport(Frozen):
    """A report the bot downloaded, by reference: the file stays on disk, never in a
    history. `path` is relative to the documents directory both workers share."""

    channel: str
    day: date
    path: str = Field(max_length=500)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    lines: int = Field(ge=0, description="lines after the header")
    size: int = Field(ge=0, description="bytes")


class ReconcileRequest(Frozen):
    kind: ReconKind
    day: date | None = Field(default=None, description="None: the night before (schedules)")
    timezone: str = Field(default="UTC", description="where the books' days begin and end")
    finance_queue: str = "finance"
    tolerance: Money = Field(default=Decimal("0.00"), ge=0, description="amounts within match")
    date_tolerance_days: int = Field(default=2, ge=0, le=31, description="bank dates within")
    portal_channels: list[str] = Field(
        default_factory=list, description="channels whose report the seller portal gives"
    )
    rpa_queue: str = "rpa"
    portal_reports: list[PortalReport] = Field(
        default_factory=list, description="filled by the workflow: what the bot downloaded"
    )


class AccrueRequest(Frozen):
    day: date  # the night being closed (accrual itself covers every changed order)


class AccrualResult(Frozen):
    created: int = 0
    updated: int = 0


class ReconcileResult(Frozen):
    kind: ReconKind
    day: date
    lines: int
    classified: dict[str, int]
    alerts: int = 0
    source: str = ""  # where the report or statement came from (its file name)


class NightWaiting(Frozen):
    """What a night's workflow answers its `state` query: the step it waits at for a
    person, and why (none while it runs), and whether that step may be skipped."""

    failure: StepFailure | None = None
    can_skip: bool = False
