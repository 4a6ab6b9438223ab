"""The fiscal calendar of the issuer's state: how long an NF-e may still be cancelled
(RETAGUARDA_FISCAL__CANCEL_WINDOW_H__<UF>, one entry per state)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from domain.fiscal import CUF_BY_UF

DEFAULT_CANCEL_WINDOW_H = 24.0  # the NF-e's national rule today, in every state
MAX_CANCEL_WINDOW_H = 720.0  # 30 days: anything longer is a window given in seconds


def _every_state(hours: float = DEFAULT_CANCEL_WINDOW_H) -> dict[str, float]:
    return dict.fromkeys(CUF_BY_UF, hours)


class FiscalSettings(BaseModel):
    cancel_window_h: dict[str, float] = Field(
        default_factory=_every_state,
        description="UF -> hours after its authorisation an NF-e may still be cancelled "
        "(event 110111); past it the sale is undone by a return NF-e. 24 h in every state; "
        "change one with e.g. RETAGUARDA_FISCAL__CANCEL_WINDOW_H__MT=48",
    )

    @field_validator("cancel_window_h", mode="before")
    @classmethod
    def _over_every_state(cls, value: Any) -> Any:
        """An entry from the environment changes that state and keeps the others."""
        if not isinstance(value, dict):
            return value
        return {**_every_state(), **{str(uf).upper(): hours for uf, hours in value.items()}}

    @field_validator("cancel_window_h")
    @classmethod
    def _states_and_hours(cls, windows: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(windows) - set(CUF_BY_UF))
        if unknown:
            raise ValueError(f"not a Brazilian state (UF): {', '.join(unknown)}")
        wrong = sorted(uf for uf, h in windows.items() if not 0 < h <= MAX_CANCEL_WINDOW_H)
        if wrong:
            raise ValueError(
                f"cancellation windows are hours (not seconds), over 0 and at most "
                f"{MAX_CANCEL_WINDOW_H:g}: {', '.join(f'{uf}={windows[uf]:g}' for uf in wrong)}"
            )
        return windows

    def cancel_window_s(self, state: str) -> float:
        """The cancellation window, in seconds, of an NF-e issued in `state`."""
        return self.cancel_window_h[state.upper()] * 3600
