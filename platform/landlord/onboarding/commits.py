"""The platform repository's tenant files, read and changed through one work tree.

Writes are serialized by a lock (one work tree); a push that loses a race with
another writer is retried from the new tip — the change is computed again, so
a name taken meanwhile is refused, never a lost commit. Reads use the work
tree when it was synced at most :data:`READ_FRESHNESS` seconds ago.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from landlord import api, errors, kube, telemetry
from landlord.api import labels
from landlord.onboarding import documents, repository
from landlord.onboarding.context import RequestContext, trailers
from landlord.onboarding.identity import Caller

log = logging.getLogger(__name__)

READ_FRESHNESS = 2.0  # seconds a read may use the last synced work tree

Index = dict[str, documents.TenantFile]
Change = Callable[[repository.Location, repository.Workspace, Index], dict[str, bytes | None]]


class TenantFiles:
    """Every Tenant in the platform repository's folder, and commits that change them."""

    def __init__(
        self,
        kube_client: kube.Kube,
        workspace_for: repository.WorkspaceFactory,
        *,
        platform_namespace: str,
        push_attempts: int,
        metrics: telemetry.Metrics | None = None,
    ) -> None:
        self.kube = kube_client
        self.workspace_for = workspace_for
        self.platform_namespace = platform_namespace
        self.push_attempts = push_attempts
        self.metrics = metrics
        self._lock = threading.Lock()
        self._open: tuple[repository.Location, repository.Workspace] | None = None
        self._synced_at = 0.0
        self._parsed: dict[str, tuple[bytes, list[documents.TenantFile]]] = {}

    def read(self) -> Index:
        """For reads: the work tree (and the platform's location) at most 2 s old."""
        with self._lock:
            if self._open is None or time.monotonic() - self._synced_at > READ_FRESHNESS:
                location, workspace = self._workspace()
                workspace.sync()
                self._synced_at = time.monotonic()
            else:
                location, workspace = self._open
            return self._index(location, workspace)

    def commit(
        self,
        operation: str,
        name: str,
        caller: Caller,
        context: RequestContext,
        change: Change,
        message: str,
    ) -> str | None:
        """Sync, compute the change, commit, push; again from the new tip if the push lost.

        None when the change is empty; :class:`errors.ConcurrentUpdateError` when
        every attempt lost its race.
        """
        with self._lock:
            for attempt in range(1, self.push_attempts + 1):
                location, workspace = self._workspace()
                workspace.sync()
                self._synced_at = time.monotonic()
                changes = change(location, workspace, self._index(location, workspace))
                if not changes:
                    return None
                with telemetry.span(
                    "api.commit",
                    {"landlord.tenant": name, "landlord.operation": operation, "attempt": attempt},
                ):
                    sha = workspace.commit(
                        changes,
                        message=message,
                        author=caller.author,
                        trailers=trailers(caller, context, operation),
                    )
                    try:
                        workspace.push()
                    except errors.ConcurrentUpdateError:
                        self._count(operation, "retried")
                        self._synced_at = 0.0
                        continue
                    telemetry.add_event("landlord.commit", {"sha": sha, "path": ", ".join(changes)})
                self._count(operation, "pushed")
                self._fetch_now(context)
                log.info(
                    "committed",
                    extra={
                        "tenant": name,
                        "operation": operation,
                        "commit": sha,
                        "user": caller.shown,
                    },
                )
                return sha
            self._count(operation, "failed")
        raise errors.ConcurrentUpdateError(
            f"the platform repository moved {self.push_attempts} times while committing "
            f"tenant {name}; nothing was committed, retry the request"
        )

    def _workspace(self) -> tuple[repository.Location, repository.Workspace]:
        location = repository.locate(self.kube, self.platform_namespace)
        if self._open is None or self._open[0] != location:
            self._open = (location, self.workspace_for(location))
            self._synced_at = 0.0
        return self._open

    def _index(self, location: repository.Location, workspace: repository.Workspace) -> Index:
        """Every Tenant in the folder; files whose bytes did not change are not parsed again."""
        files = []
        for path in workspace.files(location.folder):
            content = workspace.read(path) or b""
            cached = self._parsed.get(path)
            if cached is None or cached[0] != content:
                cached = self._parsed[path] = (content, documents.parse(path, content))
            files.append(cached[1])
        return documents.index(files)

    def _fetch_now(self, context: RequestContext) -> None:
        """Ask the platform GitRepository to fetch now rather than at its next interval."""
        patch = {"metadata": {"annotations": {labels.REQUESTED_AT: context.time}}}
        try:
            self.kube.merge_patch(
                api.API_VERSION,
                "GitRepository",
                repository.PLATFORM,
                patch,
                self.platform_namespace,
            )
        except errors.ApiError as error:  # the commit is pushed: the interval fetches it anyway
            log.warning("could not request a platform fetch", extra={"error": error.message})

    def _count(self, operation: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.api_commits_total.labels(operation=operation, result=result).inc()
