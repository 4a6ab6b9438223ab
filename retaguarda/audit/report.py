"""One audit check's outcome: a name, a one-line detail and violations a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Check:
    name: str
    violations: list[str] = field(default_factory=list)
    detail: str = ""
    skipped: bool = False  # could not be run: not ok, though nothing was found wrong

    @property
    def ok(self) -> bool:
        return not self.violations and not self.skipped

    def fail(self, violation: str) -> None:
        self.violations.append(violation)

    def summary(self, ok_detail: str) -> Check:
        """Set the detail: ``ok_detail`` when clean, else the number of violations first."""
        n = len(self.violations)
        self.detail = ok_detail if n == 0 else f"{n} violation{'s' * (n != 1)}; {ok_detail}"
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "violations": list(self.violations),
        }
