"""The NF-e cancellation window is a per-state table in settings, 24 h everywhere by
default; an order's policy takes the window of the issuer's state."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from api.app import order_policy
from config.fiscal import FiscalSettings
from config.settings import Settings
from domain.fiscal import CUF_BY_UF

pytestmark = pytest.mark.unit


def test_every_state_defaults_to_24_hours_and_so_does_the_policy() -> None:
    settings = Settings()

    assert settings.fiscal.cancel_window_h == dict.fromkeys(CUF_BY_UF, 24.0)
    assert len(settings.fiscal.cancel_window_h) == 27
    assert order_policy(settings).invoice_cancel_window_s == 24 * 3600


def test_the_policy_takes_the_window_of_the_issuers_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_FISCAL__CANCEL_WINDOW_H__MG", "48")
    monkeypatch.setenv("RETAGUARDA_FISCAL__CANCEL_WINDOW_H__ba", "0.5")
    monkeypatch.setenv("RETAGUARDA_ISSUER__ADDRESS__STATE", "MG")
    monkeypatch.setenv("RETAGUARDA_ISSUER__ADDRESS__CITY", "Belo Horizonte")

    settings = Settings()

    assert order_policy(settings).invoice_cancel_window_s == 48 * 3600
    windows = settings.fiscal.cancel_window_h
    assert (windows["MG"], windows["BA"], windows["SP"]) == (48, 0.5, 24)  # the rest kept
    assert len(windows) == 27


def test_another_states_window_does_not_change_the_issuers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_FISCAL__CANCEL_WINDOW_H__RJ", "168")

    assert order_policy(Settings()).invoice_cancel_window_s == 24 * 3600  # issued in SP


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"XX": 24}, "not a Brazilian state (UF): XX"),
        ({"SP": 86400}, "hours (not seconds), over 0 and at most 720: SP=86400"),
        ({"SP": 0}, "over 0 and at most 720: SP=0"),
    ],
)
def test_a_window_that_cannot_be_meant_is_refused_at_start(
    entry: dict[str, float], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        FiscalSettings(cancel_window_h=entry)


def test_the_old_single_window_setting_is_refused_with_where_it_went(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_DURATIONS__INVOICE_CANCEL_WINDOW_S", "3600")

    with pytest.raises(ValidationError, match="RETAGUARDA_FISCAL__CANCEL_WINDOW_H__<UF>"):
        Settings()
