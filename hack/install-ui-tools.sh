#!/usr/bin/env bash
# Installs the Debian packages the status page's browser tests need, idempotently
# (tests/onboarding/test_ui.py, docs/ui.md):
#   chromium         - a real browser, run headless
#   chromium-driver  - its WebDriver, which Selenium (from the lock) drives
# Exits 0 with nothing to do when both are present.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && exit 0
"$(dirname "$0")/apt-install.sh" "the status page's browser tests" "${missing[@]}"
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is still missing after installing ${missing[*]}" >&2; exit 1; }
done
