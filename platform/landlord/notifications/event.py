"""One event as Alerts see it: whose, what, how severe, at which revision."""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any, Literal

from landlord.api import labels

Severity = Literal["info", "error"]
REVISION = labels.REVISION
_GIT_REVISION = re.compile(r"(?:^|@)sha1:([0-9a-f]{40})$")


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
    annotated: bool = False  # the revision came with the Event (not from the object's status)
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
        # The revision the Event names (a sync's, annotated); only that one is a commit
        # a status may be posted to. The status's is shown, never posted to.
        annotated = (annotations or {}).get(REVISION) or ""
        revision = annotated or str(
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
            annotated=bool(annotated),
            object_labels=tuple(sorted((metadata.get("labels") or {}).items())),
        )

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.object_labels)

    @property
    def commit(self) -> str | None:
        """The Git commit the Event is about (``main@sha1:<hex>`` → ``<hex>``), if any."""
        if not self.annotated:
            return None
        match = _GIT_REVISION.search(self.revision)
        return match.group(1) if match else None

    def with_metadata(self, extra: dict[str, str]) -> Event:
        merged = {**dict(self.metadata), **extra}
        return dataclasses.replace(self, metadata=tuple(sorted(merged.items())))
