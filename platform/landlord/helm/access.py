"""Which URLs a tenant's chart repository may send the operator to, and with what credentials.

Each URL the operator fetches for a tenant (the index, each chart archive,
each redirect) is decided here before any connection: an allowed scheme
(``http``/``https`` among the platform's ``LANDLORD_SOURCES__ALLOWED_SCHEMES``),
one canonical spelling (:func:`landlord.git.urls.normalise`), the policy's
``source`` point on that spelling, and the network deny list. The platform
namespace's repositories are the platform team's: not gated.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from landlord import errors, policy
from landlord.api import reasons
from landlord.git import network, urls
from landlord.helm import download
from landlord.kube import Kube
from landlord.runtime.namespaces import NamespaceLabels

HTTP_SCHEMES = ("http", "https")


class DeniedError(errors.TerminalError):
    """The policy refuses the URL; nothing was fetched."""

    reason = reasons.POLICY_DENIED


class SecretMissingError(errors.RetryableError):
    reason = reasons.SECRET_NOT_FOUND


class Access:
    """Decides URLs for a namespace's Helm sources, and reads their credentials."""

    def __init__(
        self,
        kube: Kube,
        *,
        gate: policy.Gate,
        namespaces: NamespaceLabels,
        allowed_schemes: Iterable[str],
        network_policy: network.NetworkPolicy | None,
        platform_namespace: str,
    ) -> None:
        self.kube = kube
        self.gate = gate
        self.namespaces = namespaces
        self.schemes = sorted(s for s in (x.lower() for x in allowed_schemes) if s in HTTP_SCHEMES)
        self.network_policy = network_policy
        self.platform_namespace = platform_namespace

    def labels_of(self, namespace: str) -> dict[str, str]:
        found = self.namespaces.get(namespace)
        if found is None:
            body = self.kube.get("v1", "Namespace", namespace) or {}
            found = dict((body.get("metadata") or {}).get("labels") or {})
        return dict(found)

    def subject(self, namespace: str) -> str:
        return policy.subject_for(namespace, self.labels_of(namespace))

    def normalise(self, url: str) -> urls.SourceURL:
        """The URL's one spelling; InvalidSourceError for a scheme or form not allowed."""
        urls.validate_url(url, self.schemes or ["https"])
        return urls.normalise(url)

    def decide(self, namespace: str, url: str) -> None:
        """The policy's ``source`` decision on one normalised URL (DeniedError when refused)."""
        if namespace == self.platform_namespace:
            return
        subject = self.subject(namespace)
        decision = self.gate.check("source", [subject], url)
        if not decision.allowed:
            raise DeniedError(
                f"{subject} may not use the source {url}: {decision.explain()}; "
                f"nothing was fetched. {decision.how_to_allow(subject)}"
            )

    def checker(self, namespace: str, repository: str) -> download.Checker:
        """Decides each URL fetched for ``namespace`` from the repository at ``repository``.

        The repository's own URL is the policy object (decided by the caller, before
        this runs); a URL under it needs nothing more, one elsewhere (a chart hosted
        on another server, a redirect) is decided on its own. Every URL passes the
        network deny list; the return value is where to connect.
        """
        base = self.normalise(repository).url.rstrip("/") + "/"

        def check(url: str) -> network.Resolution | None:
            # A signed download URL (a redirect to object storage) has a query: it is
            # fetched as it is; the policy decides on the URL without it.
            source = self.normalise(url.split("#", 1)[0].split("?", 1)[0])
            if namespace == self.platform_namespace:
                return None
            if not source.url.startswith(base):
                self.decide(namespace, source.url)
            if self.network_policy is None:
                return None
            return self.network_policy.check(source.url, source.host, source.port)

        return check

    def auth(
        self, namespace: str, secret_name: str | None, ca_secret_name: str | None
    ) -> download.Auth | None:
        """Basic credentials (``username``/``password``) and a CA (``ca.crt``) from Secrets."""
        if not secret_name and not ca_secret_name:
            return None
        username = password = None
        ca: bytes | None = None
        if secret_name:
            data = self._secret(namespace, secret_name, "spec.secretRef")
            username = _text(data.get("username"))
            password = _text(data.get("password"))
            ca = _bytes(data.get("ca.crt"))
        if ca_secret_name:
            data = self._secret(namespace, ca_secret_name, "spec.certSecretRef")
            ca = _bytes(data.get("ca.crt")) or ca
        return download.Auth(username=username, password=password, ca_pem=ca)

    def _secret(self, namespace: str, name: str, field: str) -> dict[str, str]:
        secret = self.kube.get("v1", "Secret", name, namespace)
        if secret is None:
            raise SecretMissingError(f"Secret {namespace}/{name} ({field}) not found")
        return dict(secret.get("data") or {})


def _bytes(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value else None


def _text(value: str | None) -> str | None:
    raw = _bytes(value)
    return raw.decode(errors="replace") if raw is not None else None
