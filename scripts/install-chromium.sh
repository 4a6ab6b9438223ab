#!/usr/bin/env bash
# Chromium for the Playwright bots: the system's when present, Debian's package when we
# can install it, and only as a last resort Playwright's own download (needs internet).
set -u
for c in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -x "$c" ]; then echo "chromium: using $c"; exit 0; fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium: installing Debian's package"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    && [ -x /usr/bin/chromium ] && { echo "chromium: installed /usr/bin/chromium"; exit 0; }
fi
if [ -x .venv/bin/playwright ] && .venv/bin/playwright install chromium >/dev/null 2>&1; then
  echo "chromium: installed by playwright"; exit 0
fi
echo "chromium: not available; browser tests will be skipped (install 'chromium' to run them)" >&2
exit 0
