"""The warehouse station's pure rules and the console's pt-BR formats and catalogue."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from api.console.i18n import language, local_time, nfe_key, number
from domain.freight import Parcel
from domain.station import (
    add_scan,
    decode_counts,
    differences,
    encode_counts,
    resolve_code,
    shift_of,
    suggest_box,
    walk_order,
)

pytestmark = pytest.mark.unit


def parcel(length: int, width: int, height: int) -> Parcel:
    return Parcel(
        weight_g=500, length_cm=length, width_cm=width, height_cm=height,
        declared_value=Decimal("10.00"),
    )  # fmt: skip


def test_the_smallest_standard_box_that_fits_is_suggested_in_any_orientation() -> None:
    assert suggest_box(parcel(15, 10, 5)).name == "P1"
    assert suggest_box(parcel(5, 10, 15)).name == "P1"
    assert suggest_box(parcel(21, 10, 5)).name == "M1"
    odd = suggest_box(parcel(90, 10, 10))
    assert (odd.name, odd.sides) == ("sob medida", (90, 10, 10))


def test_a_code_is_the_sku_in_any_case_or_its_ean() -> None:
    products = [("MUG-1", "7891234567895"), ("PLATE", "")]
    assert resolve_code("mug-1", products) == "MUG-1"
    assert resolve_code(" 7891234567895\n", products) == "MUG-1"
    assert resolve_code("07891234567895", products) == "MUG-1"  # GTIN-14 of the EAN-13
    assert resolve_code("7890000000000", products) is None
    assert resolve_code("", products) is None


def test_the_pick_walk_goes_by_bin_with_numbers_as_numbers_and_no_bin_last() -> None:
    bins = {"X": "", "B": "A-10-1", "C": "A-2-1", "D": "B-01-1"}
    assert walk_order(bins) == ["C", "B", "D", "X"]


def test_scans_count_up_to_the_pick_list_and_survive_the_page_round_trip() -> None:
    limit = {"MUG": 2}
    one = add_scan({}, "MUG", limit)
    assert one == {"MUG": 1}
    two = add_scan(one, "MUG", limit)
    assert two == {"MUG": 2}
    assert add_scan(two, "MUG", limit) is None
    assert add_scan({}, "OTHER", limit) is None
    assert decode_counts(encode_counts(two), ["MUG"]) == two
    assert decode_counts(["MUG:x", "EVIL:3", "MUG:0", "A:B:2"], ["MUG", "A:B"]) == {"A:B": 2}


def test_shifts_follow_the_warehouse_clock_in_sao_paulo() -> None:
    assert shift_of(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)) == "manha"  # 06:00 local
    assert shift_of(datetime(2026, 12, 2, 8, 59, tzinfo=UTC)) == "noite"  # 05:59 local
    assert shift_of(datetime(2026, 12, 2, 17, 0, tzinfo=UTC)) == "tarde"
    assert shift_of(datetime(2026, 12, 3, 1, 0, tzinfo=UTC)) == "noite"  # 22:00 local


def test_differences_say_what_is_missing_and_what_is_extra() -> None:
    found = differences({"MUG": 2, "PLATE": 1}, {"MUG": 1, "PLATE": 1, "FORK": 1})
    assert [(d.sku, d.missing, d.extra) for d in found] == [("FORK", 0, 1), ("MUG", 1, 0)]


def test_pt_br_formats_money_times_and_nfe_keys() -> None:
    assert number(Decimal("1314.9"), places=2) == "1.314,90"
    assert number(1314.9, "en", 2) == "1,314.90"
    at = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)
    assert local_time(at) == "02/12/2026 14:30"
    key = "35241112345678000195550010000012341000012345"
    assert nfe_key(key) == "3524 1112 3456 7800 0195 5500 1000 0012 3410 0001 2345"


def test_every_console_message_has_a_pt_br_translation() -> None:
    path = Path(__file__).resolve().parents[2] / "scripts" / "console_messages.py"
    spec = importlib.util.spec_from_file_location("console_messages", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    used = {
        str(i) for m in module.extracted() if m.id
        for i in (m.id if isinstance(m.id, tuple) else (m.id,))
    }  # fmt: skip
    words = language("pt-BR")
    missing = sorted(m for m in used if m not in words.messages)
    assert missing == [], "run scripts/console_messages.py and translate these"
    assert language("en").gettext("Pick") == "Pick"
    assert words.gettext("Pick") == "Separar"
