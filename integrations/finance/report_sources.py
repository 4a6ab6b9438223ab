"""One night's release report from several sources: each channel's lines from where its
settlement is published (the provider's API, or the channel's seller portal, which the
`rpa` bot downloads), as one file in the provider's columns for the matching engine.

Only release lines are kept (what the engine classifies): the balance lines of several
accounts do not add up to one. A line's channel is the one its key names
(`domain.reconciliation.release_line_channel`); a line naming none follows the API's
report. When every channel comes from the API the engine reads the API's file as it is."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from domain.reconciliation import release_line_channel
from integrations.finance.marketplace_match import ReportInvalid, check_report_header


@dataclass(frozen=True)
class ReportPart:
    """A source's report and whose lines to take from it: `only` one channel's (a
    seller portal's), else every channel's but `excluding` (the API's)."""

    path: Path
    only: str | None = None
    excluding: frozenset[str] = field(default_factory=frozenset)
    provider: str = "payments"

    def takes(self, channel: str | None) -> bool:
        if self.only is not None:
            return channel == self.only
        return channel not in self.excluding


def assemble_report(parts: list[ReportPart], out: Path) -> int:
    """Write the release lines each part takes to `out` (the first part's header, which
    every part must share); the lines written. Atomic: `out` appears whole."""
    if not parts:
        raise ValueError("a report needs at least one source")
    partial = out.with_name(f".{out.name}.partial")
    written = 0
    header: list[str] | None = None
    try:
        with partial.open("w", encoding="utf-8", newline="") as sink:
            writer = csv.writer(sink, lineterminator="\n")
            for part in parts:
                check_report_header(part.path, provider=part.provider)
                with part.path.open(encoding="utf-8", newline="") as fh:
                    reader = csv.reader(fh)
                    first = [name.strip().lstrip("\ufeff") for name in next(reader)]
                    if header is None:
                        header = first
                        writer.writerow(header)
                    elif first != header:
                        raise ReportInvalid(
                            f"the report {part.path.name} ({part.provider}) has other columns "
                            f"than {parts[0].path.name}: {', '.join(first)[:200]}",
                            provider=part.provider,
                        )
                    at = {name: i for i, name in enumerate(header)}
                    kind, ref, order = at["RECORD_TYPE"], at["EXTERNAL_REFERENCE"], at["ORDER_ID"]
                    for row in reader:
                        if len(row) != len(header):
                            raise ReportInvalid(
                                f"the report {part.path.name} ({part.provider}) has a line of "
                                f"{len(row)} fields, its header {len(header)}: line "
                                f"{reader.line_num}",
                                provider=part.provider,
                            )
                        if row[kind] != "release":
                            continue
                        if part.takes(release_line_channel(row[ref], row[order])):
                            writer.writerow(row)
                            written += 1
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return written
