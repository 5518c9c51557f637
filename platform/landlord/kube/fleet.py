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
from collections.abc import Callable
from typing import Any

import pydantic

from landlord import api, errors
from landlord.api import cluster as cluster_api
from landlord.api import reasons
from landlord.kube import remote
from landlord.kube.client import Kube

LOCAL = cluster_api.LOCAL
# A Cluster's annotation that accepts a new identity behind its registration.
IDENTITY_ANNOTATION = cluster_api.IDENTITY_ANNOTATION


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
        """The operator's own cluster's identity (read once; ClusterError until it can be)."""
        if self._local_identity is None:
            try:
                self._local_identity = remote.identity(self.kube)
            except errors.ApiError as error:
                if error.status in (403, 404):  # for good: the same placeholder every time
                    self._local_identity = LOCAL
                    return LOCAL
                # Never a placeholder for a blip: an inventory recorded under it would
                # not be recognised as this cluster's once the identity reads again.
                raise ClusterError(
                    reasons.CLUSTER_UNREACHABLE,
                    f"the operator's own cluster's identity cannot be read: {error.message}",
                ) from None
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
        try:
            self._check_identity(name, body, identity)
        except ClusterError:
            client.close()
            raise
        return Member(name, client, identity, version)

    def _check_identity(self, name: str, body: dict[str, Any], identity: str) -> None:
        """ClusterError unless ``identity`` is this registration's own, and no one else's.

        The operator's own cluster registered under a name would have its tenants
        provisioned (and pruned) twice over; two names for one cluster fight over
        the same namespaces; a registration re-pointed at another cluster would
        act there on what it recorded here. The first identity a Cluster answered
        with is pinned (``status.identity``); another is accepted only when the
        platform names it in the annotation ``landlord.dev/identity``.
        """
        if identity == self.local_identity():
            raise ClusterError(
                reasons.DUPLICATE_IDENTITY,
                f"cluster {name} is the operator's own cluster (identity {identity}): it is "
                f"'{LOCAL}' and is never registered",
            )
        with self._lock:
            twins = [
                m.name for m in self._members.values() if m.name != name and m.identity == identity
            ]
        for other in self.kube.list_objects(
            api.API_VERSION, cluster_api.KIND, namespace=self.platform_namespace
        ):
            other_name = other["metadata"]["name"]
            status = other.get("status") or {}
            in_use = status.get("reachable") is not False  # one refused itself claims nothing
            if other_name != name and in_use and status.get("identity") == identity:
                twins.append(other_name)
        if twins:
            raise ClusterError(
                reasons.DUPLICATE_IDENTITY,
                f"cluster {name} is the same cluster as {sorted(set(twins))[0]} (identity "
                f"{identity}): register each cluster once",
            )
        pinned = (body.get("status") or {}).get("identity")
        accepted = (body["metadata"].get("annotations") or {}).get(IDENTITY_ANNOTATION)
        if pinned and pinned != identity and accepted != identity:
            raise ClusterError(
                reasons.IDENTITY_CHANGED,
                f"cluster {name} now answers with identity {identity}, registered as {pinned}: "
                "another cluster behind the same name is not used until the platform accepts "
                f"it (annotation {IDENTITY_ANNOTATION}: {identity}); what was recorded on the "
                "old one is never pruned through it",
            )

    def connection(self, name: str) -> Callable[[], Kube]:
        """A function returning the connection to ``name`` now; ApiError 503 while unusable.

        For watches, which call it at every relist: a new credential counts.
        """

        def connect() -> Kube:
            try:
                return self.member(name).kube
            except ClusterError as error:
                raise errors.ApiError(error.message, status=503, api_reason=error.reason) from None

        return connect

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
