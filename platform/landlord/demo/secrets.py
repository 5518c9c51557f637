"""The demo's encrypted Secret: an age key for a decrypting tenant, one file encrypted for it.

``landlord up`` commits the file to the tenant's demo repository, encrypted with
the real ``sops`` for a key made by the real ``age-keygen``; once the tenant's
namespace exists it stores the key there (``landlord sops keygen`` does the same
for a real tenant) and the tenant's sync decrypts and applies the Secret. The
password is made at run time: no secret is in the repository.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import secrets
import subprocess
import tempfile
import threading
import time

from landlord import api, errors, kube
from landlord.api import labels
from landlord.tenants import sopskeys

SECRET_NAME = "db-credentials"  # noqa: S105 - the Secret's name
FILE = "db-credentials.enc.yaml"


@dataclasses.dataclass(frozen=True)
class Tools:
    sops: pathlib.Path
    age_keygen: pathlib.Path


@dataclasses.dataclass(frozen=True)
class PendingKey:
    """A tenant's key, to store once its namespace exists (its private half stays in memory)."""

    tenant: str
    private: str
    public: str
    secret: str


def encrypted_secret(tools: Tools, tenant: str, secret: str) -> tuple[str, PendingKey]:
    """(the encrypted Secret's text, the key it was encrypted for)."""
    private, public = sopskeys.generate(tools.age_keygen)
    plain = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n"
        f"  name: {SECRET_NAME}\ntype: Opaque\nstringData:\n"
        # Not the tenant's own name: every value decrypted is scrubbed from the run's
        # messages, and a namespace called like a value would read <redacted> there.
        f"  username: {tenant}-app\n  password: {secrets.token_urlsafe(18)}\n"
    )
    with tempfile.TemporaryDirectory(prefix="landlord-demo-") as folder:
        source = pathlib.Path(folder) / "secret.yaml"
        source.write_text(plain)
        done = subprocess.run(
            [
                str(tools.sops),
                "encrypt",
                "--age",
                public,
                "--encrypted-regex",
                "^(data|stringData)$",
                str(source),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=folder,
            env={**os.environ, "SOPS_AGE_KEY_FILE": "/nonexistent"},
            timeout=60,
        )
    if done.returncode != 0:
        raise RuntimeError(f"sops encrypt failed: {done.stderr.strip()[-300:]}")
    return done.stdout, PendingKey(tenant, private, public, secret)


def store_when_ready(
    client: kube.Kube, pending: list[PendingKey], stop: threading.Event, timeout: float
) -> list[str]:
    """Store each key once its tenant's namespace exists; ask its sync to run at once."""
    stored: list[str] = []
    deadline = time.monotonic() + timeout
    for key in pending:
        namespace = _namespace_when_provisioned(client, key.tenant, stop, deadline)
        if namespace is None:
            continue
        found = sopskeys.store(
            client,
            key.tenant,
            key.private,
            key.public,
            secret=key.secret,
            namespace=namespace,
            replace=True,
        )
        with contextlib.suppress(errors.ApiError):  # not made yet: its first sync reads the key
            client.merge_patch(
                api.API_VERSION,
                "Kustomization",
                key.tenant,
                {"metadata": {"annotations": {labels.REQUESTED_AT: str(time.time())}}},
                namespace,
            )
        stored.append(f"{found.namespace}/{found.secret}")
    return stored


def _namespace_when_provisioned(
    client: kube.Kube, tenant: str, stop: threading.Event, deadline: float
) -> str | None:
    while not stop.is_set() and time.monotonic() < deadline:
        if client.get(api.API_VERSION, "Tenant", tenant) is not None:
            try:
                namespace = sopskeys.tenant_namespace(client, tenant)
            except errors.TerminalError:  # not provisioned yet
                namespace = None
            if namespace is not None and client.get("v1", "Namespace", namespace) is not None:
                return namespace
        stop.wait(0.3)
    return None
