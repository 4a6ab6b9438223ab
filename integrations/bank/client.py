"""The bank's statements: OFX downloaded per day, read with `ofxtools` into plain lines
(a CSV the matching engine loads). A statement that does not parse is refused naming
why, never half-read."""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import httpx
from ofxtools.Parser import OFXTree

from domain.errors import ProviderRejected
from integrations.http import send

PROVIDER = "bank"
LINE_COLUMNS = ("fitid", "posted_on", "amount", "memo")


@dataclass(frozen=True)
class StatementLine:
    fitid: str
    posted_at: datetime
    amount: Decimal
    memo: str


class StatementInvalid(ProviderRejected):
    pass


def read_ofx(content: bytes, name: str = "statement") -> list[StatementLine]:
    """Every transaction of every statement in an OFX file (v1 SGML or v2 XML)."""
    tree = OFXTree()
    try:
        tree.parse(BytesIO(content))
        ofx = tree.convert()
        statements = list(ofx.statements)
    except Exception as exc:  # ofxtools raises many kinds; all mean "not a statement"
        raise StatementInvalid(
            f"the bank statement {name} is not valid OFX: {type(exc).__name__}: {exc}"[:300],
            provider=PROVIDER,
        ) from exc
    out = []
    for statement in statements:
        for trn in statement.transactions:
            memo = " ".join(str(part) for part in (trn.name, trn.memo) if part)
            out.append(StatementLine(str(trn.fitid), trn.dtposted, Decimal(trn.trnamt), memo))
    return out


def write_lines(lines: list[StatementLine], path: Path, tz: str) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LINE_COLUMNS)
        for ln in lines:
            day = ln.posted_at.astimezone(zone).date()
            writer.writerow([ln.fitid, day.isoformat(), f"{ln.amount:.2f}", ln.memo])


class BankClient:
    """`base_url` is the API root, e.g. `<sandbox>/bank`."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    async def statement(self, day: date, into: Path, tz: str) -> Path:
        """Download the OFX of `day`, keep it in `into`, and write its lines beside it as
        `statement.csv`; returns the CSV."""
        response = await send(
            self._http, PROVIDER, "GET", f"{self._base}/v1/statements/{day.isoformat()}.ofx",
            headers=self._headers,
        )  # fmt: skip
        lines = read_ofx(response.content, f"{day.isoformat()}.ofx")
        return await asyncio.to_thread(_keep, into, day, response.content, lines, tz)


def _keep(into: Path, day: date, content: bytes, lines: list[StatementLine], tz: str) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    (into / f"{day.isoformat()}.ofx").write_bytes(content)
    partial = into / ".statement.csv.partial"
    write_lines(lines, partial, tz)
    final = into / "statement.csv"
    partial.replace(final)
    return final
