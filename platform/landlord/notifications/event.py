"""One event as Alerts see it: whose, what, how severe, at which revision."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Literal

from landlord.api import labels

Severity = Literal["info", "error"]
REVISION = labels.REVISION


@dataclasses.dataclass(frozen=True)
class Event:
    """What happened to one Landlord object (from a Kubernetes Event Landlord posted)."""

    api_version: str
    kind: str
    name: str
    namespace: str
    uid: str
    reason: str
    message: str
    severity: Severity
    timestamp: str
    revision: str = ""
    object_labels: tuple[tuple[str, str], ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        involved: dict[str, Any],
        *,
        reason: str,
        message: str,
        warning: bool,
        annotations: dict[str, str] | None = None,
        now: datetime.datetime | None = None,
    ) -> Event:
        metadata = involved.get("metadata") or {}
        status = involved.get("status") or {}
        revision = (annotations or {}).get(REVISION) or str(
            status.get("lastAttemptedRevision")
            or (status.get("artifact") or {}).get("revision")
            or ""
        )
        when = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(
            api_version=str(involved.get("apiVersion") or ""),
            kind=str(involved.get("kind") or ""),
            name=str(metadata.get("name") or ""),
            namespace=str(metadata.get("namespace") or ""),
            uid=str(metadata.get("uid") or ""),
            reason=reason,
            message=message[:1024],
            severity="error" if warning else "info",
            timestamp=when,
            revision=revision,
            object_labels=tuple(sorted((metadata.get("labels") or {}).items())),
        )

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.object_labels)

    @property
    def commit(self) -> str | None:
        """The commit a revision names (``main@sha1:<hex>`` → ``<hex>``), if any."""
        _, _, sha = self.revision.rpartition(":")
        return sha if len(sha) in (40, 64) and all(c in "0123456789abcdef" for c in sha) else None

    def with_metadata(self, extra: dict[str, str]) -> Event:
        merged = {**dict(self.metadata), **extra}
        return dataclasses.replace(self, metadata=tuple(sorted(merged.items())))
