"""Whose an image object is, what it may name, and where the operator may connect for it.

Shared by the three image reconcilers: the policy subject of a namespace (its
tenant, from the namespace watch's cache), the cross-namespace decision (inside
one tenant: free; across tenants: the policy decides, as for a sourceRef), the
registry decision (the policy's ``source`` point on ``oci://host/path`` before
any request) and the check every registry URL passes before a connection (the
network deny list, and the policy again for a URL on another host: a token realm,
a redirect). The platform namespace is the platform team's: none of it is gated.
"""

from __future__ import annotations

import base64
import urllib.parse

from landlord import errors, policy
from landlord.api import labels, reasons
from landlord.git import network, urls
from landlord.kube import Kube
from landlord.oci import client as oci_client
from landlord.oci import reference
from landlord.runtime.namespaces import NamespaceLabels


class DeniedError(errors.TerminalError):
    """The policy refuses the request; nothing was contacted."""

    reason = reasons.POLICY_DENIED


class SecretMissingError(errors.RetryableError):
    """A Secret the spec names does not exist (looked for again on the next attempt)."""

    reason = reasons.SECRET_NOT_FOUND


class Access:
    """Decisions and Secrets for one cluster's image objects."""

    def __init__(
        self,
        kube: Kube,
        *,
        gate: policy.Gate,
        namespaces: NamespaceLabels,
        platform_namespace: str,
        network_policy: network.NetworkPolicy | None,
    ) -> None:
        self.kube = kube
        self.gate = gate
        self.namespaces = namespaces
        self.platform_namespace = platform_namespace
        self.network_policy = network_policy

    # -- whose ----------------------------------------------------------------------

    def labels_of(self, namespace: str) -> dict[str, str]:
        found = self.namespaces.get(namespace)
        if found is None:
            body = self.kube.get("v1", "Namespace", namespace) or {}
            found = dict((body.get("metadata") or {}).get("labels") or {})
        return dict(found)

    def subject(self, namespace: str) -> str:
        return policy.subject_for(namespace, self.labels_of(namespace))

    def owner(self, namespace: str) -> str:
        """Who owns ``namespace``: ``tenant:<name>``, the platform, or the namespace itself."""
        if namespace == self.platform_namespace:
            return "platform"
        return self.subject(namespace)

    def tenant_namespaces(self, namespace: str) -> list[str]:
        """``namespace`` and every other namespace of its tenant (sorted)."""
        tenant = self.labels_of(namespace).get(labels.TENANT)
        found = {namespace}
        if tenant:
            listed = self.kube.list_objects(
                "v1", "Namespace", label_selector=f"{labels.TENANT}={tenant}"
            )
            found.update(item["metadata"]["name"] for item in listed)
        return sorted(found)

    def cross_namespace(self, own: str, namespace: str, name: str, what: str) -> None:
        """Raise DeniedError unless ``own`` may name ``namespace/name`` (policy point ``source``).

        Inside one namespace or one tenant nothing is asked; the platform namespace is not gated.
        """
        if namespace == own or own == self.platform_namespace:
            return
        own_labels = self.labels_of(own)
        if policy.same_tenant(own_labels, self.labels_of(namespace)):
            return
        subject = policy.subject_for(own, own_labels)
        target = f"{namespace}/{name}"
        decision = self.gate.check("source", [subject], target)
        if not decision.allowed:
            raise DeniedError(
                f"{what} {target} is outside {subject}'s namespaces and the policy does not "
                f"allow it for {subject} ({decision.explain()}); nothing was read. "
                f"{decision.how_to_allow(subject)}"
            )

    # -- registries -------------------------------------------------------------------

    def decide_registry(self, namespace: str, repository: reference.Repository) -> None:
        """The policy's ``source`` decision on ``oci://host/path`` (DeniedError when refused)."""
        if namespace == self.platform_namespace:
            return
        subject = self.subject(namespace)
        decision = self.gate.check("source", [subject], repository.url)
        if not decision.allowed:
            raise DeniedError(
                f"{subject} may not use the registry repository {repository.url}: "
                f"{decision.explain()}; the registry was not contacted. "
                f"{decision.how_to_allow(subject)}"
            )

    def checker(
        self, namespace: str, repository: reference.Repository, *, insecure: bool
    ) -> oci_client.Checker:
        """Decides every URL the registry client is about to connect to, for ``namespace``.

        The registry itself was decided by the caller (:meth:`decide_registry`); a URL
        on another host (a token realm, a redirect to storage) is decided on its own,
        without its query. Every address passes the network deny list; the returned
        resolution is where the client connects.
        """
        schemes = ("https", "http") if insecure else ("https",)

        def check(url: str) -> network.Resolution | None:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in schemes or not parts.hostname:
                raise DeniedError(
                    f"{parts.scheme}://{parts.hostname or ''}: only "
                    f"{' or '.join(schemes)} registry URLs are followed"
                )
            try:
                source = urls.normalise(urllib.parse.urlunsplit((*parts[:3], "", "")))
            except urls.InvalidSourceError as error:
                raise DeniedError(str(error)) from None
            if namespace == self.platform_namespace:
                return None
            if (source.host, source.port) != (repository.hostname.lower(), repository.port):
                subject = self.subject(namespace)
                decision = self.gate.check("source", [subject], source.url)
                if not decision.allowed:
                    raise DeniedError(
                        f"the registry sent the client to {source.url}, which {subject} may "
                        f"not use: {decision.explain()}"
                    )
            if self.network_policy is None:
                return None
            return self.network_policy.check(source.url, source.host, source.port)

        return check

    def secret_data(self, namespace: str, name: str, field: str) -> dict[str, str]:
        """A Secret's ``data`` (base64 values), or SecretMissingError naming the field."""
        secret = self.kube.get("v1", "Secret", name, namespace)
        if secret is None:
            raise SecretMissingError(f"Secret {namespace}/{name} ({field}) not found")
        return dict(secret.get("data") or {})


def decoded(data: dict[str, str]) -> list[str]:
    """Every value of a Secret's ``data``, decoded (for redaction)."""
    values = []
    for value in data.values():
        try:
            text = base64.b64decode(value).decode(errors="replace").strip()
        except ValueError:
            continue
        if len(text) >= 4:
            values.append(text)
    return values
