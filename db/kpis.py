"""The KPIs, computed in SQL from the read model (the orders' phase columns, the
warehouse events and the check mistakes), the same statements on SQLite and PostgreSQL:
times are integer epoch seconds, percentiles are nearest-rank over window functions,
days are integer divisions of local time. Every query reads a range of one indexed
column, so a window of days stays fast however many orders the table holds."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import OrderRow, WarehouseEvent, WarehouseMistake
from db.session import read_session
from domain.kpis import (
    DEFAULT_PROMISE_S,
    LOCAL_OFFSET_S,
    PHASES,
    KpiReport,
    PeopleFigures,
    PhaseFigures,
)

STEP_FIELD = {"pick": "picked", "pack": "packed", "check": "checked"}


def _t(status: str) -> ColumnElement[int]:
    column: ColumnElement[int] = getattr(OrderRow, f"t_{status}")
    return column


def _day(epoch: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=epoch)).isoformat()


class KpiRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def report(
        self,
        since: datetime,
        until: datetime,
        channel: str | None = None,
        promise_s: float = DEFAULT_PROMISE_S,
    ) -> KpiReport:
        a, b = int(since.timestamp()), int(until.timestamp())
        of_channel = [OrderRow.channel == channel] if channel else []
        async with read_session(self._sessionmaker) as s:
            closed = await self._perfect(s, a, b, of_channel, int(promise_s))
            phases = await self._phases(s, a, b, of_channel)
            picked = await self._per_day(s, _t("picked"), a, b, of_channel)
            dispatched = await self._per_day(s, _t("shipped"), a, b, of_channel)
            by_operator, by_shift, caught = await self._people(s, since, until, channel)
        total, perfect, late, mismatched, cancelled = closed
        return KpiReport(
            since=since.astimezone(UTC),
            until=until.astimezone(UTC),
            channel=channel,
            perfect_order_rate=round(perfect / total, 4) if total else None,
            orders_closed=total,
            orders_perfect=perfect,
            late=late,
            with_check_mismatch=mismatched,
            cancelled_after_payment=cancelled,
            check_mistakes_caught=caught,
            phases=phases,
            picked_per_day=picked,
            dispatched_per_day=dispatched,
            by_operator=by_operator,
            by_shift=by_shift,
            on_time_within_h=round(promise_s / 3600, 2),
        )

    async def _perfect(
        self, s: AsyncSession, a: int, b: int, where: list[ColumnElement[bool]], promise: int
    ) -> tuple[int, int, int, int, int]:
        """Closed in the window: delivered in it, or cancelled in it after payment (and not
        delivered in it). Two statements, each read from one covering index."""
        delivered = and_(_t("delivered") >= a, _t("delivered") < b)
        paid = func.coalesce(_t("paid"), _t("received"))
        on_time = (_t("delivered") - paid) <= promise
        clean = OrderRow.check_mismatches == 0
        returned = _t("cancelled").is_not(None)

        def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        sent = (
            await s.execute(
                select(
                    func.count(),
                    count(and_(~returned, clean, on_time)),
                    count(~on_time),
                    count(~clean),
                    count(returned),
                ).where(delivered, *where)
            )
        ).one()
        kept = (
            await s.execute(
                select(func.count(), count(~clean)).where(
                    _t("cancelled") >= a,
                    _t("cancelled") < b,
                    _t("paid").is_not(None),
                    or_(_t("delivered").is_(None), _t("delivered") < a, _t("delivered") >= b),
                    *where,
                )
            )
        ).one()
        total, perfect, late = int(sent[0]) + int(kept[0]), int(sent[1]), int(sent[2])
        return total, perfect, late, int(sent[3]) + int(kept[1]), int(sent[4]) + int(kept[0])

    async def _phases(
        self, s: AsyncSession, a: int, b: int, where: list[ColumnElement[bool]]
    ) -> dict[str, PhaseFigures]:
        """One statement: per phase, how many orders took each tenth of a minute under an
        hour, each whole minute above (read from
        the phase's (end, start) index); p50 and p90 are the nearest ranks walked over
        those few buckets, never over the orders."""
        parts = []
        for name, start, end in PHASES:
            took = _t(end) - _t(start)
            bucket = case((took < 3600, took // 6 * 6), else_=took // 60 * 60).label("bucket")
            parts.append(
                select(literal(name).label("phase"), bucket, func.count().label("n"))
                .where(_t(end) >= a, _t(end) < b, _t(start).is_not(None), *where)
                .group_by(bucket)
            )
        histogram: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for phase, seconds, n in await s.execute(union_all(*parts)):
            histogram[phase].append((int(seconds), int(n)))
        return {name: _figures(histogram.get(name, [])) for name, _, _ in PHASES}

    async def _per_day(
        self,
        s: AsyncSession,
        column: ColumnElement[int],
        a: int,
        b: int,
        where: list[ColumnElement[bool]],
    ) -> dict[str, int]:
        day = ((column + LOCAL_OFFSET_S) // 86400).label("day")
        rows = await s.execute(
            select(day, func.count())
            .where(column >= a, column < b, *where)
            .group_by(day)
            .order_by(day)
        )
        return {_day(int(d)): int(n) for d, n in rows}

    async def _people(
        self, s: AsyncSession, since: datetime, until: datetime, channel: str | None
    ) -> tuple[dict[str, PeopleFigures], dict[str, PeopleFigures], int]:
        steps = select(
            WarehouseEvent.operator, WarehouseEvent.shift, WarehouseEvent.step, func.count()
        ).where(WarehouseEvent.at >= since, WarehouseEvent.at < until)
        caught = select(WarehouseMistake.operator, WarehouseMistake.shift, func.count()).where(
            WarehouseMistake.at >= since, WarehouseMistake.at < until
        )
        if channel:
            steps = steps.join(OrderRow, OrderRow.order_id == WarehouseEvent.order_id).where(
                OrderRow.channel == channel
            )
            caught = caught.join(OrderRow, OrderRow.order_id == WarehouseMistake.order_id).where(
                OrderRow.channel == channel
            )
        ops: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        shifts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for operator, shift, step, n in await s.execute(
            steps.group_by(WarehouseEvent.operator, WarehouseEvent.shift, WarehouseEvent.step)
        ):
            ops[operator][STEP_FIELD[step]] += int(n)
            shifts[shift or "-"][STEP_FIELD[step]] += int(n)
        total = 0
        for operator, shift, n in await s.execute(
            caught.group_by(WarehouseMistake.operator, WarehouseMistake.shift)
        ):
            ops[operator]["mistakes_caught"] += int(n)
            shifts[shift or "-"]["mistakes_caught"] += int(n)
            total += int(n)
        return (
            {k: PeopleFigures(**v) for k, v in sorted(ops.items())},
            {k: PeopleFigures(**v) for k, v in sorted(shifts.items())},
            total,
        )


def _figures(buckets: list[tuple[int, int]]) -> PhaseFigures:
    total = sum(n for _, n in buckets)
    if not total:
        return PhaseFigures(p50_min=None, p90_min=None, orders=0)
    ranks = {50: max(1, -(-total * 50 // 100)), 90: max(1, -(-total * 90 // 100))}
    found: dict[int, float] = {}
    seen = 0
    for seconds, n in sorted(buckets):
        seen += n
        for percent, position in ranks.items():
            if percent not in found and seen >= position:
                found[percent] = round(seconds / 60, 1)
    return PhaseFigures(p50_min=found[50], p90_min=found[90], orders=total)
