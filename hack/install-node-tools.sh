#!/usr/bin/env bash
# Installs the Debian packages a real node and `make image` need, idempotently
# (docs/local-control-plane.md):
#   containerd, runc               - the container runtime the kubelet talks to
#   containernetworking-plugins    - bridge, host-local, portmap and loopback CNI plugins
#   catatonit                      - a static init, the locally built pause image's /pause
#   iptables, conntrack            - kube-proxy's iptables mode and its conntrack clean-up
#   debootstrap, buildah           - Landlord's own image from Debian packages, without Docker
# Exits 0 with nothing to do when every tool is present.
set -euo pipefail
declare -A tool_of=(
  [containerd]=containerd [runc]=runc [catatonit]=catatonit
  [iptables]=iptables [conntrack]=conntrack [debootstrap]=debootstrap [buildah]=buildah
)
missing=()
for package in "${!tool_of[@]}"; do
  command -v "${tool_of[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages for real nodes and the image: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "real nodes need root; install as root: apt-get install ${missing[*]}" >&2
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
# containerd's package would start it as a system service; a real node runs its
# own containerd under the cluster's state dir, so keep the system one off.
policy_rc=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy_rc" >/dev/null
  $sudo chmod +x "$policy_rc"
  created_policy=1
fi
trap '[ -n "$created_policy" ] && $sudo rm -f "$policy_rc"' EXIT
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for package in "${!tool_of[@]}"; do
  command -v "${tool_of[$package]}" >/dev/null 2>&1 || {
    echo "${tool_of[$package]} is still missing after installing $package" >&2
    exit 1
  }
done
