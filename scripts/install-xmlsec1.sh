#!/usr/bin/env bash
# xmlsec1, the reference XML-DSig implementation: the tests verify our NF-e signatures
# with it and sign documents with it for the SEFAZ simulator to accept. The system's when
# present, else Debian's package when we can install it; without it those tests are
# skipped (they fail under CI=true).
set -u
if command -v xmlsec1 >/dev/null 2>&1; then echo "xmlsec1: using $(command -v xmlsec1)"; exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "xmlsec1: installing Debian's package"
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 \
    || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1)) \
    >/dev/null 2>&1 && command -v xmlsec1 >/dev/null 2>&1 \
    && { echo "xmlsec1: installed $(command -v xmlsec1)"; exit 0; }
fi
echo "xmlsec1: not available; signature interop tests will be skipped (install 'xmlsec1')" >&2
exit 0
