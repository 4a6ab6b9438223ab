"""`retaguarda bench reconcile` end to end at a small size: the seeded classes come out
exactly, on SQLite and on PostgreSQL (its timings are for docs/BENCHMARKS.md, not here)."""

from __future__ import annotations

import pytest

from retaguarda.bench.reconcile import run_reconcile_bench
from tests.support.databases import PG_ADMIN_URL

pytestmark = pytest.mark.integration

LINES = 2_000


def _check(result: dict[str, object], database: str) -> None:
    assert result["database"] == database
    assert result["classified_as_seeded"] is True
    classified = result["classified"]
    assert isinstance(classified, dict)
    assert sum(classified.values()) == result["stored_lines"]
    assert classified["matched"] == 1_900
    assert classified["missing_payout"] == 40


def test_the_bench_classifies_as_seeded_on_sqlite() -> None:
    _check(run_reconcile_bench(LINES, ""), "sqlite")


@pytest.mark.postgres
def test_the_bench_classifies_as_seeded_on_postgresql(pg_url: str) -> None:
    _check(run_reconcile_bench(LINES, PG_ADMIN_URL), "postgresql")
