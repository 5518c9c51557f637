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
echo "installing Debian packages for the status page's browser tests: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "the browser tests need chromium; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  sudo="sudo"
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: install ${missing[*]} with your package manager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is still missing after installing ${missing[*]}" >&2; exit 1; }
done
