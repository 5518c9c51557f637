"""Onboarding operations: authorize, validate, commit to the platform repository, wait.

One :class:`Onboarding` per process. Writes are serialized by a lock (one work
tree); a push that loses a race with another writer is retried from the new
tip — the change is computed again, so a name taken meanwhile becomes a 409,
never a lost commit.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pydantic

from landlord import api, errors, kube, policy, telemetry
from landlord.api import conditions, labels
from landlord.api.tenant import TenantSpec
from landlord.gitops import durations
from landlord.onboarding import documents, repository, text, validation
from landlord.onboarding.identity import Caller
from landlord.onboarding.models import (
    Accepted,
    ReconcileRequested,
    TenantList,
    TenantPatch,
    TenantRequest,
    TenantView,
)
from landlord.settings import ApiSettings

log = logging.getLogger(__name__)

TENANT = "Tenant"
READ_FRESHNESS = 2.0  # seconds a read may use the last synced work tree
WAIT_POLL = 0.5

Change = Callable[
    [repository.Location, repository.Workspace, dict[str, documents.TenantFile]],
    dict[str, bytes | None],
]


class Problem(errors.LandlordError):
    """A request the API refuses: an HTTP status, a sentence and per-field problems."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.fields = dict(fields or {})


@dataclasses.dataclass(frozen=True)
class RequestContext:
    """What ties a change to its request: ids for the trailers, annotations and logs."""

    request_id: str
    traceparent: str | None
    trace_id: str | None
    time: str  # RFC 3339, UTC

    @classmethod
    def now(cls, request_id: str) -> RequestContext:
        return cls(
            request_id=request_id,
            traceparent=telemetry.traceparent(),
            trace_id=telemetry.trace_id(),
            time=datetime.datetime.now(datetime.UTC).isoformat(),
        )


class Onboarding:
    """Tenants through Git: the operations behind the HTTP routes."""

    def __init__(
        self,
        kube_client: kube.Kube,
        gate: policy.Gate,
        workspace_for: repository.WorkspaceFactory,
        *,
        platform_namespace: str,
        settings: ApiSettings,
        allowed_schemes: list[str],
        bounds: durations.Bounds | None = None,
        metrics: telemetry.Metrics | None = None,
        trace_signer: telemetry.TraceSigner | None = None,
    ) -> None:
        self.kube = kube_client
        self.trace_signer = trace_signer
        self.gate = gate
        self.workspace_for = workspace_for
        self.platform_namespace = platform_namespace
        self.settings = settings
        self.allowed_schemes = allowed_schemes
        self.bounds = bounds or durations.Bounds()
        self.metrics = metrics
        self._lock = threading.Lock()
        self._open: tuple[repository.Location, repository.Workspace] | None = None
        self._synced_at = 0.0
        self._parsed: dict[str, tuple[bytes, list[documents.TenantFile]]] = {}

    # -- reads ---------------------------------------------------------------

    def get(self, caller: Caller, name: str) -> TenantView:
        """The tenant's spec from Git and status from the cluster."""
        index = self._read_index()
        current = index.get(name)
        self._authorize(
            caller, "api:get", name, owner=current is not None and _owns(caller, current)
        )
        if current is None:
            raise Problem(404, f"tenant {name} is not defined in the platform repository")
        return self._view(current, self.kube.get(api.API_VERSION, TENANT, name))

    def list(self, caller: Caller) -> TenantList:
        """Every tenant for callers who may list; otherwise the ones they own and may read."""
        index = self._read_index()
        everything = self.gate.check("api", caller.subjects(), "tenants", action="api:list").allowed
        live = {
            item["metadata"]["name"]: item
            for item in self.kube.list_objects(api.API_VERSION, TENANT)
        }
        items = []
        for name, current in sorted(index.items()):
            if not everything:
                if not _owns(caller, current):
                    continue
                subjects = caller.subjects(owner=True)
                if not self.gate.check(
                    "api", subjects, f"tenants/{name}", action="api:get"
                ).allowed:
                    continue
            items.append(self._view(current, live.get(name)))
        return TenantList(items=items)

    # -- writes --------------------------------------------------------------

    def create(
        self, caller: Caller, request: TenantRequest, context: RequestContext, *, wait: float | None
    ) -> Accepted:
        """Commit ``tenants/<name>.yaml``; 409 if the name (or a namespace) is taken."""
        name = request.name
        self._authorize(caller, "api:create", name, owner=False)
        self._validate(name, request.spec)
        spec = documents.spec_document(request.spec)

        def change(
            location: repository.Location,
            workspace: repository.Workspace,
            index: dict[str, documents.TenantFile],
        ) -> dict[str, bytes | None]:
            if name in index:
                raise Problem(
                    409,
                    f"tenant {name} already exists (defined in {index[name].path})",
                    {"name": "already exists"},
                )
            if self.kube.get(api.API_VERSION, TENANT, name) is not None:
                raise Problem(
                    409,
                    f"a Tenant {name} exists in the cluster but not in the platform repository; "
                    "remove it or choose another name",
                    {"name": "already exists in the cluster"},
                )
            self._check_namespaces(name, request.spec, index)
            path = _join(location.folder, f"{name}.yaml")
            if workspace.read(path) is not None:
                raise Problem(
                    409,
                    f"{path} already exists in the platform repository",
                    {"name": "file exists"},
                )
            return {
                path: documents.render(
                    name, spec, self._annotations(name, caller, context, "create")
                )
            }

        commit = self._commit("create", name, caller, context, change, f"Onboard tenant {name}")
        return self._accepted("create", name, commit, context, wait)

    def update(
        self,
        caller: Caller,
        name: str,
        patch: TenantPatch,
        context: RequestContext,
        *,
        wait: float | None,
    ) -> Accepted:
        """Replace the given fields of the tenant's spec (null removes one) and commit."""
        given = sorted(patch.model_fields_set)
        if not given:
            raise Problem(
                422,
                "nothing to change",
                {"body": "give at least one of owners, quota, namespaces, source, sync, suspend"},
            )
        self._authorize(caller, "api:update", name, owner=True)  # cheap refusal before Git

        def change(
            location: repository.Location,
            workspace: repository.Workspace,
            index: dict[str, documents.TenantFile],
        ) -> dict[str, bytes | None]:
            current = self._editable(caller, "api:update", name, index)
            merged = dict(current.spec)
            dumped = patch.model_dump(mode="json", by_alias=True, include=set(given))
            for field in given:
                key = TenantPatch.model_fields[field].alias or field
                if dumped.get(key, dumped.get(field)) is None:
                    merged.pop(key, None)
                else:
                    merged[key] = dumped.get(key, dumped.get(field))
            try:
                spec = TenantSpec.model_validate(merged)
            except pydantic.ValidationError as error:
                raise Problem(422, "the changed spec is not valid", _spec_fields(error)) from None
            self._validate(name, spec)
            self._check_namespaces(name, spec, index)
            if merged == current.spec:
                return {}
            annotations = self._annotations(name, caller, context, "update")
            return {current.path: documents.render(name, merged, annotations)}

        commit = self._commit(
            "update", name, caller, context, change, f"Update tenant {name}: {', '.join(given)}"
        )
        return self._accepted("update", name, commit, context, wait)

    def delete(
        self, caller: Caller, name: str, context: RequestContext, *, wait: float | None
    ) -> Accepted:
        """Remove the tenant's file: the platform sync prunes the Tenant, which offboards it."""
        self._authorize(caller, "api:delete", name, owner=True)

        def change(
            location: repository.Location,
            workspace: repository.Workspace,
            index: dict[str, documents.TenantFile],
        ) -> dict[str, bytes | None]:
            current = self._editable(caller, "api:delete", name, index)
            return {current.path: None}

        commit = self._commit("delete", name, caller, context, change, f"Offboard tenant {name}")
        return self._accepted("delete", name, commit, context, wait)

    def reconcile(self, caller: Caller, name: str, context: RequestContext) -> ReconcileRequested:
        """Ask the Tenant and its GitRepository and Kustomization to reconcile now."""
        live = self.kube.get(api.API_VERSION, TENANT, name)
        owner = live is not None and caller.owns(_spec_of(live.get("spec")))
        self._authorize(caller, "api:reconcile", name, owner=owner)
        if live is None:
            raise Problem(404, f"there is no Tenant {name} in the cluster (yet)")
        home = ((live.get("status") or {}).get("namespaces") or [name])[0]
        patch = {"metadata": {"annotations": {labels.REQUESTED_AT: context.time}}}
        touched = []
        for kind, namespace in (("Tenant", None), ("GitRepository", home), ("Kustomization", home)):
            try:
                self.kube.merge_patch(api.API_VERSION, kind, name, patch, namespace)
            except errors.ApiError as error:
                if error.not_found:
                    continue
                raise
            touched.append(f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}")
        return ReconcileRequested(name=name, requestedAt=context.time, objects=touched)

    # -- steps ---------------------------------------------------------------

    def _authorize(self, caller: Caller, action: str, name: str, *, owner: bool) -> None:
        decision = self.gate.check(
            "api", caller.subjects(owner=owner), f"tenants/{name}", action=action
        )
        if not decision.allowed:
            raise Problem(
                403,
                f"{caller.shown} may not {action.removeprefix('api:')} tenant {name}: "
                + decision.explain(),
            )

    def _validate(self, name: str, spec: TenantSpec) -> None:
        problems = validation.check_name(name, self.platform_namespace)
        problems |= validation.check_spec(
            spec,
            platform_namespace=self.platform_namespace,
            max_quota=self.settings.max_quota,
            max_count=self.settings.max_count,
            allowed_schemes=self.allowed_schemes,
            bounds=self.bounds,
        )
        if spec.source is not None and "spec.source.url" not in problems:
            decision = self.gate.check("source", [f"tenant:{name}"], spec.source.url)
            if not decision.allowed:
                problems["spec.source.url"] = f"not allowed by policy: {decision.explain()}"
        if problems:
            raise Problem(422, f"tenant {name} is not valid: nothing was committed", problems)

    def _check_namespaces(
        self, name: str, spec: TenantSpec, index: dict[str, documents.TenantFile]
    ) -> None:
        wanted = spec.namespaces or (name,)
        taken: dict[str, str] = {}
        for other in index.values():
            if other.name == name:
                continue
            theirs = other.spec.get("namespaces") or [other.name]
            for ns in wanted:
                if ns in theirs:
                    taken[ns] = f"claimed by tenant {other.name} ({other.path})"
        for ns in wanted:
            if ns in taken:
                continue
            live = self.kube.get("v1", "Namespace", ns)
            if live is None:
                continue
            owner = (live["metadata"].get("labels") or {}).get(labels.TENANT)
            if owner != name:
                taken[ns] = (
                    f"belongs to tenant {owner}"
                    if owner
                    else "exists and was not created by Landlord"
                )
        if taken:
            raise Problem(
                409,
                f"namespace(s) {', '.join(sorted(taken))} are taken",
                {"spec.namespaces": "; ".join(f"{ns}: {why}" for ns, why in sorted(taken.items()))},
            )

    def _editable(
        self, caller: Caller, action: str, name: str, index: dict[str, documents.TenantFile]
    ) -> documents.TenantFile:
        current = index.get(name)
        self._authorize(caller, action, name, owner=current is not None and _owns(caller, current))
        if current is None:
            raise Problem(404, f"tenant {name} is not defined in the platform repository")
        if not current.alone:
            raise Problem(
                409,
                f"{current.path} defines more than tenant {name}; change it in Git by hand",
            )
        return current

    def _annotations(
        self, name: str, caller: Caller, context: RequestContext, operation: str
    ) -> dict[str, str]:
        """The request's annotations; its traceparent only with the API's signature beside it."""
        traceparent = context.traceparent
        signature = None
        if traceparent and self.trace_signer is not None:
            subject = telemetry.tracing.subject(TENANT, None, name)
            signature = self.trace_signer.sign(subject, traceparent)
        return documents.request_annotations(
            request_id=context.request_id,
            traceparent=traceparent if signature else None,
            traceparent_signature=signature,
            user=caller.user,
            time=context.time,
            operation=operation,
        )

    def _workspace(self) -> tuple[repository.Location, repository.Workspace]:
        location = repository.locate(self.kube, self.platform_namespace)
        if self._open is None or self._open[0] != location:
            self._open = (location, self.workspace_for(location))
            self._synced_at = 0.0
        return self._open

    def _index(
        self, location: repository.Location, workspace: repository.Workspace
    ) -> dict[str, documents.TenantFile]:
        """Every Tenant in the folder; files whose bytes did not change are not parsed again."""
        files = []
        for path in workspace.files(location.folder):
            content = workspace.read(path) or b""
            cached = self._parsed.get(path)
            if cached is None or cached[0] != content:
                cached = self._parsed[path] = (content, documents.parse(path, content))
            files.append(cached[1])
        return documents.index(files)

    def _read_index(self) -> dict[str, documents.TenantFile]:
        """For reads: the work tree (and the platform's location) at most 2 s old."""
        with self._lock:
            if self._open is None or time.monotonic() - self._synced_at > READ_FRESHNESS:
                location, workspace = self._workspace()
                workspace.sync()
                self._synced_at = time.monotonic()
            else:
                location, workspace = self._open
            return self._index(location, workspace)

    def _commit(
        self,
        operation: str,
        name: str,
        caller: Caller,
        context: RequestContext,
        change: Change,
        message: str,
    ) -> str | None:
        """Sync, compute the change, commit, push; again from the new tip if the push lost."""
        with self._lock:
            for attempt in range(1, self.settings.push_attempts + 1):
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
                        trailers=_trailers(caller, context, operation),
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
        raise Problem(
            409,
            f"the platform repository moved {self.settings.push_attempts} times while committing "
            f"tenant {name}; nothing was committed, retry the request",
        )

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

    def _accepted(
        self,
        operation: str,
        name: str,
        commit: str | None,
        context: RequestContext,
        wait: float | None,
    ) -> Accepted:
        accepted = Accepted(
            name=name,
            operation=operation,
            commit=commit,
            requestId=context.request_id,
            traceId=context.trace_id,
            message="committed" if commit else "no change: the spec already says so",
        )
        if wait is None:
            return accepted
        ready, status, message = self.wait(
            name, context.request_id if commit else None, operation, wait
        )
        return accepted.model_copy(update={"ready": ready, "status": status, "message": message})

    def wait(
        self, name: str, request_id: str | None, operation: str, timeout: float
    ) -> tuple[bool, dict[str, Any] | None, str]:
        """Until the Tenant carries this request and is Ready (or is gone, for a delete)."""
        deadline = time.monotonic() + min(timeout, self.settings.wait_timeout)
        with telemetry.span("api.wait", {"landlord.tenant": name}):
            while True:
                body = self.kube.get(api.API_VERSION, TENANT, name)
                if operation == "delete":
                    if body is None:
                        return True, None, "offboarded"
                    message = "the Tenant is still being offboarded"
                else:
                    ready, message = _ready_for(body, request_id)
                    if ready:
                        return True, (body or {}).get("status"), "Ready"
                if time.monotonic() >= deadline:
                    return False, (body or {}).get("status"), f"not done in time: {message}"
                time.sleep(WAIT_POLL)

    def _view(self, current: documents.TenantFile, live: dict[str, Any] | None) -> TenantView:
        status = (live or {}).get("status")
        ready, _ = _ready_for(live, None)
        return TenantView(
            name=current.name, path=current.path, spec=current.spec, status=status, ready=ready
        )

    def _count(self, operation: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.api_commits_total.labels(operation=operation, result=result).inc()


def _ready_for(body: dict[str, Any] | None, request_id: str | None) -> tuple[bool, str]:
    if body is None:
        return False, "the Tenant is not in the cluster yet (the platform sync applies the commit)"
    annotations = body["metadata"].get("annotations") or {}
    if request_id is not None and annotations.get(labels.REQUEST_ID) != request_id:
        return False, "the platform sync has not applied the commit yet"
    ready = conditions.get((body.get("status") or {}).get("conditions") or [], conditions.READY)
    if not ready:
        return False, "the Tenant has no Ready condition yet"
    current = ready.get("observedGeneration") == body["metadata"].get("generation")
    if ready.get("status") == "True" and current:
        return True, "Ready"
    return False, f"{ready.get('reason')}: {ready.get('message')}"


def _trailers(caller: Caller, context: RequestContext, operation: str) -> dict[str, str]:
    """The commit's trailers, each value one bounded line: a caller cannot add a trailer."""
    trailers = {
        "Landlord-Operation": operation,
        "Landlord-Requested-By": caller.user,
        "Landlord-Request-Id": context.request_id,
    }
    if context.trace_id:
        trailers["Landlord-Trace-Id"] = context.trace_id
    return {key: text.one_line(value) for key, value in trailers.items()}


def _spec_of(raw: object) -> TenantSpec | None:
    try:
        return TenantSpec.model_validate(raw or {})
    except pydantic.ValidationError:
        return None


def _owns(caller: Caller, current: documents.TenantFile) -> bool:
    return caller.owns(_spec_of(current.spec))


def _spec_fields(error: pydantic.ValidationError) -> dict[str, str]:
    return {
        "spec." + ".".join(str(part) for part in item["loc"]) if item["loc"] else "spec": item[
            "msg"
        ]
        for item in error.errors()
    }


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder}/{name}"
