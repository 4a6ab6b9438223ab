"""`retaguarda bench reconcile` measures on PostgreSQL unless there is none or it is told
otherwise, and says which it chose."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from retaguarda.bench import reconcile
from retaguarda.bench.reconcile import LOCAL_POSTGRES, choose_database

pytestmark = pytest.mark.unit

STACK_PG = "postgresql://retaguarda@db.internal:5432/retaguarda"


@dataclass
class Probe:
    """Whether a local PostgreSQL answers (the test decides), and the URLs probed."""

    up: bool = False
    probed: list[str] = field(default_factory=list)

    async def answers(self, url: str) -> bool:
        self.probed.append(url)
        return self.up


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> Probe:
    found = Probe()
    monkeypatch.setattr(reconcile, "_answers", found.answers)
    return found


def test_a_given_postgresql_url_is_used_as_given(probe: Probe) -> None:
    assert choose_database("postgresql://me@10.0.0.5/x", "") == (
        "postgresql://me@10.0.0.5/x",
        "--db-url",
    )
    assert probe.probed == []


def test_sqlite_is_used_when_asked_for_even_with_postgresql_around(probe: Probe) -> None:
    probe.up = True
    assert choose_database("sqlite", STACK_PG) == ("", "asked for SQLite")


def test_the_stacks_own_postgresql_comes_before_probing(probe: Probe) -> None:
    url, why = choose_database("", STACK_PG)
    assert url == STACK_PG
    assert "RETAGUARDA_DB__URL" in why
    assert probe.probed == []


def test_a_stack_on_sqlite_measures_on_the_local_postgresql_when_it_answers(
    probe: Probe,
) -> None:
    probe.up = True
    url, why = choose_database("", "sqlite+aiosqlite:///var/retaguarda.db")
    assert url == LOCAL_POSTGRES
    assert "127.0.0.1" in why


def test_without_any_postgresql_it_falls_back_to_sqlite_and_says_why(probe: Probe) -> None:
    url, why = choose_database("", "")
    assert url == ""
    assert "no PostgreSQL" in why
    assert probe.probed == [LOCAL_POSTGRES]


def test_another_kind_of_database_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="postgresql:// URL or 'sqlite', not 'mysql://h/db'"):
        choose_database("mysql://h/db", "")


def test_a_db_url_that_is_no_url_at_all_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="postgresql:// URL or 'sqlite', not 'localhost:5432'"):
        choose_database("localhost:5432", "")
