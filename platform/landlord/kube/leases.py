"""A ``coordination.k8s.io/v1`` Lease as leader election's store."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, cast

from kubernetes import client as k8s

from landlord.kube.client import Kube, _translated


@dataclasses.dataclass(frozen=True)
class LeaseRecord:
    """What a Lease says, with times as seconds since the epoch."""

    holder: str | None
    duration: float
    acquired: float
    renewed: float
    transitions: int
    version: str = ""  # the resourceVersion read


def _time(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _micro(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseStore:
    """Reads and writes the Lease ``namespace/name``."""

    def __init__(self, kube: Kube, namespace: str, name: str, *, timeout: float = 1.5) -> None:
        self.api = k8s.CoordinationV1Api(kube.api_client)
        self.namespace = namespace
        self.name = name
        # Every call is bounded, so a hung request cannot outlast the renew deadline.
        self.timeout = timeout

    def _record(self, lease: Any) -> LeaseRecord:
        spec = lease.spec
        return LeaseRecord(
            holder=spec.holder_identity or None,
            duration=float(spec.lease_duration_seconds or 0),
            acquired=_time(spec.acquire_time),
            renewed=_time(spec.renew_time),
            transitions=int(spec.lease_transitions or 0),
            version=str(lease.metadata.resource_version or ""),
        )

    def _body(self, record: LeaseRecord) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if record.version:
            metadata["resourceVersion"] = record.version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": record.holder or "",
                "leaseDurationSeconds": max(1, round(record.duration)),
                "acquireTime": _micro(record.acquired),
                "renewTime": _micro(record.renewed),
                "leaseTransitions": record.transitions,
            },
        }

    def get(self) -> LeaseRecord | None:
        try:
            with _translated():
                lease = self.api.read_namespaced_lease(
                    self.name, self.namespace, _request_timeout=self.timeout
                )
        except Exception as error:
            if getattr(error, "not_found", False):
                return None
            raise
        return self._record(lease)

    def create(self, record: LeaseRecord) -> LeaseRecord:
        with _translated():
            lease = self.api.create_namespaced_lease(
                self.namespace, cast(Any, self._body(record)), _request_timeout=self.timeout
            )
        return self._record(lease)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        with _translated():
            body = cast(Any, self._body(record))
            lease = self.api.replace_namespaced_lease(
                self.name, self.namespace, body, _request_timeout=self.timeout
            )
        return self._record(lease)
