"""The key that marks a ``landlord.dev/traceparent`` as Landlord's own.

A Secret in the platform namespace (``LANDLORD_API__TRACE_KEY_SECRET``, default
``landlord-trace-key``) holds 32 random bytes under ``key``. The onboarding API
signs the traceparent it commits on a Tenant with it; the tenant operator
verifies that signature and signs again for the GitRepository and
Kustomization it provisions; the source and sync reconcilers verify theirs (see
:class:`landlord.telemetry.TraceSigner`). Whoever needs the key first creates
the Secret; tenants cannot read the platform namespace.
"""

from __future__ import annotations

import base64
import logging
import secrets
import threading
import time
from collections.abc import Callable

from landlord import errors, kube, telemetry
from landlord.api import labels

log = logging.getLogger(__name__)

KEY_BYTES = 32
RETRY_AFTER = 30.0  # seconds between attempts while the key cannot be read or created


def loader(
    kube_client: kube.Kube, *, platform_namespace: str, secret_name: str
) -> Callable[[], bytes | None]:
    """A function returning the key, creating the Secret if there is none (None: not now)."""
    lock = threading.Lock()
    failed_at = [float("-inf")]

    def load() -> bytes | None:
        with lock:
            if time.monotonic() - failed_at[0] < RETRY_AFTER:
                return None
            try:
                return _read_or_create(kube_client, platform_namespace, secret_name)
            except errors.LandlordError as error:
                failed_at[0] = time.monotonic()
                log.warning(
                    "the trace key is not available: traceparents are neither signed nor "
                    "honoured until it is",
                    extra={"secret": f"{platform_namespace}/{secret_name}", "error": str(error)},
                )
                return None

    return load


def _read_or_create(kube_client: kube.Kube, namespace: str, name: str) -> bytes:
    for _ in range(2):
        found = kube_client.get("v1", "Secret", name, namespace)
        if found is not None:
            key = base64.b64decode((found.get("data") or {}).get("key") or "")
            if len(key) < 16:
                raise errors.TerminalError(
                    f"Secret {namespace}/{name} has no usable 'key' (at least 16 bytes)"
                )
            return key
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {labels.PREFIX + "component": "trace-key"},
            },
            "type": "Opaque",
            "data": {"key": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()},
        }
        try:
            kube_client.create(secret)
        except errors.ApiError as error:
            if not error.conflict:  # 409: the API or the operator created it meanwhile
                raise
    raise errors.RetryableError(f"Secret {namespace}/{name} was created and deleted meanwhile")


def signer(
    kube_client: kube.Kube, *, platform_namespace: str, secret_name: str
) -> telemetry.TraceSigner:
    """The signer the API and the operator share, keyed by that Secret."""
    return telemetry.TraceSigner(
        loader(kube_client, platform_namespace=platform_namespace, secret_name=secret_name)
    )
