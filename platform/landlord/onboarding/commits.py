"""The platform repository's tenant files, read and changed through one work tree.

Writes go through one committer thread (one work tree) in batches: the requests
queued while a push is under way are committed together, a commit each, and
pushed at once (issue 18: concurrent creates no longer wait for a push each).
A push that loses a race with another writer is retried from the new tip — every
change is computed again, so a name taken meanwhile is refused, never a lost
commit. Reads use the work
tree when it was synced at most :data:`READ_FRESHNESS` seconds ago.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import threading
import time
from collections.abc import Callable

from landlord import api, errors, kube, telemetry
from landlord.api import labels
from landlord.onboarding import documents, repository, text
from landlord.onboarding.context import RequestContext, trailers
from landlord.onboarding.identity import Caller

log = logging.getLogger(__name__)

READ_FRESHNESS = 2.0  # seconds a read may use the last synced work tree
MAX_BATCH = 100  # requests committed and pushed together at most
IDLE = 1.0  # seconds the committer thread waits for more before it ends

KEYED_HISTORY = 1000  # commits of the branch searched for a retried Idempotency-Key
_KEY, _BY, _DIGEST = "Landlord-Idempotency-Key", "Landlord-Requested-By", "Landlord-Request-Digest"

Index = dict[str, documents.TenantFile]
Change = Callable[[repository.Location, repository.Workspace, Index], dict[str, bytes | None]]


@dataclasses.dataclass(frozen=True)
class _Keyed:
    """The commit an idempotency key was first used for, and what that request asked."""

    sha: str
    digest: str


@dataclasses.dataclass
class _Pending:
    """One request's write, waiting for its batch."""

    operation: str
    name: str
    caller: Caller
    context: RequestContext
    change: Change
    message: str
    traceparent: str | None  # the request's span: its commit span goes under it
    result: concurrent.futures.Future[tuple[str | None, bool]] = dataclasses.field(
        default_factory=concurrent.futures.Future
    )


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
        # Writes wait here for the committer thread, which takes them in batches.
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._queued = threading.Condition(self._queue_lock)
        self._committer: threading.Thread | None = None

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
    ) -> tuple[str | None, bool]:
        """Commit this request's change in the next batch: its sha (None: empty), replayed.

        ``replayed``: the request's ``Idempotency-Key`` was already committed, and
        that commit is the answer (:meth:`_replay`).

        Requests that arrive while a batch is being pushed wait for the next one:
        one sync, a commit per request (each with its own author and trailers) and
        one push for all of them. A push that lost its race computes every change
        again from the new tip. A request whose change is refused (a name taken,
        by the repository or by an earlier request of the same batch) gets its own
        error; the others go on. :class:`errors.ConcurrentUpdateError` when every
        attempt lost.
        """
        pending = _Pending(
            operation, name, caller, context, change, message, telemetry.traceparent()
        )
        with self._queue_lock:
            self._queue.append(pending)
            if self._committer is None or not self._committer.is_alive():
                self._committer = threading.Thread(
                    target=self._commit_batches, name="api-commits", daemon=True
                )
                self._committer.start()
            self._queued.notify()
        return pending.result.result()

    def _commit_batches(self) -> None:
        """The committer thread: batches of what is queued, until nothing is for a while."""
        while True:
            with self._queue_lock:
                if not self._queue:
                    self._queued.wait(timeout=IDLE)
                if not self._queue:
                    self._committer = None
                    return
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                self._commit_batch(batch)
            except BaseException as error:  # noqa: BLE001 - every waiter must hear of it
                for pending in batch:
                    if not pending.result.done():
                        pending.result.set_exception(error)

    def _commit_batch(self, batch: list[_Pending]) -> None:
        with self._lock:
            for attempt in range(1, self.push_attempts + 1):
                location, workspace = self._workspace()
                workspace.sync()
                self._synced_at = time.monotonic()
                outcomes: list[tuple[_Pending, str | None, BaseException | None]] = []
                replays: set[int] = set()  # ids of the requests answered from history
                # Read once per batch, then kept up to date with each request's change.
                files = self._files(location, workspace)
                keyed = self._keyed(workspace) if any(p.context.key for p in batch) else {}
                for pending in batch:
                    try:
                        replay = self._replay(pending, keyed)
                        if replay is not None:
                            replays.add(id(pending))
                            outcomes.append((pending, replay, None))
                            continue
                        sha = self._stage(location, workspace, files, pending, attempt)
                    except Exception as error:  # noqa: BLE001 - that request's answer
                        outcomes.append((pending, None, error))
                    else:
                        outcomes.append((pending, sha, None))
                        if sha is not None and pending.context.key:
                            keyed[(text.one_line(pending.caller.user), pending.context.key)] = (
                                _Keyed(sha, pending.context.digest or "")
                            )
                if any(sha for p, sha, _ in outcomes if id(p) not in replays):
                    try:
                        with telemetry.span(
                            "api.push", {"landlord.commits": len(outcomes), "attempt": attempt}
                        ):
                            workspace.push()
                    except errors.ConcurrentUpdateError:
                        for pending in batch:
                            self._count(pending.operation, "retried")
                        self._synced_at = 0.0
                        continue
                    self._fetch_now(batch[0].context)
                if self.metrics is not None:
                    self.metrics.api_commit_batch_size.observe(len(batch))
                for pending, sha, refused in outcomes:
                    if refused is not None:
                        pending.result.set_exception(refused)
                        continue
                    if id(pending) in replays:
                        self._count(pending.operation, "replayed")
                        pending.result.set_result((sha, True))
                        continue
                    if sha is not None:
                        self._count(pending.operation, "pushed")
                        log.info(
                            "committed",
                            extra={
                                "tenant": pending.name,
                                "operation": pending.operation,
                                "commit": sha,
                                "user": pending.caller.shown,
                                "batch": len(batch),
                            },
                        )
                    pending.result.set_result((sha, False))
                return
            for pending in batch:
                self._count(pending.operation, "failed")
                pending.result.set_exception(
                    errors.ConcurrentUpdateError(
                        f"the platform repository moved {self.push_attempts} times while "
                        f"committing tenant {pending.name}; nothing was committed, retry the "
                        "request"
                    )
                )

    def _keyed(self, workspace: repository.Workspace) -> dict[tuple[str, str], _Keyed]:
        """The idempotency keys of the branch's last :data:`KEYED_HISTORY` commits.

        By the caller as its trailer says it (one line, escaped: :func:`text.one_line`).
        """
        found: dict[tuple[str, str], _Keyed] = {}
        for sha, said in workspace.recent(KEYED_HISTORY):  # newest first
            key, user = said.get(_KEY), said.get(_BY)
            if key and user and (user, key) not in found:
                found[(user, key)] = _Keyed(sha, said.get(_DIGEST, ""))
        return found

    @staticmethod
    def _replay(pending: _Pending, keyed: dict[tuple[str, str], _Keyed]) -> str | None:
        """The commit that already answered this request's key (None: a first request).

        Keys are the caller's own: another caller's commit with the same key is
        not this request's. A key reused for a request that asks something else
        is refused (422) rather than answered with the other request's commit.
        """
        if not pending.context.key:
            return None
        first = keyed.get((text.one_line(pending.caller.user), pending.context.key))
        if first is None:
            return None
        if first.digest != (pending.context.digest or ""):
            raise errors.InvalidError(
                f"Idempotency-Key {pending.context.key} was used by an earlier request that "
                f"asked something else (commit {first.sha[:12]}); use a new key for a new "
                "request. Nothing was committed",
                fields={"Idempotency-Key": "reused for another request"},
            )
        return first.sha

    def _stage(
        self,
        location: repository.Location,
        workspace: repository.Workspace,
        files: dict[str, list[documents.TenantFile]],
        pending: _Pending,
        attempt: int,
    ) -> str | None:
        """Compute one request's change on the work tree as the batch left it; commit it."""
        changes = pending.change(location, workspace, documents.index(files.values()))
        if not changes:
            return None
        with telemetry.span(
            "api.commit",
            {
                "landlord.tenant": pending.name,
                "landlord.operation": pending.operation,
                "attempt": attempt,
            },
            parent=pending.traceparent,
        ):
            sha = workspace.commit(
                changes,
                message=pending.message,
                author=pending.caller.author,
                trailers=trailers(pending.caller, pending.context, pending.operation),
            )
            telemetry.add_event("landlord.commit", {"sha": sha, "path": ", ".join(changes)})
        for path, content in changes.items():  # the next request of the batch sees it
            if content is None or not _tenant_file(location.folder, path):
                files.pop(path, None)
            else:
                files[path] = self._parse(path, content)
        return sha

    def _workspace(self) -> tuple[repository.Location, repository.Workspace]:
        location = repository.locate(self.kube, self.platform_namespace)
        if self._open is None or self._open[0] != location:
            self._open = (location, self.workspace_for(location))
            self._synced_at = 0.0
        return self._open

    def _index(self, location: repository.Location, workspace: repository.Workspace) -> Index:
        """Every Tenant in the folder; files whose bytes did not change are not parsed again."""
        return documents.index(self._files(location, workspace).values())

    def _files(
        self, location: repository.Location, workspace: repository.Workspace
    ) -> dict[str, list[documents.TenantFile]]:
        """Each tenant file of the folder, parsed (in the work tree's order)."""
        return {
            path: self._parse(path, workspace.read(path) or b"")
            for path in workspace.files(location.folder)
        }

    def _parse(self, path: str, content: bytes) -> list[documents.TenantFile]:
        cached = self._parsed.get(path)
        if cached is None or cached[0] != content:
            cached = self._parsed[path] = (content, documents.parse(path, content))
        return cached[1]

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


def _tenant_file(folder: str, path: str) -> bool:
    """Whether ``path`` is one of the folder's YAML files (as ``Workspace.files`` lists them)."""
    inside = folder.strip("/") in ("", ".") or path.startswith(folder.strip("/") + "/")
    return inside and path.endswith((".yaml", ".yml"))
