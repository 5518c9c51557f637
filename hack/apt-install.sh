#!/usr/bin/env bash
# Installs Debian packages for the install-*.sh scripts: hack/apt-install.sh WHY PACKAGE...
# As root, or through sudo; says what to run when neither (or apt-get) is there.
set -euo pipefail
why="$1"
shift
echo "installing Debian packages for $why: $*"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "$why needs root to install packages; as root: apt-get install $*" >&2
    exit 1
  fi
  sudo="sudo"
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: install $* with your package manager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
