"""The taxes the margin takes from an NF-e: per item, adding up to the NF-e's totals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from integrations.fiscal.nfe_read import NfeUnreadable, item_taxes
from tests.unit.test_nfe_builder import NS, sample_builder, sample_request

TOTALS = ("vICMS", "vST", "vFCP", "vFCPST", "vIPI", "vPIS", "vCOFINS", "vICMSUFDest",
          "vFCPUFDest")  # fmt: skip


@pytest.mark.parametrize(("crt", "state"), [("3", "SP"), ("3", "RJ"), ("1", "BA")])
def test_item_taxes_add_up_to_the_nfe_totals(crt: str, state: str) -> None:
    xml = sample_builder(crt=crt).build(sample_request(state=state)).xml
    root = etree.fromstring(xml.encode())
    total = sum(
        (Decimal(v) for name in TOTALS for v in root.xpath(f"//n:ICMSTot/n:{name}/text()",
                                                             namespaces=NS)),
        Decimal("0"),
    )  # fmt: skip

    items = item_taxes(xml)

    assert [sku for sku, _ in items] == ["CANECA-01", "CAFE-500"]
    assert sum(t for _, t in items) == total
    if crt == "3":
        assert all(t > 0 for _, t in items)


def test_an_nfe_that_is_not_xml_is_refused_by_name() -> None:
    with pytest.raises(NfeUnreadable):
        item_taxes("<nfeProc")
