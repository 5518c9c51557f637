"""Onboarding operations: authorize, validate, commit to the platform repository, wait.

One :class:`Onboarding` per process. Each refusal is a domain error from
:mod:`landlord.errors` (``NotFoundError``, ``ConflictError``, ``InvalidError``,
``ForbiddenError``…); only the HTTP layer (:mod:`.http_errors`) turns one into
a status code. Writes go through :class:`~.commits.TenantFiles`, which
serializes them and computes a change again when its push loses a race.
"""

from __future__ import annotations

from typing import Any

import pydantic

from landlord import api, errors, kube, policy, telemetry
from landlord.api import labels
from landlord.api import tenant as tenant_api
from landlord.api.tenant import TenantSpec, taken_namespaces
from landlord.gitops import durations
from landlord.onboarding import documents, readiness, repository, validation
from landlord.onboarding.commits import Index, TenantFiles
from landlord.onboarding.context import RequestContext
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

TENANT = readiness.TENANT


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
        self.files = TenantFiles(
            kube_client,
            workspace_for,
            platform_namespace=platform_namespace,
            push_attempts=settings.push_attempts,
            metrics=metrics,
        )

    # -- reads ---------------------------------------------------------------

    def get(self, caller: Caller, name: str) -> TenantView:
        """The tenant's spec from Git and status from the cluster."""
        index = self.files.read()
        current = index.get(name)
        self._authorize(
            caller, "api:get", name, owner=current is not None and _owns(caller, current)
        )
        if current is None:
            raise errors.NotFoundError(f"tenant {name} is not defined in the platform repository")
        return self._view(current, self.kube.get(api.API_VERSION, TENANT, name))

    def list(self, caller: Caller) -> TenantList:
        """Every tenant for callers who may list; otherwise the ones they own and may read."""
        index = self.files.read()
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
        """Commit ``tenants/<name>.yaml``; a ConflictError if the name (or a namespace) is taken."""
        name = request.name
        self._authorize(caller, "api:create", name, owner=False)
        self._validate(name, request.spec)
        spec = documents.spec_document(request.spec)

        def change(
            location: repository.Location,
            workspace: repository.Workspace,
            index: Index,
        ) -> dict[str, bytes | None]:
            if name in index:
                raise errors.ConflictError(
                    f"tenant {name} already exists (defined in {index[name].path})",
                    fields={"name": "already exists"},
                )
            if self.kube.get(api.API_VERSION, TENANT, name) is not None:
                raise errors.ConflictError(
                    f"a Tenant {name} exists in the cluster but not in the platform repository; "
                    "remove it or choose another name",
                    fields={"name": "already exists in the cluster"},
                )
            self._check_namespaces(name, request.spec, index)
            path = _join(location.folder, f"{name}.yaml")
            if workspace.read(path) is not None:
                raise errors.ConflictError(
                    f"{path} already exists in the platform repository",
                    fields={"name": "file exists"},
                )
            return {
                path: documents.render(
                    name, spec, self._annotations(name, caller, context, "create")
                )
            }

        context = context.asking("create", name, request.model_dump(mode="json"))
        commit, replayed = self.files.commit(
            "create", name, caller, context, change, f"Onboard tenant {name}"
        )
        return self._accepted("create", name, commit, context, wait, replayed=replayed)

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
            raise errors.InvalidError(
                "nothing to change",
                fields={
                    "body": "give at least one of owners, quota, namespaces, source, sync, suspend"
                },
            )
        self._authorize(caller, "api:update", name, owner=True)  # cheap refusal before Git

        def change(
            location: repository.Location,
            workspace: repository.Workspace,
            index: Index,
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
                raise errors.InvalidError(
                    "the changed spec is not valid", fields=_spec_fields(error)
                ) from None
            self._validate(name, spec)
            self._check_namespaces(name, spec, index)
            if merged == current.spec:
                return {}
            annotations = self._annotations(name, caller, context, "update")
            return {current.path: documents.render(name, merged, annotations, current.labels)}

        context = context.asking("update", name, patch.model_dump(mode="json", exclude_unset=True))
        commit, replayed = self.files.commit(
            "update", name, caller, context, change, f"Update tenant {name}: {', '.join(given)}"
        )
        return self._accepted("update", name, commit, context, wait, replayed=replayed)

    def delete(
        self, caller: Caller, name: str, context: RequestContext, *, wait: float | None
    ) -> Accepted:
        """Remove the tenant's file: the platform sync prunes the Tenant, which offboards it."""
        self._authorize(caller, "api:delete", name, owner=True)

        def change(
            location: repository.Location,
            workspace: repository.Workspace,
            index: Index,
        ) -> dict[str, bytes | None]:
            current = self._editable(caller, "api:delete", name, index)
            return {current.path: None}

        context = context.asking("delete", name, None)
        commit, replayed = self.files.commit(
            "delete", name, caller, context, change, f"Offboard tenant {name}"
        )
        return self._accepted("delete", name, commit, context, wait, replayed=replayed)

    def reconcile(self, caller: Caller, name: str, context: RequestContext) -> ReconcileRequested:
        """Ask the Tenant and its GitRepository and Kustomization to reconcile now."""
        live = self.kube.get(api.API_VERSION, TENANT, name)
        owner = live is not None and caller.owns(_spec_of(live.get("spec")))
        self._authorize(caller, "api:reconcile", name, owner=owner)
        if live is None:
            raise errors.NotFoundError(f"there is no Tenant {name} in the cluster (yet)")
        home = ((live.get("status") or {}).get("namespaces") or [name])[0]
        patch = {"metadata": {"annotations": {labels.REQUESTED_AT: context.time}}}
        touched = []
        objects: list[tuple[str, str | None]] = [
            (TENANT, None),
            *((kind, home) for kind in tenant_api.SYNC_KINDS),
        ]
        for kind, namespace in objects:
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
            raise errors.ForbiddenError(
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
            # The spelling the operator fetches: a deny line cannot be written around.
            url = validation.canonical_url(spec.source.url)
            decision = self.gate.check("source", [f"tenant:{name}"], url)
            if not decision.allowed:
                problems["spec.source.url"] = f"not allowed by policy: {decision.explain()}"
        if problems:
            raise errors.InvalidError(
                f"tenant {name} is not valid: nothing was committed", fields=problems
            )

    def _check_namespaces(self, name: str, spec: TenantSpec, index: Index) -> None:
        wanted = spec.namespaces or (name,)
        taken: dict[str, str] = {}
        for other in index.values():
            if other.name == name:
                continue
            theirs = other.spec.get("namespaces") or [other.name]
            for ns in wanted:
                if ns in theirs:
                    taken[ns] = f"claimed by tenant {other.name} ({other.path})"
        unclaimed = [ns for ns in wanted if ns not in taken]
        owners: dict[str, str | None] = {}
        for ns in unclaimed:
            live = self.kube.get("v1", "Namespace", ns)
            if live is not None:
                owners[ns] = (live["metadata"].get("labels") or {}).get(labels.TENANT)
        taken.update(taken_namespaces(name, unclaimed, owners))
        if taken:
            raise errors.ConflictError(
                f"namespace(s) {', '.join(sorted(taken))} are taken",
                fields={
                    "spec.namespaces": "; ".join(
                        f"{ns}: {why}" for ns, why in sorted(taken.items())
                    )
                },
            )

    def _editable(
        self, caller: Caller, action: str, name: str, index: Index
    ) -> documents.TenantFile:
        current = index.get(name)
        self._authorize(caller, action, name, owner=current is not None and _owns(caller, current))
        if current is None:
            raise errors.NotFoundError(f"tenant {name} is not defined in the platform repository")
        if not current.alone:
            raise errors.ConflictError(
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

    def _accepted(
        self,
        operation: str,
        name: str,
        commit: str | None,
        context: RequestContext,
        wait: float | None,
        *,
        replayed: bool = False,
    ) -> Accepted:
        message = "committed" if commit else "no change: the spec already says so"
        if replayed:
            message = f"already {message} by the first request with this Idempotency-Key"
        accepted = Accepted(
            name=name,
            operation=operation,
            commit=commit,
            requestId=context.request_id,
            traceId=context.trace_id,
            message=message,
            replayed=replayed,
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
        return readiness.wait(
            self.kube, name, request_id, operation, min(timeout, self.settings.wait_timeout)
        )

    def _view(self, current: documents.TenantFile, live: dict[str, Any] | None) -> TenantView:
        status = (live or {}).get("status")
        ready, _ = readiness.ready_for(live, None)
        return TenantView(
            name=current.name, path=current.path, spec=current.spec, status=status, ready=ready
        )


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
