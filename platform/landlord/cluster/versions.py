"""The control plane's pinned versions: the one place to change them.

After changing a version here, run ``hack/pin-controlplane.py`` to regenerate the
Go build modules under ``gomod/`` and commit their ``go.mod`` and ``go.sum``.
"""

from __future__ import annotations

KUBERNETES = "v1.36.3"
KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
# A real node's binaries, from the same Kubernetes release (their own Go module).
KUBERNETES_NODE_COMMANDS = ("kubelet", "kube-proxy")
ETCD = "v3.6.8"
KWOK = "v0.8.0"
KUSTOMIZE = "v5.8.2"
HELM = "v3.22.0"
# sops decrypts tenants' encrypted files; age-keygen (from the age module sops uses)
# makes their keys.
SOPS = "v3.13.3"
# The CNCF distribution registry: the OCI registry tests and the demo serve artifacts and
# images from (github.com/distribution/distribution/v3, cmd/registry).
REGISTRY = "v3.1.1"
# Flux's controllers, built only for the side-by-side bench (tests/bench/bench_flux.py).
# v1.9.6 is the newest pair whose dependencies the module proxy serves (v1.10.x needs
# Go 1.27 and modules the proxy refuses).
FLUX_SOURCE = "v1.9.6"
FLUX_KUSTOMIZE = "v1.9.6"
