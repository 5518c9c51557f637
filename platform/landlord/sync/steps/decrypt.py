"""The decryption keys of a Kustomization: its ``spec.decryption`` Secret, read as the tenant.

The Secret is always the Kustomization's own namespace's (the field has no
namespace), and it is read with the client that impersonates the
Kustomization's service account: a Secret that account may not read cannot
decrypt anything, whatever the operator itself may read.
"""

from __future__ import annotations

import base64
import binascii

from landlord import errors
from landlord.api import kustomization as model
from landlord.api import reasons
from landlord.gitops import sops
from landlord.kube import Kube
from landlord.sync.failure import SyncError


def keys(tenant: Kube, namespace: str, decryption: model.Decryption | None) -> sops.Keys | None:
    """The age identities to decrypt with (None: the Kustomization does not decrypt)."""
    if decryption is None:
        return None
    if decryption.secret_ref is None:
        raise SyncError(
            reasons.DECRYPTION_FAILED,
            "spec.decryption.secretRef is required: Landlord decrypts with the age keys "
            "(*.agekey entries) of a Secret in this namespace",
            stalled=True,
        )
    name = decryption.secret_ref.name
    shown = f"{namespace}/{name}"
    try:
        secret = tenant.get("v1", "Secret", name, namespace)
    except errors.ApiError as error:
        if error.forbidden:
            raise SyncError(
                reasons.DECRYPTION_FAILED,
                f"decryption Secret {shown}: the Kustomization's service account may not read "
                "it (it is read as that account, never as Landlord)",
            ) from None
        raise
    if secret is None:
        raise SyncError(reasons.DECRYPTION_FAILED, f"decryption Secret {shown} not found")
    data: dict[str, bytes] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            data[str(key)] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            continue
    try:
        return sops.Keys.parse(shown, data)
    except sops.DecryptionError as error:
        raise SyncError(reasons.DECRYPTION_FAILED, error.message) from None
