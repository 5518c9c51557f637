"""A sync that applies nothing: what ``landlord build`` prints and ``landlord diff`` shows.

The same steps as :mod:`landlord.sync.reconciler`, in the same order, with the
same client: names and spec → identity (the Kustomization's service account,
impersonated; :class:`~landlord.sync.steps.identity.Identity`) → source (a
local folder, or the source's current revision fetched here) → build (the
sandboxed kustomize of :mod:`landlord.sync.steps.build`) → encrypted documents
→ object budget → postBuild substitution (variables read as the tenant) →
validation (namespaces, names, kinds the cluster serves, and the Casbin kinds
check when a policy is given) → the owner labels. :func:`diff` then does what
the apply and prune steps would do, up to their first write: the live objects
read as the tenant, a server-side dry-run of every object that would change
(:func:`landlord.sync.steps.apply.dry_run`), and the inventory entries prune
would delete (:func:`landlord.sync.steps.prune.verdict`).

What a preview does not do: decrypt (SOPS values become
:data:`~landlord.sync.compare.PLACEHOLDER`), wait for dependencies, check
health, or touch a cluster other than the caller's. Nothing is written: every
request is a read or a ``dryRun=All`` apply.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import pathlib
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar

import pydantic

from landlord import api, errors, policy
from landlord import git as git_mod
from landlord.api import gitrepository, invalid, labels, names, reasons
from landlord.api import kustomization as model
from landlord.git import urls
from landlord.git.credentials import Credentials
from landlord.gitops import artifacts, budgets, durations, validate
from landlord.gitops import sandbox as sandbox_mod
from landlord.gitops.redact import Redactor
from landlord.gitops.yamlsafe import Document
from landlord.kube import Kube, reviews
from landlord.kube.fleet import LOCAL, Fleet
from landlord.runtime.fanout import bounded_map
from landlord.runtime.namespaces import NamespaceLabels
from landlord.sync import compare, decryption
from landlord.sync import inventory as inventory_mod
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Entry, Inventory
from landlord.sync.steps import apply, build, prune, target, validation
from landlord.sync.steps.gatekeeper import Gatekeeper
from landlord.sync.steps.identity import Identity

KIND = model.KIND
# What is written to the JSON of a change (and how the table shows it).
Action = Literal["created", "drifted", "recreated", "pruned", "unchanged", "skipped", "kept"]
CHANGES: frozenset[str] = frozenset({"created", "drifted", "recreated", "pruned"})
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Parts:
    """What a preview is built from: the caller's client and the platform's settings."""

    kube: Kube  # the caller: reads the Kustomization, its source, namespaces; never tenant objects
    platform_namespace: str
    kustomize: pathlib.Path | None
    sandbox: sandbox_mod.Sandbox
    budgets: budgets.Budgets
    limits: artifacts.Limits  # the caps of the operator's artifact store
    bounds: durations.Bounds  # the platform's bounds on durations (a source's timeout)
    allowed_schemes: tuple[str, ...]  # of source URLs
    gate: policy.Gate | None = None  # a policy to check kinds and edges with (None: not checked)
    scratch: pathlib.Path | None = None  # where a fetched revision is unpacked (a temp folder)


@dataclasses.dataclass
class Built:
    """One Kustomization's revision, built, substituted and validated: what it would apply."""

    body: dict[str, Any]
    spec: model.KustomizationSpec
    tenant: Kube  # impersonates the Kustomization's service account
    account: str | None  # ``namespace/name`` of that account (None: the platform sync, as you)
    revision: str  # ``main@sha1:…``, or ``local folder DIR``
    manifests: list[dict[str, Any]]
    encrypted: list[str]  # the objects whose SOPS values are placeholders
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def owner(self) -> dict[str, str]:
        return prune.owner_labels(self.name, self.namespace)


@dataclasses.dataclass(frozen=True)
class Change:
    """What applying the revision would do to one object."""

    entry: Entry
    action: Action
    diff: str = ""  # a unified diff of the object as YAML, Secret values masked
    note: str = ""

    @property
    def changes(self) -> bool:
        return self.action in CHANGES

    @property
    def shown(self) -> str:
        where = f"{self.entry.namespace}/" if self.entry.namespace else ""
        return f"{self.entry.kind}/{where}{self.entry.name}"

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "object": self.shown,
            "apiVersion": self.entry.api_version,
            "kind": self.entry.kind,
            "namespace": self.entry.namespace or None,
            "name": self.entry.name,
            "action": self.action,
        }
        if self.diff:
            found["diff"] = self.diff
        if self.note:
            found["note"] = self.note
        return found


def load(kube: Kube, name: str, namespace: str) -> dict[str, Any]:
    """The Kustomization ``namespace/name``, read as the caller (NotFoundError if absent)."""
    body = kube.get(api.API_VERSION, KIND, name, namespace)
    if body is None:
        raise errors.NotFoundError(f"Kustomization {namespace}/{name} not found")
    return body


# -- build -----------------------------------------------------------------------


def build_revision(parts: Parts, body: dict[str, Any], local: pathlib.Path | None = None) -> Built:
    """What the Kustomization would apply, from ``local`` (its ``spec.path``) or its source.

    Raises :class:`SyncError` with the step's own reason (InvalidSpec, BuildFailed,
    DecryptionFailed, ValidationFailed, PolicyDenied…), exactly where the sync would.
    """
    namespace = body["metadata"]["namespace"]
    raw = body.get("spec") or {}
    problems = names.kustomization(raw)
    if problems:
        raise SyncError(reasons.INVALID_SPEC, names.summary(problems), stalled=True)
    try:
        spec = model.KustomizationSpec.of(body)
    except pydantic.ValidationError as error:
        raise SyncError(reasons.INVALID_SPEC, invalid.describe(error), stalled=True) from None
    if target.requested(raw):
        where = spec.cluster or "named by spec.kubeConfig"
        raise errors.TerminalError(
            f"Kustomization {namespace}/{body['metadata']['name']} applies to cluster {where}; "
            "a preview compares with the cluster of your kubeconfig only",
            hint="point your kubeconfig at that cluster's own Kustomization, if it has one",
        )
    notes: list[str] = []
    gatekeeper = _gatekeeper(parts)
    if parts.gate is not None:
        _unless_forbidden(
            lambda: gatekeeper.check_edges(namespace, spec),
            notes,
            "cross-namespace references were not checked against the policy",
        )
    tenant, account = _identity(parts, namespace, spec)
    if account is None:
        notes.append(
            "the platform sync runs with the operator's own identity; this preview ran as you"
        )
    with _root(parts, body, spec, tenant, local) as (revision, root, path):
        documents = build.build(
            root,
            spec.model_copy(update={"path": path}),
            kustomize=parts.kustomize,
            sandbox=parts.sandbox,
        )
    documents, encrypted = _encrypted(documents, spec)
    _unless_forbidden(
        lambda: gatekeeper.check_objects(namespace, len(documents)),
        notes,
        "the object budget was not checked",
    )
    variables = build.variables(tenant, namespace, spec.post_build)
    documents = build.substituted(documents, variables)
    allowed = _unless_forbidden(
        lambda: gatekeeper.allowed_namespaces(namespace),
        notes,
        "the tenant's namespaces were not checked (the dry-run as the tenant decides)",
    )
    scope = validate.Scope(
        default_namespace=namespace,
        allowed_namespaces=allowed,
        target_namespace=spec.target_namespace,
    )
    manifests = validation.manifests(tenant, documents, scope)
    if parts.gate is not None:
        _unless_forbidden(
            lambda: gatekeeper.check_kinds(namespace, manifests),
            notes,
            "the kinds were not checked against the policy",
        )
    validation.own(manifests, prune.owner_labels(body["metadata"]["name"], namespace))
    return Built(
        body,
        spec,
        tenant,
        account,
        revision,
        manifests,
        # validation keeps the documents' order, one manifest each
        [compare.name_of(m) for index, m in enumerate(manifests) if index in encrypted],
        notes,
    )


def _gatekeeper(parts: Parts) -> Gatekeeper:
    """The sync's gatekeeper, reading namespaces and Tenants as the caller."""
    return Gatekeeper(
        parts.kube,
        gate=parts.gate or policy.Gate(),
        platform_namespace=parts.platform_namespace,
        namespaces=NamespaceLabels(),
        budgets=parts.budgets,
    )


def _unless_forbidden(read: Callable[[], T], notes: list[str], skipped: str) -> T | None:
    """``read()``, or None and a note when the caller may not read what it needs."""
    try:
        return read()
    except errors.ApiError as error:
        if not error.forbidden:
            raise
        notes.append(f"{skipped}: you may not read what it needs ({error.message})")
        return None


def _identity(
    parts: Parts, namespace: str, spec: model.KustomizationSpec
) -> tuple[Kube, str | None]:
    """The client the sync would use (the identity step), and the account it acts as.

    Before any request as that account, the caller's right to impersonate it is
    asked: a refusal says so, and nothing is read or tried as the caller instead.
    """
    identity = Identity(parts.kube, platform_namespace=parts.platform_namespace)
    if namespace == parts.platform_namespace and not spec.service_account_name:
        return identity.client(namespace, None), None
    account = spec.service_account_name or labels.RECONCILER_SERVICE_ACCOUNT
    try:
        access = reviews.can(
            parts.kube, "impersonate", "serviceaccounts", namespace=namespace, name=account
        )
    except errors.ApiError:
        access = None  # no review: the first request as the account says whether it may
    if access is not None and not access.allowed:
        raise errors.ForbiddenError(
            f"you may not impersonate the service account {namespace}/{account}: a preview "
            "reads and dry-runs the tenant's objects only as the Kustomization's service "
            "account, never as you; nothing was read or tried",
            hint=f"it needs `impersonate` on serviceaccounts/{account} in namespace {namespace} "
            "(`kubectl auth can-i impersonate serviceaccount/"
            f"{account} -n {namespace}`)",
        )
    return identity.client(namespace, spec.service_account_name), f"{namespace}/{account}"


@contextlib.contextmanager
def _root(
    parts: Parts,
    body: dict[str, Any],
    spec: model.KustomizationSpec,
    tenant: Kube,
    local: pathlib.Path | None,
) -> Iterator[tuple[str, pathlib.Path, str]]:
    """(revision, the folder to build in, the path in it): a local folder, or the source's."""
    if local is not None:
        root, path = local_root(local)
        yield f"local folder {local}", root, path
        return
    with tempfile.TemporaryDirectory(prefix="landlord-preview-", dir=parts.scratch) as scratch:
        revision, root = fetch_source(parts, body, spec, tenant, pathlib.Path(scratch))
        yield revision, root, spec.path


def local_root(folder: pathlib.Path) -> tuple[pathlib.Path, str]:
    """Where to build a local folder that stands for ``spec.path``: (root, path in the root).

    The root is the Git checkout the folder is in (as the artifact is the whole
    repository, so ``../base`` resolves as it does in the sync), else the folder itself.
    """
    resolved = folder.resolve()
    if not resolved.is_dir():
        raise SyncError(reasons.BUILD_FAILED, f"--path {folder} is not a folder")
    for candidate in (resolved, *resolved.parents):
        if (candidate / ".git").exists():
            relative = resolved.relative_to(candidate).as_posix()
            return candidate, "./" if relative == "." else f"./{relative}"
    return resolved, "./"


def fetch_source(
    parts: Parts,
    body: dict[str, Any],
    spec: model.KustomizationSpec,
    tenant: Kube,
    scratch: pathlib.Path,
) -> tuple[str, pathlib.Path]:
    """The source's current revision (its ``status.artifact``), fetched into ``scratch``.

    The operator's artifact store is not reachable from a workstation, so the
    revision is fetched again: the same URL, the exact commit, the credentials
    Secret read as the Kustomization's service account, ``git archive`` in the
    sandbox and the same ignore rules and caps as the operator's store.
    """
    own = body["metadata"]["namespace"]
    where, name = spec.source_namespace(own), spec.source_ref.name
    if spec.source_ref.kind != gitrepository.KIND:
        raise SyncError(
            reasons.ARTIFACT_FAILED,
            f"{spec.source_ref.kind} {where}/{name}: only a GitRepository's revision is fetched "
            "here; pull the artifact yourself (e.g. `flux pull artifact`) and build it with --path",
        )
    shown = f"GitRepository {where}/{name}"
    source = parts.kube.get(api.API_VERSION, gitrepository.KIND, name, where)
    if source is None:
        raise SyncError(reasons.ARTIFACT_FAILED, f"{shown} not found")
    revision = str(((source.get("status") or {}).get("artifact") or {}).get("revision") or "")
    if not revision:
        raise SyncError(
            reasons.ARTIFACT_FAILED,
            f"{shown} has no artifact yet; build a local checkout with --path",
        )
    sha = revision.rpartition("sha1:")[2]
    try:
        source_spec = gitrepository.GitRepositorySpec.of(source)
    except pydantic.ValidationError as error:
        raise SyncError(reasons.INVALID_SPEC, invalid.describe(error)) from None
    url = source_spec.url
    secrets = [urls.url_credentials(url)[1] or ""]
    try:
        urls.validate_url(url, parts.allowed_schemes)
        credentials = _credentials(tenant, where, source_spec)
        if credentials is not None:
            secrets += credentials.secret_values()
        remote = git_mod.GitRemote(
            url,
            credentials,
            workdir=scratch / "git",
            timeout=durations.timeout(source_spec.durations(), "timeout", 60.0, parts.bounds),
        )
        remote.fetch(sha, sha)
        store = artifacts.ArtifactStore(scratch / "artifacts")
        with remote.open_archive(
            sha, parts.sandbox, max_bytes=artifacts.archive_cap(parts.limits)
        ) as archive:
            stored = store.store(
                where,
                name,
                artifacts.artifact_key(sha, source_spec.ignore),
                archive,
                ignore=source_spec.ignore,
                limits=parts.limits,
            )
    except (urls.InvalidSourceError, git_mod.GitError, artifacts.ArtifactError) as error:
        raise SyncError(
            reasons.ARTIFACT_FAILED,
            f"{shown}: revision {revision} could not be fetched here: "
            f"{urls.redact(error.message, secrets)}; build a local checkout with --path",
        ) from None
    return revision, stored.path


def _credentials(
    tenant: Kube, namespace: str, spec: gitrepository.GitRepositorySpec
) -> Credentials | None:
    """The source's credentials Secret, read as the Kustomization's service account."""
    if spec.secret_ref is None:
        return None
    name = spec.secret_ref.name
    try:
        secret = tenant.get("v1", "Secret", name, namespace)
    except errors.ApiError as error:
        if not error.forbidden:
            raise
        raise SyncError(
            reasons.ARTIFACT_FAILED,
            f"the source's credentials Secret {namespace}/{name} may not be read by the "
            "Kustomization's service account (it is read as that account, never as you); "
            "build a local checkout with --path",
        ) from None
    if secret is None:
        raise SyncError(
            reasons.SECRET_NOT_FOUND, f"Secret {namespace}/{name} (spec.secretRef) not found"
        )
    return Credentials.from_secret(secret.get("data"), name)


def _encrypted(
    documents: list[Document], spec: model.KustomizationSpec
) -> tuple[list[Document], set[int]]:
    """Documents with SOPS values replaced by placeholders, and the positions of those.

    Without ``spec.decryption`` an encrypted document fails the build as it fails
    the sync (DecryptionFailed); with it, the preview does not decrypt.
    """
    if spec.decryption is None:
        decryption.check(documents, decrypting=False, redactor=Redactor(), require_encrypted=False)
        return documents, set()
    found = {index for index, doc in enumerate(documents) if decryption.encrypted(doc.body)}
    masked = [
        dataclasses.replace(doc, body=compare.sops_masked(doc.body)) if index in found else doc
        for index, doc in enumerate(documents)
    ]
    return masked, found


# -- diff --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Diff:
    """What applying a built revision would change, object by object, and what prune would."""

    changes: list[Change]
    notes: list[str]

    @property
    def changed(self) -> bool:
        return any(change.changes for change in self.changes)


def diff(
    parts: Parts,
    built: Built,
    executor: concurrent.futures.Executor,
    *,
    in_flight: int,
) -> Diff:
    """Dry-run ``built`` as the tenant and compare; ApplyFailed when a dry-run is refused.

    As the apply step: every object is read as the tenant, those it already holds
    (or that opted out) are left, everything else is dry-run first, and one
    refusal fails the whole revision. Then the inventory entries the new
    revision leaves behind, each as prune would treat it.
    """
    notes: list[str] = []
    applied = _applied(built, executor, in_flight)
    pruned = _pruned(parts, built, executor, in_flight, notes)
    return Diff(applied + pruned, notes)


def _applied(built: Built, executor: concurrent.futures.Executor, in_flight: int) -> list[Change]:
    tenant = built.tenant
    # Only its reads are used: an Applier never writes unless asked to apply.
    reader = apply.Applier(executor, write_rate=1.0, write_burst=1, in_flight=in_flight)
    lives = reader.lives(tenant, built.manifests)
    prepared = [
        compare.with_live_values(m, live) for m, live in zip(built.manifests, lives, strict=True)
    ]
    todo = {id(m) for m in apply.changed(prepared, lives)}
    answers = bounded_map(
        executor,
        lambda m: _dry_run(tenant, m),
        [m for m in prepared if id(m) in todo],
        in_flight,
    )
    answered = iter(answers)
    encrypted = set(built.encrypted)
    changes: list[Change] = []
    failures: list[str] = []
    for manifest, live in zip(prepared, lives, strict=True):
        found = outcome(
            manifest,
            live,
            next(answered) if id(manifest) in todo else None,
            force=built.spec.force,
            encrypted=compare.name_of(manifest) in encrypted,
        )
        if isinstance(found, str):
            failures.append(found)
        else:
            changes.append(found)
    if failures:
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        raise SyncError(
            reasons.APPLY_FAILED,
            "the dry-run as the tenant was refused: " + "; ".join(failures[:5]) + more,
        )
    return changes


def _dry_run(tenant: Kube, manifest: dict[str, Any]) -> dict[str, Any] | errors.ApiError:
    try:
        return apply.dry_run(tenant, manifest)
    except errors.ApiError as error:
        return error


ENCRYPTED_NOTE = "SOPS-encrypted values: not decrypted, not compared"


def outcome(
    manifest: dict[str, Any],
    live: dict[str, Any] | None,
    answer: dict[str, Any] | errors.ApiError | None,
    *,
    force: bool,
    encrypted: bool = False,
) -> Change | str:
    """One object's change, or the failure the sync would report for it.

    ``answer``: the dry-run's (None: not dry-run, as the apply step leaves an
    object the live one holds already, or one that opted out).
    """
    entry = Entry.of(manifest)
    note = ENCRYPTED_NOTE if encrypted else ""
    if answer is None:
        if live is not None and (apply.disabled(live) or apply.disabled(manifest)):
            return Change(entry, "skipped", note=f"{labels.RECONCILE}: disabled")
        return Change(entry, "unchanged", note=note)
    if isinstance(answer, errors.ApiError):
        if not apply.immutable(answer):
            return f"{entry}: {answer.message}"
        opted = (manifest["metadata"].get("annotations") or {}).get(labels.FORCE) == "enabled"
        if not (force or opted):
            return (
                f"{entry}: {answer.message} (set spec.force or the annotation "
                f"{labels.FORCE}: enabled to recreate it)"
            )
        why = "spec.force" if force else f"{labels.FORCE}: enabled"
        return Change(
            entry, "recreated", note=f"an immutable field changes: deleted and created ({why})"
        )
    if live is None:
        return Change(entry, "created", note=note)
    text = compare.difference(live, answer)
    return Change(entry, "drifted" if text else "unchanged", diff=text, note=note)


def _pruned(
    parts: Parts,
    built: Built,
    executor: concurrent.futures.Executor,
    in_flight: int,
    notes: list[str],
) -> list[Change]:
    """The inventory entries of this cluster the revision no longer has, as prune sees them."""
    old = Inventory.from_status((built.body.get("status") or {}).get("inventory"))
    if old is None:
        return []
    # The inventory's own cluster is this one when the sync last applied here.
    here = (
        old.cluster
        if old.name in (LOCAL, "")
        else Fleet(parts.kube, platform_namespace=parts.platform_namespace).local_identity()
    )
    stale, elsewhere = inventory_mod.leftovers(old, Inventory.of(here, built.manifests, LOCAL))
    for group in elsewhere:
        notes.append(
            f"{len(group.entries)} objects recorded on cluster {group.name or group.cluster} "
            "wait to be pruned there (not previewed)"
        )
    if not built.spec.prune:
        return prune_plan(stale, [None] * len(stale), built.owner, enabled=False)
    lives = bounded_map(executor, lambda e: _read(built.tenant, e), stale, in_flight)
    return prune_plan(stale, lives, built.owner, enabled=True)


def _read(tenant: Kube, entry: Entry) -> dict[str, Any] | errors.ApiError | None:
    try:
        return tenant.get(entry.api_version, entry.kind, entry.name, entry.namespace or None)
    except errors.ApiError as error:
        return error


def prune_plan(
    stale: list[Entry],
    lives: list[dict[str, Any] | errors.ApiError | None],
    owner: dict[str, str],
    *,
    enabled: bool,
) -> list[Change]:
    """What prune would do with each stale entry, given its live object (read as the tenant)."""
    if not enabled:
        return [Change(entry, "kept", note="spec.prune is false") for entry in stale]
    plan: list[Change] = []
    for entry, live in zip(stale, lives, strict=True):
        if isinstance(live, errors.ApiError):
            plan.append(
                Change(
                    entry,
                    "kept",
                    note=f"cannot be read as the tenant ({live.message}): the prune would fail",
                )
            )
            continue
        decided = prune.verdict(live, owner)
        if decided == "delete":
            plan.append(Change(entry, "pruned"))
        elif decided == "terminating":
            plan.append(Change(entry, "skipped", note="already being deleted"))
        elif live is None:
            plan.append(Change(entry, "skipped", note="already gone"))
        elif prune.opted_out(live):
            plan.append(Change(entry, "kept", note=f"{labels.PRUNE}: disabled"))
        else:
            plan.append(
                Change(entry, "kept", note="not labelled as this Kustomization's: never pruned")
            )
    return plan
