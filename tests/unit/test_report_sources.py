"""A night's report from several sources: each line's channel by the key's own rule, each
channel's lines from its source only, the portal's file checked before it is read, and
the settings refusing a portal no bot knows."""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from config.settings import FinanceSettings
from domain.errors import ProviderRejected
from domain.reconciliation import PortalReport, ReportSource, release_line_channel
from integrations.documents.settlement import InvalidSettlementDocument, SettlementDocuments
from integrations.finance.marketplace_match import REPORT_COLUMNS, ReportInvalid
from integrations.finance.report_sources import ReportPart, assemble_report

pytestmark = pytest.mark.unit
DAY = date(2026, 11, 30)
channels = st.sampled_from(["store", "marketplace", "shopee"])
ids = st.text(alphabet="0123456789ABC-", min_size=1, max_size=12)


@given(channels, ids, st.text(alphabet="0123456789", max_size=10))
def test_a_line_with_a_reference_belongs_to_the_channel_its_reference_names(
    channel: str, order: str, market_id: str
) -> None:
    assert release_line_channel(f"{channel}:{order}", market_id) == channel


@given(st.text(alphabet="0123456789", min_size=1, max_size=10))
def test_a_line_with_only_an_order_id_is_the_marketplaces(order_id: str) -> None:
    assert release_line_channel("", order_id) == "marketplace"
    assert release_line_channel("  ", order_id) == "marketplace"


@pytest.mark.parametrize(("reference", "order_id"), [("", ""), ("no-colon", ""), (":x", "9")])
def test_a_line_naming_no_channel_has_none(reference: str, order_id: str) -> None:
    assert release_line_channel(reference, order_id) is None


def row(record: str, reference: str = "", order_id: str = "", amount: str = "10.00") -> list[str]:
    values = dict.fromkeys(REPORT_COLUMNS, "")
    values.update(RECORD_TYPE=record, DESCRIPTION="payment" if record == "release" else "",
                  EXTERNAL_REFERENCE=reference, ORDER_ID=order_id, NET_CREDIT_AMOUNT=amount,
                  SOURCE_ID=reference or order_id or "bal")  # fmt: skip
    return list(values.values())


def write(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header or list(REPORT_COLUMNS))
        writer.writerows(rows)
    return path


def read(path: Path) -> list[tuple[str, str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            (r["RECORD_TYPE"], r["EXTERNAL_REFERENCE"], r["ORDER_ID"]) for r in csv.DictReader(fh)
        ]


def test_each_channel_takes_its_lines_from_its_own_source_only(tmp_path: Path) -> None:
    api = write(tmp_path / "api.csv", [
        row("initial_available_balance"), row("release", "store:S1"), row("release", "", "111"),
        row("release", "", "", "1.00"), row("total"),
    ])  # fmt: skip
    portal = write(tmp_path / "portal.csv", [
        row("initial_available_balance"), row("release", "", "222"), row("release", "store:X"),
        row("available_balance"),
    ])  # fmt: skip
    out = tmp_path / "night.csv"
    written = assemble_report(
        [ReportPart(api, excluding=frozenset({"marketplace"})),
         ReportPart(portal, only="marketplace", provider="seller_portal")], out,
    )  # fmt: skip
    # the API's store line and its line naming no channel; the portal's marketplace line;
    # no balance lines; the API's marketplace line and the portal's store line left out
    assert read(out) == [("release", "store:S1", ""), ("release", "", ""), ("release", "", "222")]
    assert written == 3
    assert not list(tmp_path.glob(".*partial"))


def test_a_source_with_other_columns_is_refused_naming_it(tmp_path: Path) -> None:
    api = write(tmp_path / "api.csv", [row("release", "store:S1")])
    header = [*REPORT_COLUMNS, "EXTRA"]
    odd = write(tmp_path / "portal.csv", [[*row("release", "", "1"), "x"]], header=header)
    with pytest.raises(ReportInvalid, match=r"portal\.csv \(seller_portal\) has other columns"):
        assemble_report(
            [ReportPart(api), ReportPart(odd, only="marketplace", provider="seller_portal")],
            tmp_path / "night.csv",
        )
    assert not (tmp_path / "night.csv").exists()


def test_a_portal_report_is_read_only_when_it_is_the_file_the_bot_downloaded(
    tmp_path: Path,
) -> None:
    docs = SettlementDocuments(tmp_path)
    path = docs.report_path("marketplace", DAY)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"DATE,SOURCE_ID\n")
    good = PortalReport(
        channel="marketplace", day=DAY, path=docs.relative("marketplace", DAY),
        sha256=hashlib.sha256(b"DATE,SOURCE_ID\n").hexdigest(), lines=0, size=15,
    )  # fmt: skip
    assert docs.verified(good) == path
    with pytest.raises(ProviderRejected, match="changed since the bot downloaded it"):
        docs.verified(good.model_copy(update={"sha256": "0" * 64}))
    with pytest.raises(InvalidSettlementDocument, match="is kept at"):
        docs.verified(good.model_copy(update={"path": "../../etc/passwd"}))
    path.unlink()
    with pytest.raises(ProviderRejected, match="must share the documents directory"):
        docs.verified(good)
    with pytest.raises(InvalidSettlementDocument, match="not a channel name"):
        docs.relative("../x", DAY)


def test_only_a_channel_with_a_seller_portal_bot_can_take_its_report_from_a_portal() -> None:
    chosen = FinanceSettings(report_sources={"marketplace": ReportSource.PORTAL})
    assert chosen.portal_channels() == ["marketplace"]
    assert FinanceSettings().portal_channels() == []
    with pytest.raises(ValidationError, match="no seller portal bot knows channel 'store'"):
        FinanceSettings(report_sources={"store": ReportSource.PORTAL})
    with pytest.raises(ValidationError, match="'shopee', not a channel"):
        FinanceSettings(report_sources={"shopee": ReportSource.API})
