#!/usr/bin/env bash
# Installs the Debian packages Landlord runs at run time, idempotently:
#   bubblewrap  - the build sandbox (bwrap) every tenant build and git archive runs in
#   util-linux  - prlimit, the sandbox's resource limits (essential on Debian; checked anyway)
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
[ ${#missing[@]} -eq 0 ] && exit 0
"$(dirname "$0")/apt-install.sh" "the build sandbox" "${missing[@]}"
command -v bwrap >/dev/null
