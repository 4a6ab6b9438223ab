"""Serialising nfelib bindings with a reused xsdata context. nfelib's `to_xml` builds a
new serializer, and so a new `XmlContext`, on every call, and the context rebuilds the
metadata of every NF-e class from their type hints each time: most of the CPU an NF-e
costs (docs/BENCHMARKS.md). One context per thread (emission runs in worker threads)
keeps that metadata; the output is the same document."""

from __future__ import annotations

import threading
from typing import Any

from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
_LOCAL = threading.local()


def render(binding: Any, namespace: str = NFE_NS) -> str:
    """The binding as compact XML (no indentation), `namespace` as the default one."""
    serializer = getattr(_LOCAL, "serializer", None)
    if serializer is None:
        serializer = XmlSerializer(context=XmlContext(), config=SerializerConfig(indent=""))
        _LOCAL.serializer = serializer
    xml: str = serializer.render(obj=binding, ns_map={None: namespace})
    return xml
