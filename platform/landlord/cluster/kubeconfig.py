"""Kubeconfig files for the admin and each component, with the PEM data embedded."""

from __future__ import annotations

import base64
import pathlib
from typing import Any

import yaml

from landlord.cluster import pki as pki_mod

CONTEXT = "landlord"


def _b64(path: pathlib.Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def render(server: str, pki: pki_mod.Pki, who: pki_mod.ClientIdentity) -> dict[str, Any]:
    """A kubeconfig for ``who`` against ``server``, self-contained."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": who.user,
                "user": {
                    "client-certificate-data": _b64(pki.client_cert(who)),
                    "client-key-data": _b64(pki.client_key(who)),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": who.user}}],
        "current-context": CONTEXT,
    }


def write(path: pathlib.Path, server: str, pki: pki_mod.Pki, who: pki_mod.ClientIdentity) -> None:
    """Write ``render(...)`` to ``path``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pki_mod.write_private(path, yaml.safe_dump(render(server, pki, who), sort_keys=False).encode())
