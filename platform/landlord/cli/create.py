"""``landlord create source git | kustomization | tenant``: write or apply one object.

The manifests are built and checked by pure functions (:func:`git_repository`,
:func:`kustomization`, :func:`tenant`): the api package's typed model first,
then the patterns and lengths of the CRD's own schema, so that ``--export``
prints only YAML the apiserver accepts. Without ``--export`` the object is
server-side applied (field manager ``landlord-cli``) and waited for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import click
import pydantic
import yaml
from rich.markup import escape

from landlord import api, errors, kube
from landlord.api import conditions, crds, gitrepository, kustomization
from landlord.api import tenant as tenant_api
from landlord.cli import console, tenant
from landlord.cli.output import FAILED

FIELD_MANAGER = "landlord-cli"
DEFAULT_TIMEOUT = 120.0

# What the CRDs' patterns ask for, in words.
PATTERNS = {
    r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$": "must be a duration such as 30s, 5m or 1h",
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": "must be a DNS-1123 label: lower-case letters, "
    "digits and '-', starting and ending with a letter or digit",
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$": "must be a "
    "DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with "
    "a letter or digit",
    r"^(https?|ssh)://.+$": "must be an https://, http:// or ssh:// URL",
}


# -- checking a manifest ------------------------------------------------------


def _schema_of(kind: str) -> dict[str, Any]:
    for crd in crds.load():
        if crd["spec"]["names"]["kind"] == kind:
            version = next(v for v in crd["spec"]["versions"] if v["name"] == api.VERSION)
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise KeyError(kind)


def schema_problems(schema: dict[str, Any], value: Any, where: str) -> dict[str, str]:
    """What the CRD's schema refuses in ``value``: required fields, types, patterns, lengths.

    Keyed by the field's path (``spec.url``); only the checks the CRDs use.
    """
    problems: dict[str, str] = {}
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        for field in schema.get("required") or []:
            if field not in value:
                problems[f"{where}.{field}"] = "required"
        for field, item in value.items():
            inner = (schema.get("properties") or {}).get(field)
            if inner is not None:
                problems.update(schema_problems(inner, item, f"{where}.{field}"))
    elif kind == "array" and isinstance(value, list):
        for index, item in enumerate(value):
            problems.update(schema_problems(schema.get("items") or {}, item, f"{where}[{index}]"))
    elif kind == "string":
        if not isinstance(value, str):
            problems[where] = f"must be a string, not {value!r}"
        elif "maxLength" in schema and len(value) > schema["maxLength"]:
            problems[where] = f"longer than {schema['maxLength']} characters"
        elif "pattern" in schema and not re.search(schema["pattern"], value):
            wanted = PATTERNS.get(schema["pattern"], f"must match {escape(schema['pattern'])}")
            problems[where] = f"{value!r} {wanted}"
        elif "enum" in schema and value not in schema["enum"]:
            problems[where] = f"{value!r} is not one of {', '.join(schema['enum'])}"
    return problems


def check(manifest: dict[str, Any], model: type[pydantic.BaseModel]) -> None:
    """Raise InvalidError naming each refused field: the typed model, then the CRD's schema.

    A Tenant's name must be a DNS-1123 label (it names its first namespace),
    any other object's a DNS-1123 subdomain.
    """
    metadata = manifest["metadata"]
    fields: dict[str, str] = {}
    try:
        if manifest["kind"] == tenant_api.KIND:
            tenant_api.check_dns_label(metadata["name"], "tenant name")
        else:
            tenant_api.check_subdomain(metadata["name"])
    except ValueError as error:
        fields["metadata.name"] = str(error)
    if "namespace" in metadata:
        try:
            tenant_api.check_dns_label(metadata["namespace"], "namespace")
        except ValueError as error:
            fields["metadata.namespace"] = str(error)
    try:
        model.model_validate(manifest["spec"])
    except pydantic.ValidationError as error:
        for item in error.errors():
            where = ".".join(["spec", *(str(part) for part in item["loc"])])
            fields[where] = item["msg"]
    if not fields:
        spec_schema = _schema_of(manifest["kind"])["properties"]["spec"]
        fields = schema_problems(spec_schema, manifest["spec"], "spec")
    if fields:
        detail = "; ".join(f"{where}: {problem}" for where, problem in fields.items())
        raise errors.InvalidError(
            f"{manifest['kind']} {metadata['name']} refused: {detail}", fields=fields
        )


def _manifest(kind: str, name: str, namespace: str | None, spec: dict[str, Any]) -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api.API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


# -- the manifests ------------------------------------------------------------


def git_repository(
    name: str,
    namespace: str,
    *,
    url: str,
    branch: str | None = None,
    tag: str | None = None,
    semver: str | None = None,
    commit: str | None = None,
    interval: str = gitrepository.DEFAULT_INTERVAL,
    secret_ref: str | None = None,
) -> dict[str, Any]:
    """A checked GitRepository (following ``main`` when no ref is given)."""
    given = {"branch": branch, "tag": tag, "semver": semver, "commit": commit}
    ref = {key: value for key, value in given.items() if value}
    spec: dict[str, Any] = {
        "url": url,
        "ref": ref or {"branch": gitrepository.DEFAULT_BRANCH},
        "interval": interval,
    }
    if secret_ref:
        spec["secretRef"] = {"name": secret_ref}
    manifest = _manifest(gitrepository.KIND, name, namespace, spec)
    check(manifest, gitrepository.GitRepositorySpec)
    return manifest


def parse_source(text: str) -> tuple[str, str | None]:
    """``[GitRepository/]NAME[.NAMESPACE]`` → (name, namespace or None)."""
    kind, slash, rest = text.rpartition("/")
    if slash and kind.lower() != gitrepository.KIND.lower():
        raise click.BadParameter(
            f"{text!r}: only GitRepository sources are supported", param_hint="--source"
        )
    name, dot, namespace = rest.rpartition(".")
    if not dot:
        name, namespace = rest, ""
    if not name:
        raise click.BadParameter(
            f"{text!r}: use [GitRepository/]NAME[.NAMESPACE]", param_hint="--source"
        )
    return name, namespace or None


def parse_dependency(text: str) -> dict[str, str]:
    """``[NAMESPACE/]NAME`` → a dependsOn entry."""
    namespace, slash, name = text.rpartition("/")
    if not name or (slash and not namespace):
        raise click.BadParameter(f"{text!r}: use NAME or NAMESPACE/NAME", param_hint="--depends-on")
    return {"name": name, **({"namespace": namespace} if namespace else {})}


def kustomization_manifest(
    name: str,
    namespace: str,
    *,
    source: str,
    path: str = kustomization.DEFAULT_PATH,
    interval: str = kustomization.DEFAULT_INTERVAL,
    prune: bool = True,
    depends_on: tuple[str, ...] = (),
    target_namespace: str | None = None,
    service_account: str | None = None,
    decryption_secret: str | None = None,
) -> dict[str, Any]:
    """A checked Kustomization applying ``path`` of the GitRepository ``source`` names."""
    source_name, source_namespace = parse_source(source)
    spec: dict[str, Any] = {
        "sourceRef": {
            "kind": gitrepository.KIND,
            "name": source_name,
            **({"namespace": source_namespace} if source_namespace else {}),
        },
        "path": path,
        "interval": interval,
        "prune": prune,
    }
    if depends_on:
        spec["dependsOn"] = [parse_dependency(item) for item in depends_on]
    if target_namespace:
        spec["targetNamespace"] = target_namespace
    if service_account:
        spec["serviceAccountName"] = service_account
    if decryption_secret:
        spec["decryption"] = {"provider": "sops", "secretRef": {"name": decryption_secret}}
    manifest = _manifest(kustomization.KIND, name, namespace, spec)
    check(manifest, kustomization.KustomizationSpec)
    return manifest


def _owner(text: str) -> str:
    # ``ServiceAccount:NAME:NAMESPACE`` in `landlord tenant`'s form ``ServiceAccount:NS/NAME``;
    # User and Group names may hold colons themselves (``system:admin``).
    kind, _, rest = text.partition(":")
    name, colon, namespace = rest.rpartition(":")
    if kind == "ServiceAccount" and colon and name and "/" not in rest:
        return f"{kind}:{namespace}/{name}"
    return text


def tenant_manifest(
    name: str,
    *,
    namespaces: tuple[str, ...] = (),
    owners: tuple[str, ...] = (),
    source_url: str | None = None,
    source_branch: str | None = None,
    sync_path: str | None = None,
) -> dict[str, Any]:
    """A checked Tenant, its spec read as `landlord tenant create` reads its options."""
    if (source_branch or sync_path) and not source_url:
        raise click.UsageError("--source-branch and --sync-path need --source-url")
    spec = tenant._spec_from(
        file=None,
        namespaces=namespaces,
        owners=tuple(_owner(owner) for owner in owners),
        quota=(),
        source_url=source_url,
        branch=source_branch,
        path=sync_path,
    )
    manifest = _manifest(tenant_api.KIND, name, None, spec)
    check(manifest, tenant_api.TenantSpec)
    return manifest


# -- applying and waiting -----------------------------------------------------


def readiness(body: dict[str, Any]) -> tuple[bool | None, str]:
    """(True: Ready, False: failed for good, None: not yet) and the Ready message.

    Only a status written for the object's current generation counts; a Stalled
    condition there means no retry will make it Ready.
    """
    status = body.get("status") or {}
    found = status.get("conditions") or []
    ready = conditions.get(found, conditions.READY)
    if ready is None:
        return None, "not reconciled yet"
    message = f"{ready.get('reason', '')}: {ready.get('message', '')}".strip(": ")
    generation = int((body.get("metadata") or {}).get("generation") or 1)
    observed = status.get("observedGeneration", ready.get("observedGeneration"))
    if observed is not None and int(observed) < generation:
        return None, "waiting for the operator to see the new spec"
    if ready.get("status") == "True":
        return True, message
    stalled = conditions.get(found, conditions.STALLED) or {}
    return (False if stalled.get("status") == "True" else None), message


def _describe(manifest: dict[str, Any]) -> str:
    metadata = manifest["metadata"]
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{manifest['kind']} {where}{metadata['name']}"


def apply_and_wait(manifest: dict[str, Any], timeout: float) -> None:
    """Server-side apply ``manifest``, then wait until it is Ready (exit 1 if not in time)."""
    client = kube.connect()
    what = _describe(manifest)
    stored = client.apply(manifest, field_manager=FIELD_MANAGER)
    console.out.print(f"► applied {what}")
    console.out.print(f"◎ waiting for {what} to be Ready")
    metadata = manifest["metadata"]
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = stored
    while True:
        ready, message = readiness(body)
        if ready is True:
            console.out.print(f"✔ {what} is Ready: {message}", markup=False)
            return
        if ready is False or time.monotonic() >= deadline:
            late = "" if ready is False else f" after {timeout:g}s"
            console.out.print(f"✗ {what} is not Ready{late}: {message}", markup=False)
            raise SystemExit(FAILED)
        time.sleep(0.5)
        found = client.get(
            api.API_VERSION, manifest["kind"], metadata["name"], metadata.get("namespace")
        )
        if found is None:
            raise errors.TerminalError(f"{what} was deleted while waiting for it")
        body = found


def _finish(manifest: dict[str, Any], export: bool, timeout: float) -> None:
    if export:
        click.echo("---\n" + yaml.safe_dump(manifest, sort_keys=False), nl=False)
        return
    apply_and_wait(manifest, timeout)


# -- the commands -------------------------------------------------------------

_EXPORT_HELP = (
    "Print the YAML (for the platform repository or `kubectl apply -f`) and change nothing."
)


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--export", is_flag=True, help=_EXPORT_HELP)(command)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Seconds to wait for Ready after applying; exit 1 with the Ready message if not.",
    )(command)


def _namespace(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-n", "--namespace", default="default", show_default=True, help="Namespace of the object."
    )(command)


@click.group("create")
def create_group() -> None:
    """Create a source, a Kustomization or a tenant, or print it as YAML with --export.

    Without --export the object is server-side applied (field manager
    landlord-cli) and the command waits until it is Ready. Every value is checked
    first against Landlord's typed models and the CRD's schema: a refused value
    exits 1 naming the field.
    """


@create_group.group("source")
def source_group() -> None:
    """Create a source (a GitRepository)."""


@source_group.command("git")
@click.argument("name")
@click.option("--url", required=True, help="The repository: https://, http:// or ssh:// URL.")
@click.option("--branch", help="Follow this branch (the default: main).")
@click.option("--tag", help="Follow this tag.")
@click.option("--semver", help="Follow the highest tag in this semver range, e.g. '>=1.0.0 <2'.")
@click.option("--commit", help="Pin this commit SHA (with --branch: the commit on that branch).")
@click.option(
    "--interval",
    default=gitrepository.DEFAULT_INTERVAL,
    show_default=True,
    help="How often to fetch, a duration such as 30s, 5m or 1h.",
)
@click.option(
    "--secret-ref",
    help="A Secret in the namespace with the credentials: username and password, "
    "bearerToken, or identity and known_hosts (Flux's keys).",
)
@_namespace
@_common
def source_git_command(
    name: str,
    url: str,
    branch: str | None,
    tag: str | None,
    semver: str | None,
    commit: str | None,
    interval: str,
    secret_ref: str | None,
    namespace: str,
    export: bool,
    timeout: float,
) -> None:
    """Create GitRepository NAME: fetch --url at a branch, tag, semver range or commit.

    When several refs are given the most specific wins, as in Flux: commit, then
    semver, then tag, then branch.
    """
    manifest = git_repository(
        name,
        namespace,
        url=url,
        branch=branch,
        tag=tag,
        semver=semver,
        commit=commit,
        interval=interval,
        secret_ref=secret_ref,
    )
    _finish(manifest, export, timeout)


@create_group.command("kustomization")
@click.argument("name")
@click.option(
    "--source",
    required=True,
    metavar="[GitRepository/]NAME[.NAMESPACE]",
    help="The GitRepository to apply; .NAMESPACE for one in another namespace (the policy "
    "must allow it). A NAME with dots needs the .NAMESPACE.",
)
@click.option(
    "--path",
    default=kustomization.DEFAULT_PATH,
    show_default=True,
    help="The folder of the source to apply (plain YAML or a kustomization.yaml).",
)
@click.option(
    "--interval",
    default=kustomization.DEFAULT_INTERVAL,
    show_default=True,
    help="How often to apply again (repairing drift), a duration such as 5m.",
)
@click.option(
    "--prune/--no-prune",
    default=True,
    show_default=True,
    help="Delete what was applied before and is no longer in the source.",
)
@click.option(
    "--depends-on",
    multiple=True,
    metavar="[NAMESPACE/]NAME",
    help="A Kustomization that must be Ready first (repeat for several).",
)
@click.option("--target-namespace", help="Put every namespaced object in this namespace.")
@click.option(
    "--service-account",
    help="Apply as this service account of the namespace (default: the tenant's reconciler).",
)
@click.option(
    "--decryption-secret",
    help="Decrypt SOPS-encrypted files with the age keys of this Secret of the namespace.",
)
@_namespace
@_common
def kustomization_command(
    name: str,
    source: str,
    path: str,
    interval: str,
    prune: bool,
    depends_on: tuple[str, ...],
    target_namespace: str | None,
    service_account: str | None,
    decryption_secret: str | None,
    namespace: str,
    export: bool,
    timeout: float,
) -> None:
    """Create Kustomization NAME: apply --path of a GitRepository, as the namespace's tenant."""
    manifest = kustomization_manifest(
        name,
        namespace,
        source=source,
        path=path,
        interval=interval,
        prune=prune,
        depends_on=depends_on,
        target_namespace=target_namespace,
        service_account=service_account,
        decryption_secret=decryption_secret,
    )
    _finish(manifest, export, timeout)


@create_group.command("tenant")
@click.argument("name")
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="A namespace of the tenant (repeat; default: one named after the tenant). "
    "The first holds the tenant's GitRepository and Kustomization.",
)
@click.option(
    "--owner",
    "owners",
    multiple=True,
    metavar="KIND:NAME[:NAMESPACE]",
    help="An owner, bound to the owner role in every namespace: User:NAME, Group:NAME or "
    "ServiceAccount:NAME:NAMESPACE (or ServiceAccount:NAMESPACE/NAME, as `landlord tenant` "
    "takes it); repeat for several.",
)
@click.option("--source-url", help="The tenant's own Git repository, synced into its namespace.")
@click.option("--source-branch", help="Branch of --source-url (default: main).")
@click.option("--sync-path", help="Folder of --source-url to apply (default: ./).")
@_common
def tenant_command(
    name: str,
    namespaces: tuple[str, ...],
    owners: tuple[str, ...],
    source_url: str | None,
    source_branch: str | None,
    sync_path: str | None,
    export: bool,
    timeout: float,
) -> None:
    """Create Tenant NAME: namespaces, owners and, with --source-url, the tenant's own sync.

    With --export, the YAML is the file to commit under the platform repository's
    tenants/ folder. Without it, the Tenant is applied straight to the cluster;
    `landlord tenant create` instead commits it through the onboarding API.
    """
    manifest = tenant_manifest(
        name,
        namespaces=namespaces,
        owners=owners,
        source_url=source_url,
        source_branch=source_branch,
        sync_path=sync_path,
    )
    _finish(manifest, export, timeout)
