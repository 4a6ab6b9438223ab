"""Sandbox provider: the seller's bank, serving statements as OFX 1.02 (SGML), the way
Brazilian banks export them.

The day's statement credits what the payment provider released that day (its release
report's net) split in two transfers, plus seeded lines nobody expects: a bank fee and a
stray Pix. `GET /bank/admin/statements/<day>/seeded` says which. Payments the seller makes
(a supplier's boleto) are posted with `POST /bank/admin/debits {day, amount, memo}`.

- API (bearer): `GET /bank/v1/statements/<YYYY-MM-DD>.ofx`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field

from sandbox.core import SandboxState
from sandbox.settlement import build_report
from sandbox.store import bearer_check

PROVIDER = "bank"
ACCOUNT = ("0341", "12345-6")  # bank code, account
CENT = Decimal("0.01")


class DebitIn(BaseModel):
    day: date
    amount: Decimal = Field(gt=0, description="what left the account")
    memo: str = Field(min_length=1, max_length=32)


def _debits(state: SandboxState) -> list[dict[str, object]]:
    found: list[dict[str, object]] = state.data[PROVIDER].setdefault("debits", [])
    return found


def _stamp(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    return moment.strftime("%Y%m%d%H%M%S") + f"[{hours}:{moment.tzname() or 'UTC'}]"


def statement_lines(
    state: SandboxState, day: date
) -> tuple[list[dict[str, object]], list[dict[str, str]]]:
    """(lines, seeded) of the statement of `day`."""
    tz = ZoneInfo(state.config.timezone)
    report = build_report(state, day)
    released = sum(
        (Decimal(r["NET_CREDIT_AMOUNT"]) - Decimal(r["NET_DEBIT_AMOUNT"])
         for r in report.rows if r["RECORD_TYPE"] == "release"),
        Decimal("0"),
    )  # fmt: skip
    at = datetime.combine(day, time(10, 0), tz)
    lines: list[dict[str, object]] = []
    seeded: list[dict[str, str]] = []
    memo = f"TED MERCADO PAGO LIBERACAO {day.isoformat()}"
    if released != 0:
        first = (released / 2).quantize(CENT)
        for n, amount in enumerate((first, released - first)):
            lines.append({"fitid": f"{day:%Y%m%d}MP{n}", "amount": amount, "memo": memo,
                          "at": at + timedelta(minutes=n)})  # fmt: skip
        seeded.append({"kind": "matched", "fitid": f"{day:%Y%m%d}MP0+{day:%Y%m%d}MP1"})
    lines.append({"fitid": f"{day:%Y%m%d}TAR", "amount": Decimal("-12.90"),
                  "memo": "TARIFA PACOTE SERVICOS", "at": at + timedelta(hours=2)})  # fmt: skip
    lines.append({"fitid": f"{day:%Y%m%d}PIX", "amount": Decimal("57.00"),
                  "memo": "PIX RECEBIDO JOAO DA SILVA", "at": at + timedelta(hours=3)})  # fmt: skip
    for n, debit in enumerate(d for d in _debits(state) if d["day"] == day):
        lines.append({"fitid": f"{day:%Y%m%d}DEB{n}", "amount": -Decimal(str(debit["amount"])),
                      "memo": debit["memo"], "at": at + timedelta(hours=4, minutes=n)})  # fmt: skip
    seeded += [
        {"kind": "unmatched_line", "fitid": f"{day:%Y%m%d}TAR"},
        {"kind": "unmatched_line", "fitid": f"{day:%Y%m%d}PIX"},
    ]
    return lines, seeded


def render_ofx(day: date, lines: list[dict[str, object]], tz: ZoneInfo) -> str:
    start = datetime.combine(day, time(0, 0), tz)
    end = start + timedelta(days=1) - timedelta(seconds=1)
    balance = sum((Decimal(str(ln["amount"])) for ln in lines), Decimal("0"))
    transactions = "".join(
        "<STMTTRN>\n"
        f"<TRNTYPE>{'CREDIT' if Decimal(str(ln['amount'])) > 0 else 'DEBIT'}\n"
        f"<DTPOSTED>{_stamp(ln['at'])}\n"  # type: ignore[arg-type]
        f"<TRNAMT>{ln['amount']}\n"
        f"<FITID>{ln['fitid']}\n"
        f"<MEMO>{ln['memo']}\n"
        "</STMTTRN>\n"
        for ln in lines
    )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        "<OFX>\n<SIGNONMSGSRSV1>\n<SONRS>\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
        f"<DTSERVER>{_stamp(end)}\n<LANGUAGE>POR\n</SONRS>\n</SIGNONMSGSRSV1>\n"
        "<BANKMSGSRSV1>\n<STMTTRNRS>\n<TRNUID>1\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
        "<STMTRS>\n<CURDEF>BRL\n<BANKACCTFROM>\n"
        f"<BANKID>{ACCOUNT[0]}\n<ACCTID>{ACCOUNT[1]}\n<ACCTTYPE>CHECKING\n</BANKACCTFROM>\n"
        f"<BANKTRANLIST>\n<DTSTART>{_stamp(start)}\n<DTEND>{_stamp(end)}\n{transactions}"
        "</BANKTRANLIST>\n"
        f"<LEDGERBAL>\n<BALAMT>{balance}\n<DTASOF>{_stamp(end)}\n</LEDGERBAL>\n"
        "</STMTRS>\n</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n"
    )


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    api = APIRouter(prefix="/v1", dependencies=[Depends(bearer_check(state, PROVIDER))])
    admin = APIRouter(prefix="/admin")

    def parse_day(name: str) -> date:
        try:
            return date.fromisoformat(name.removesuffix(".ofx"))
        except ValueError:
            raise HTTPException(
                404, f"no statement {name[:40]!r}: names are YYYY-MM-DD.ofx"
            ) from None

    @api.get("/statements/{name}")
    async def statement(name: str) -> Response:
        await state.faults.before(PROVIDER)
        day = parse_day(name)
        lines, _ = statement_lines(state, day)
        body = render_ofx(day, lines, ZoneInfo(state.config.timezone))
        state.faults.after(PROVIDER)
        return Response(body.encode("ascii", "replace"), media_type="application/x-ofx")

    @admin.post("/debits", status_code=201)
    async def debit(body: DebitIn) -> dict[str, object]:
        entry: dict[str, object] = {"day": body.day, "amount": body.amount.quantize(CENT),
                                    "memo": body.memo}  # fmt: skip
        _debits(state).append(entry)
        return entry

    @admin.get("/statements/{day}/seeded")
    async def seeded(day: date) -> list[dict[str, str]]:
        return statement_lines(state, day)[1]

    router.include_router(api)
    router.include_router(admin)
    return router
