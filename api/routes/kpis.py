"""The KPIs the operation is run by (perfect-order rate, minutes per phase, picked and
dispatched per day, per operator and shift), computed in SQL from the read model."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AnyRole, ContextDep
from api.errors import BadRequest
from db.kpis import KpiRepository
from domain.kpis import DEFAULT_PROMISE_S, KpiReport
from domain.orders import Channel
from domain.station import LOCAL_TZ

router = APIRouter(tags=["kpis"])
DEFAULT_DAYS = 7
MAX_DAYS = 400


def moment(value: str, name: str, *, end: bool = False) -> datetime:
    """A day (YYYY-MM-DD, a local day in America/Sao_Paulo; `to` includes it) or a moment
    (ISO 8601; without an offset, local time)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"{name} must be a day (2026-11-27) or a moment (2026-11-27T09:00:00-03:00), "
            f"not {value!r}",
            field=name,
            code="kpi_moment",
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)


def window(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    end = moment(until, "to", end=True) if until else datetime.now(UTC)
    start = moment(since, "from") if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise BadRequest("from must be before to", field="from", code="kpi_order")
    if end - start > timedelta(days=MAX_DAYS):
        raise BadRequest(f"ask for {MAX_DAYS} days at most", field="from", code="kpi_span")
    return start, end


@router.get("/kpis", response_model=KpiReport)
async def kpis(
    ctx: ContextDep,
    _: AnyRole,
    since: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    channel: Channel | None = None,
    promise_h: Annotated[float, Query(gt=0, le=24 * 90)] = DEFAULT_PROMISE_S / 3600,
) -> KpiReport:
    """`from`/`to`: local days (to inclusive) or ISO moments; default the last 7 days.
    `promise_h`: delivered within this many hours of payment counts as on time."""
    start, end = window(since, until)
    repository = KpiRepository(ctx.sessionmaker)
    return await repository.report(
        start, end, channel.value if channel else None, promise_s=promise_h * 3600
    )
