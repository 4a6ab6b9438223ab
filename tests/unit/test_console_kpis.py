"""The KPI dashboard renders the report's figures, in pt-BR."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.console.kpis import KpiPage, _window_problem
from api.console.views import Chrome, render
from api.errors import BadRequest
from api.routes.kpis import window
from db.api_keys import ApiPrincipal, ApiRole
from domain.kpis import PHASES, KpiReport, PeopleFigures, PhaseFigures

pytestmark = pytest.mark.unit


def test_the_dashboard_shows_the_rate_phases_days_operators_and_shifts() -> None:
    report = KpiReport(
        since=datetime(2026, 11, 27, 3, tzinfo=UTC), until=datetime(2026, 11, 28, 3, tzinfo=UTC),
        channel=None,
        perfect_order_rate=0.9412, orders_closed=17, orders_perfect=16, late=0,
        with_check_mismatch=1, cancelled_after_payment=0, check_mistakes_caught=2,
        phases={n: PhaseFigures(p50_min=12.5, p90_min=1314.9, orders=17) for n, _, _ in PHASES},
        picked_per_day={"2026-11-27": 17}, dispatched_per_day={"2026-11-27": 15},
        by_operator={"ana": PeopleFigures(picked=17, mistakes_caught=2)},
        by_shift={"manha": PeopleFigures(picked=17)}, on_time_within_h=168,
    )  # fmt: skip
    now = datetime(2026, 11, 27, 15, tzinfo=UTC)
    page = KpiPage(Chrome(ApiPrincipal("lead", ApiRole.VIEWER), "t", now), report)
    html = render(page)
    assert "94,1 %" in html
    assert "pedidos perfeitos" in html
    assert "1.314,9" in html  # p90 minutes, pt-BR
    assert "separação" in html
    assert ">ana<" in html
    assert ">manha<" in html
    assert "2026-11-27" in html
    assert "27/11/2026 00:00" in html  # the window, on the warehouse's clock


@pytest.mark.parametrize(
    ("since", "until", "said"),
    [
        ("2026-11-28", "2026-11-27", "O primeiro dia deve vir antes do último."),
        ("2024-01-01", "2026-11-27", "Peça no máximo 400 dias."),
        ("27/11/2026", "", "27/11/2026 não é um dia (27/11/2026 se escreve 2026-11-27)"),
    ],
)
def test_a_window_the_dashboard_cannot_use_is_refused_in_the_readers_words(
    since: str, until: str, said: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        window(since, until or None)
    problem = _window_problem(refused.value, since, until)
    now = datetime(2026, 11, 27, 15, tzinfo=UTC)
    chrome = Chrome(ApiPrincipal("lead", ApiRole.VIEWER), "t", now)
    html = render(KpiPage(chrome, None, since=since, until=until, error=problem))
    assert said in html
    assert "must" not in html
    assert "ask for" not in html
