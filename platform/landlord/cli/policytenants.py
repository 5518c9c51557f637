"""``landlord policy diff`` without ``--live``: the requests the platform repository implies.

For each Tenant of ``tenants/``, the requests the operator will make for it
(:func:`tenant_requests`, pure), and with a :class:`Fetcher` those its
repository's revision makes (:func:`artifact_requests`, pure): the kinds it
applies and the cross-namespace references of the Kustomizations and
HelmReleases in it. Apart from :mod:`landlord.cli.policyrequests` so that
``--live`` does not import the build, the sources and the tenant operator.

A tenant's repository is hostile: fetched and built with the operator's own
bounds (time, sizes, the build sandbox, the sources' network deny list), and
a failure is a warning that names the tenant, never a crash and never silent.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import pathlib
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic

from landlord import errors
from landlord import git as git_mod
from landlord.api import cluster as cluster_api
from landlord.api import kustomization as ks_model
from landlord.api import tenant as tenant_api
from landlord.cli.policyrequests import Gathered, RecordError
from landlord.git import network, urls
from landlord.gitops import artifacts, yamlsafe
from landlord.gitops import sandbox as sandbox_mod
from landlord.policy.requests import Request, Requester
from landlord.sources import refs, selection
from landlord.sync.failure import SyncError
from landlord.sync.steps import build
from landlord.tenants import reconciler as tenant_reconciler

# The kinds a tenant's repository may declare that make policy requests of their own.
_GROUP = "landlord.dev/"


# -- the platform repository's tenants/ --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tenants:
    """The Tenants of ``tenants/``, and which tenant each namespace belongs to."""

    tenants: tuple[tenant_api.Tenant, ...]
    owner_of: Mapping[str, str]  # namespace → tenant

    @classmethod
    def of(cls, tenants: Iterable[tenant_api.Tenant]) -> Tenants:
        found = tuple(sorted(tenants, key=lambda t: t.name))
        return cls(found, {ns: t.name for t in found for ns in t.namespaces})

    def subject(self, namespace: str) -> str:
        """The policy subject of objects in ``namespace`` (as ``policy.subject_for``)."""
        tenant = self.owner_of.get(namespace)
        return f"tenant:{tenant}" if tenant else f"namespace:{namespace}"

    def crosses(self, own: str, other: str) -> bool:
        """Whether a reference from ``own`` to ``other`` needs the policy (not one tenant's)."""
        if other == own:
            return False
        tenant = self.owner_of.get(own)
        return not (tenant and self.owner_of.get(other) == tenant)


def read_tenants(folder: pathlib.Path) -> tuple[Tenants, list[str]]:
    """Every Tenant in the YAML files under ``folder``; warnings for the ones that do not parse."""
    if not folder.is_dir():
        raise RecordError(
            f"--tenants {folder} is not a folder",
            hint="give the platform repository's tenants/ folder with --tenants, or use --live",
        )
    warnings: list[str] = []
    found: dict[str, tenant_api.Tenant] = {}
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    for path in files:
        shown = path.relative_to(folder).as_posix()
        try:
            documents = yamlsafe.load_all(path.read_text(), shown)
        except (OSError, UnicodeDecodeError, yamlsafe.YamlError) as error:
            warnings.append(f"{shown}: not read ({error}): its tenants were not replayed")
            continue
        for document in documents:
            body = document.body
            if body.get("kind") != tenant_api.KIND or not str(
                body.get("apiVersion", "")
            ).startswith(_GROUP):
                continue
            try:
                tenant = tenant_api.Tenant.from_object(body)
            except (pydantic.ValidationError, ValueError) as error:
                name = (body.get("metadata") or {}).get("name")
                warnings.append(
                    f"{shown}: Tenant {name!s:.80} is invalid (the operator refuses it too, "
                    f"asking nothing): {_first_line(error)}"
                )
                continue
            found[tenant.name] = tenant
    return Tenants.of(found.values()), warnings


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__


def _source_url(url: str, allowed_schemes: Iterable[str]) -> str:
    """The URL as the policy sees it (InvalidSourceError when the operator refuses it first)."""
    urls.validate_url(url, allowed_schemes)
    return urls.normalise(url).url


def tenant_requests(
    tenant: tenant_api.Tenant,
    tenants: Tenants,
    *,
    allowed_schemes: Iterable[str],
) -> tuple[list[Request], list[str]]:
    """What the operator asks for one Tenant's own objects, and warnings for what it cannot.

    Its GitRepository's URL (``source``), its Kustomization's cross-tenant
    dependsOn (``depend``) and remote cluster (``target``), its Helm
    repositories' URLs and releases' cross-tenant references, and each owner's
    onboarding API calls on it (``api:*``).
    """
    name, home = tenant.name, tenant.home_namespace
    subject = (f"tenant:{name}",)
    found: list[Request] = []
    warnings: list[str] = []
    spec = tenant.spec
    if spec.source is not None:
        try:
            url = _source_url(spec.source.url, allowed_schemes)
        except urls.InvalidSourceError as error:
            warnings.append(
                f"tenant {name}: its source URL is refused before the policy is asked "
                f"({error.message}): not replayed"
            )
        else:
            found.append(
                Request(subject, "source", url, "source", Requester("GitRepository", home, name))
            )
    if spec.sync is not None and spec.source is not None:
        requester = Requester("Kustomization", home, name)
        for dependency in spec.sync.depends_on:
            other = dependency.namespace or home
            if tenants.crosses(home, other):
                target = f"{other}/{dependency.name}"
                found.append(Request(subject, "depend", target, "depend", requester))
        if spec.sync.cluster and spec.sync.cluster != cluster_api.LOCAL:
            found.append(
                Request(subject, "target", f"clusters/{spec.sync.cluster}", "target", requester)
            )
    for repository in spec.helm_repositories:
        try:
            url = _source_url(repository.url, [*allowed_schemes, "oci"])
        except urls.InvalidSourceError as error:
            warnings.append(
                f"tenant {name}: HelmRepository {repository.name}'s URL is refused before the "
                f"policy is asked ({error.message}): not replayed"
            )
            continue
        found.append(
            Request(
                subject, "source", url, "source", Requester("HelmRepository", home, repository.name)
            )
        )
    for release in spec.helm_releases:
        body = release.model_dump(by_alias=True, exclude_none=True, exclude={"name"})
        found.extend(
            _helm_release_requests(Requester("HelmRelease", home, release.name), body, tenants)
        )
    # The owners' onboarding API calls, exactly as the tenant operator records them.
    owners = {"owners": [owner.model_dump(exclude_none=True) for owner in spec.owners]}
    for subjects, action, obj in tenant_reconciler.owner_requests(name, owners):
        found.append(Request(tuple(subjects), action, obj, "api", Requester("Tenant", "", name)))
    return found, warnings


def _ref(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _helm_release_requests(
    requester: Requester, spec: Mapping[str, Any], tenants: Tenants
) -> list[Request]:
    """A HelmRelease's cross-tenant chart source and dependsOn (``helm.release``)."""
    own = requester.namespace
    subject = (tenants.subject(own),)
    found: list[Request] = []
    chart_ref = _ref(spec.get("chartRef"))
    source = chart_ref or _ref(_ref(_ref(spec.get("chart")).get("spec")).get("sourceRef"))
    where, name = _text(source.get("namespace")) or own, _text(source.get("name"))
    if name and tenants.crosses(own, where):
        found.append(Request(subject, "source", f"{where}/{name}", "source", requester))
    for dependency in spec.get("dependsOn") or []:
        dependency = _ref(dependency)
        where, name = _text(dependency.get("namespace")) or own, _text(dependency.get("name"))
        if name and tenants.crosses(own, where):
            found.append(Request(subject, "depend", f"{where}/{name}", "depend", requester))
    return found


def _kind_object(manifest: Mapping[str, Any]) -> str | None:
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
        return None
    return f"{api_version.rpartition('/')[0] or 'core'}/{kind}"


def artifact_requests(
    tenant: tenant_api.Tenant,
    manifests: Iterable[Mapping[str, Any]],
    tenants: Tenants,
    *,
    allowed_schemes: Iterable[str],
) -> list[Request]:
    """What a tenant's revision makes the operator ask.

    The kinds its sync applies (``apply``, asked by the tenant's Kustomization),
    and for the Landlord objects in it: a GitRepository's URL, a Kustomization's
    cross-tenant sourceRef and dependsOn and remote cluster, a HelmRelease's
    cross-tenant chart source and dependsOn, each asked by that object.
    """
    home = tenant.home_namespace
    requester = Requester("Kustomization", home, tenant.name)
    subject = (f"tenant:{tenant.name}",)
    kinds: set[str] = set()
    nested: list[Request] = []
    for manifest in manifests:
        kind = _kind_object(manifest)
        if kind is None:
            continue
        kinds.add(kind)
        if not str(manifest.get("apiVersion")).startswith(_GROUP):
            continue
        metadata = _ref(manifest.get("metadata"))
        name = _text(metadata.get("name"))
        own = _text(metadata.get("namespace")) or home
        spec = _ref(manifest.get("spec"))
        if not name or tenants.owner_of.get(own) != tenant.name:
            # Outside the tenant's namespaces the operator applies nothing of the revision:
            # never a request in another tenant's name.
            continue
        who = Requester(str(manifest["kind"]), own, name)
        own_subject = (tenants.subject(own),)
        if manifest["kind"] == "GitRepository":
            try:
                url = _source_url(_text(spec.get("url")), allowed_schemes)
            except urls.InvalidSourceError:
                continue  # refused before the policy is asked
            nested.append(Request(own_subject, "source", url, "source", who))
        elif manifest["kind"] == "Kustomization":
            source = _ref(spec.get("sourceRef"))
            where = _text(source.get("namespace")) or own
            if _text(source.get("name")) and tenants.crosses(own, where):
                target = f"{where}/{_text(source.get('name'))}"
                nested.append(Request(own_subject, "source", target, "source", who))
            for dependency in spec.get("dependsOn") or []:
                dependency = _ref(dependency)
                where = _text(dependency.get("namespace")) or own
                if _text(dependency.get("name")) and tenants.crosses(own, where):
                    target = f"{where}/{_text(dependency.get('name'))}"
                    nested.append(Request(own_subject, "depend", target, "depend", who))
            cluster = _text(spec.get("cluster"))
            if cluster and cluster != cluster_api.LOCAL:
                nested.append(Request(own_subject, "target", f"clusters/{cluster}", "target", who))
        elif manifest["kind"] == "HelmRelease":
            nested.extend(_helm_release_requests(who, spec, tenants))
    applied = [Request(subject, "apply", kind, "apply", requester) for kind in sorted(kinds)]
    return applied + nested


# -- fetching a tenant's revision --------------------------------------------------------


class FetchError(Exception):
    """A tenant's revision could not be fetched or built here (a warning, not an error)."""


@dataclasses.dataclass(frozen=True)
class Fetcher:
    """Fetches and builds a tenant's repository at its ref, bounded as the operator is."""

    scratch: pathlib.Path
    sandbox: sandbox_mod.Sandbox
    kustomize: pathlib.Path | None
    limits: artifacts.Limits
    timeout: float  # each git step
    network_policy: network.NetworkPolicy | None = None  # None: anywhere

    def manifests(self, tenant: tenant_api.Tenant) -> list[dict[str, Any]]:
        """The documents the tenant's sync would apply (FetchError saying why not)."""
        source, sync = tenant.spec.source, tenant.spec.sync
        assert source is not None
        assert sync is not None
        work = pathlib.Path(tempfile.mkdtemp(prefix=f"{tenant.name}-", dir=self.scratch))
        shown = urls.redact(urls.strip_credentials(source.url))
        try:
            normalised = urls.normalise(source.url)
            shown = normalised.url
            resolution = (
                self.network_policy.check(normalised.url, normalised.host, normalised.port)
                if self.network_policy is not None
                else None
            )
            remote = git_mod.GitRemote(
                source.url, None, workdir=work / "git", timeout=self.timeout, resolution=resolution
            )
            ref = refs.Ref.from_spec(source.ref.given() if source.ref else None)
            target = selection.choose(ref, remote.ls_remote(), shown)
            remote.fetch(
                target.want,
                None if target.want == target.sha else target.sha,
                max_pack_bytes=self.limits.max_total_bytes + (1 << 20),
            )
            if remote.pack_size() > self.limits.max_total_bytes:
                raise FetchError(
                    f"its repository takes more than {self.limits.max_total_bytes} bytes"
                )
            store = artifacts.ArtifactStore(work / "artifacts")
            with remote.open_archive(
                target.sha, self.sandbox, max_bytes=artifacts.archive_cap(self.limits)
            ) as archive:
                stored = store.store(
                    tenant.home_namespace,
                    tenant.name,
                    artifacts.artifact_key(target.sha, None),
                    archive,
                    ignore=None,
                    limits=self.limits,
                )
            spec = ks_model.KustomizationSpec.model_validate(
                {"sourceRef": {"kind": "GitRepository", "name": tenant.name}, "path": sync.path}
            )
            documents = build.build(
                stored.path, spec, kustomize=self.kustomize, sandbox=self.sandbox
            )
        except SyncError as error:
            raise FetchError(f"{error.reason}: {error.message}") from None
        except network.BlockedAddressError as error:
            raise FetchError(
                f"{shown}: {error.detail}; the operator's sources may not connect there either "
                "(LANDLORD_SOURCES__DENIED_NETWORKS, LANDLORD_SOURCES__ALLOWED_NETWORKS)"
            ) from None
        except errors.LandlordError as error:  # Git, the sandbox, the artifact's caps, a URL
            raise FetchError(f"{shown}: {urls.redact(error.message)}") from None
        except (OSError, ValueError) as error:
            raise FetchError(f"{shown}: {_first_line(error)}") from None
        return [document.body for document in documents]


def from_tenants(
    folder: pathlib.Path,
    *,
    allowed_schemes: Iterable[str],
    fetcher: Fetcher | None,
    workers: int = 4,
) -> Gathered:
    """The requests the operator will make for the Tenants in ``folder`` (and their revisions)."""
    schemes = list(allowed_schemes)
    tenants, warnings = read_tenants(folder)
    gathered = Gathered(warnings=warnings)
    for tenant in tenants.tenants:
        found, problems = tenant_requests(tenant, tenants, allowed_schemes=schemes)
        gathered.requests.extend(found)
        gathered.warnings.extend(problems)
    synced = [t for t in tenants.tenants if t.spec.source is not None and t.spec.sync is not None]
    fetched = 0
    if fetcher is not None and synced:
        with concurrent.futures.ThreadPoolExecutor(
            max(1, min(workers, len(synced))), thread_name_prefix="policy-diff-fetch"
        ) as pool:
            futures = [pool.submit(fetcher.manifests, tenant) for tenant in synced]
            for tenant, future in zip(synced, futures, strict=True):  # in order: a stable report
                try:
                    manifests = future.result()
                except FetchError as problem:
                    gathered.warnings.append(
                        f"tenant {tenant.name}: its repository could not be fetched or built "
                        f"here ({problem}): the kinds and references in it were not replayed"
                    )
                    continue
                fetched += 1
                gathered.requests.extend(
                    artifact_requests(tenant, manifests, tenants, allowed_schemes=schemes)
                )
    what = f"{len(tenants.tenants)} tenant{'s' if len(tenants.tenants) != 1 else ''} in {folder}"
    if fetcher is None:
        what += " (their repositories not fetched: --no-fetch)"
    elif synced:
        what += f" and {fetched} of {len(synced)} tenant repositories"
    gathered.origins.append(what)
    if fetcher is None and synced:
        gathered.warnings.append(
            f"--no-fetch: the kinds and references in {len(synced)} tenant "
            f"repositor{'y' if len(synced) == 1 else 'ies'} were not replayed"
        )
    return gathered
