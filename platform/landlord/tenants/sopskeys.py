"""A tenant's SOPS age key: made by the real ``age-keygen``, stored as a Secret of the tenant.

The private key goes from ``age-keygen``'s output straight into the Secret
(entry ``age.agekey``, the suffix Flux and Landlord read): it is never written
to a file or printed. What is printed is the public key and the two snippets
that use it — a ``.sops.yaml`` for the tenant's repository and the
``spec.decryption`` of its Kustomization.
"""

from __future__ import annotations

import base64
import dataclasses
import pathlib
import re
import subprocess

from landlord import api, errors
from landlord.api import labels
from landlord.kube import Kube

SECRET = "sops-age"  # noqa: S105 - the Secret's name
ENTRY = "age.agekey"
RECIPIENT = "landlord.dev/age-recipient"  # the public key, on the Secret, for anyone to read
_PUBLIC = re.compile(r"^# public key: (age1[0-9a-z]+)$", re.MULTILINE)
_PRIVATE = re.compile(r"^AGE-SECRET-KEY-1[0-9A-Z]+$", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class AgeKey:
    """Where the key was stored, and its public half."""

    namespace: str
    secret: str
    public: str

    def sops_yaml(self) -> str:
        """A ``.sops.yaml`` that encrypts the values of Secrets for this key."""
        return (
            "creation_rules:\n"
            "  - path_regex: .*\\.ya?ml$\n"
            "    encrypted_regex: ^(data|stringData)$\n"
            f"    age: {self.public}\n"
        )

    def decryption(self) -> str:
        """The Kustomization field that decrypts with this key."""
        return f"decryption:\n  provider: sops\n  secretRef:\n    name: {self.secret}\n"


def tenant_namespace(kube: Kube, tenant: str) -> str:
    """The tenant's first provisioned namespace (where its sync lives); a clear error else.

    Only what the operator provisioned counts (``status.namespaces``, and the
    namespace's own tenant label): a namespace a Tenant merely asks for may be
    another tenant's.
    """
    body = kube.get(api.API_VERSION, "Tenant", tenant)
    if body is None:
        raise errors.TerminalError(f"Tenant {tenant} not found")
    namespaces = (body.get("status") or {}).get("namespaces") or []
    if not namespaces:
        raise errors.TerminalError(
            f"Tenant {tenant} has no provisioned namespace yet",
            hint="wait until it is Ready (landlord get tenants), or pass --namespace",
        )
    return str(namespaces[0])


def _check_owner(kube: Kube, tenant: str, namespace: str) -> None:
    found = kube.get("v1", "Namespace", namespace)
    owner = ((found or {}).get("metadata") or {}).get("labels", {}).get(labels.TENANT)
    if owner != tenant:
        raise errors.TerminalError(
            f"namespace {namespace} is not tenant {tenant}'s "
            f"({'it does not exist' if found is None else f'its tenant label is {owner!r}'})"
        )


def generate(age_keygen: pathlib.Path) -> tuple[str, str]:
    """(private, public) from one run of ``age-keygen`` (its output stays in memory)."""
    done = subprocess.run(
        [str(age_keygen)], capture_output=True, text=True, check=False, timeout=30
    )
    private = _PRIVATE.search(done.stdout)
    public = _PUBLIC.search(done.stdout)
    if done.returncode != 0 or private is None or public is None:
        raise errors.TerminalError(
            f"age-keygen failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"
        )
    return private.group(0), public.group(1)


def create(
    kube: Kube,
    tenant: str,
    age_keygen: pathlib.Path,
    *,
    secret: str = SECRET,
    namespace: str | None = None,
    replace: bool = False,
) -> AgeKey:
    """Make a new key and store it for the tenant (see :func:`store`)."""
    where = namespace or tenant_namespace(kube, tenant)
    _refuse_overwrite(kube, where, secret, replace)
    private, public = generate(age_keygen)
    return store(kube, tenant, private, public, secret=secret, namespace=where, replace=replace)


def store(
    kube: Kube,
    tenant: str,
    private: str,
    public: str,
    *,
    secret: str = SECRET,
    namespace: str | None = None,
    replace: bool = False,
) -> AgeKey:
    """Store an age key as the tenant's Secret; refuse to overwrite one unless ``replace``."""
    where = namespace or tenant_namespace(kube, tenant)
    _check_owner(kube, tenant, where)
    existing = _refuse_overwrite(kube, where, secret, replace)
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret,
            "namespace": where,
            # No tenant label: the Secret is the tenant's own, like any it commits.
            "annotations": {RECIPIENT: public},
        },
        "type": "Opaque",
        "data": {ENTRY: base64.b64encode(f"{private}\n".encode()).decode()},
    }
    if existing:
        kube.delete("v1", "Secret", secret, where)
    kube.create(manifest)
    return AgeKey(where, secret, public)


def _refuse_overwrite(kube: Kube, namespace: str, secret: str, replace: bool) -> bool:
    """Whether the Secret exists; an error if it does and may not be replaced."""
    exists = kube.get("v1", "Secret", secret, namespace) is not None
    if exists and not replace:
        raise errors.TerminalError(
            f"Secret {namespace}/{secret} exists; files encrypted for its key would no longer "
            "decrypt with a new one",
            hint="pass --replace to make a new key anyway, or --secret to name another Secret",
        )
    return exists
