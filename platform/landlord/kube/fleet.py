"""The fleet: a connection to each registered cluster, and to the operator's own.

A Cluster (in the platform namespace) names a kubeconfig Secret beside it; the
connection is made from that Secret's inline credential (:mod:`landlord.kube.remote`)
and kept until the Cluster or its Secret changes (:meth:`Fleet.forget`). Each
member carries the identity the cluster answers with now: the uid of its
``kube-system`` namespace, which is what an inventory records, so a name
re-pointed at another cluster is never mistaken for the one it named before.

The registry credential provisions tenants there; a tenant's own objects are
applied with :meth:`Kube.as_service_account` on that connection, never with the
credential's own identity.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import threading
from typing import Any

import pydantic

from landlord import api, errors
from landlord.api import cluster as cluster_api
from landlord.api import reasons
from landlord.kube import remote
from landlord.kube.client import Kube

LOCAL = cluster_api.LOCAL


class ClusterError(Exception):
    """A cluster that cannot be used now: ``reason`` is a condition reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclasses.dataclass(frozen=True)
class Member:
    """One reachable cluster: its registered name, connection and identity."""

    name: str
    kube: Kube
    identity: str
    version: str = ""

    @property
    def local(self) -> bool:
        return self.name == LOCAL


class Fleet:
    """Connections by cluster name; ``local`` is the operator's own."""

    def __init__(self, local: Kube, *, platform_namespace: str) -> None:
        self.kube = local
        self.platform_namespace = platform_namespace
        self._lock = threading.Lock()
        self._members: dict[str, Member] = {}
        self._local_identity: str | None = None

    def local_identity(self) -> str:
        """The operator's own cluster's identity (read once)."""
        if self._local_identity is None:
            try:
                self._local_identity = remote.identity(self.kube)
            except errors.ApiError:
                return LOCAL  # an apiserver that hides kube-system: the old placeholder
        return self._local_identity

    def member(self, name: str) -> Member:
        """The connection to cluster ``name``; ClusterError when it cannot be used now."""
        if name == LOCAL:
            return Member(LOCAL, self.kube, self.local_identity())
        with self._lock:
            cached = self._members.get(name)
        if cached is not None:
            return cached
        found = self.connect(name)
        with self._lock:
            self._members[name] = found
        return found

    def connect(self, name: str) -> Member:
        """A new connection to registered cluster ``name`` (not cached)."""
        body = self.registered(name)
        if body is None:
            raise ClusterError(
                reasons.CLUSTER_NOT_FOUND,
                f"no Cluster {name!r} is registered in {self.platform_namespace}",
            )
        client = self.client_of(body)
        try:
            identity = remote.identity(client)
            version = remote.server_version(client)
        except errors.ApiError as error:
            client.close()
            raise ClusterError(
                reasons.CLUSTER_UNREACHABLE, f"cluster {name} cannot be reached: {error.message}"
            ) from None
        return Member(name, client, identity, version)

    def registered(self, name: str) -> dict[str, Any] | None:
        """The Cluster object ``name`` (None: not registered)."""
        return self.kube.get(api.API_VERSION, cluster_api.KIND, name, self.platform_namespace)

    def client_of(self, body: dict[str, Any]) -> Kube:
        """A client from a Cluster's kubeconfig Secret; ClusterError says why not."""
        name = body["metadata"]["name"]
        try:
            spec = cluster_api.ClusterSpec.of(body)
        except pydantic.ValidationError as error:
            raise ClusterError(reasons.INVALID_SPEC, f"Cluster {name}: {error}") from None
        secret_name = spec.kube_config.secret_ref.name
        secret = self.kube.get("v1", "Secret", secret_name, self.platform_namespace)
        where = f"Secret {self.platform_namespace}/{secret_name}"
        if secret is None:
            raise ClusterError(reasons.KUBECONFIG_NOT_FOUND, f"{where} does not exist")
        data = (secret.get("data") or {}).get(spec.secret_key)
        if not data:
            raise ClusterError(
                reasons.KUBECONFIG_NOT_FOUND, f"{where} has no key {spec.secret_key!r}"
            )
        try:
            text = base64.b64decode(data, validate=True)
            return remote.connect(remote.parse(text))
        except (binascii.Error, ValueError) as error:
            raise ClusterError(
                reasons.KUBECONFIG_REFUSED, f"{where}, key {spec.secret_key}: {error}"
            ) from None

    def by_secret(self, secret_name: str) -> str | None:
        """The registered Cluster whose kubeconfig is Secret ``secret_name`` (Flux's field)."""
        items = self.kube.list_objects(
            api.API_VERSION, cluster_api.KIND, namespace=self.platform_namespace
        )
        for item in sorted(items, key=lambda i: str(i["metadata"]["name"])):
            ref = ((item.get("spec") or {}).get("kubeConfig") or {}).get("secretRef") or {}
            if ref.get("name") == secret_name:
                return str(item["metadata"]["name"])
        return None

    def remember(self, member: Member) -> None:
        """Keep a connection the Cluster's probe just made (replacing the one kept)."""
        with self._lock:  # the connection it replaces may be in use: it closes when dropped
            self._members[member.name] = member

    def forget(self, name: str) -> None:
        """The Cluster or its Secret changed: connect again when next asked."""
        with self._lock:
            self._members.pop(name, None)

    def cached(self) -> list[Member]:
        """The connections kept now (remote ones)."""
        with self._lock:
            return list(self._members.values())
