"""``landlord up``'s steps, on a control plane the command line has brought up.

Brings up a Git server, a Helm chart repository and an OCI registry on loopback, installs
Landlord, starts the operator, pushes a platform repository built from
``tenants/`` and ``policies/`` (a tenant with a source gets a demo repository;
a tenant's platform-provided Helm releases come from the demo's chart
repository) and bootstraps it — the operator
then reads its policy from that repository —, and onboards one more tenant
through the onboarding API (a commit to that repository). One tenant's repository
also holds image automation: the demo pushes a new tag of its image to the
registry and waits until the bump, committed back to that repository by
Landlord, is applied. Progress goes to a
``step(name, message)`` callback; the caller prints tables and waits.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import pathlib
import secrets
import shutil
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator

import yaml

from landlord import api, installer, kube
from landlord.api import conditions
from landlord.api import tenant as tenant_api
from landlord.client import ApiCallError, Client
from landlord.cluster import binaries, controlplane, ports, processes
from landlord.demo import secrets as demo_secrets
from landlord.demo.chartserver import ChartServer
from landlord.demo.gitserver import GitServer
from landlord.demo.registry import Registry
from landlord.installer import bootstrap
from landlord.settings import Settings
from landlord.tenants import sopskeys

StepFn = controlplane.StepFn

DEMO_ADMIN = "demo-admin"  # a service account in the platform namespace
DEMO_API_TENANT = "self-service"
DEMO_ADMIN_POLICY = f"""
# Added by `landlord up`: the demo's admin service account may use the onboarding API.
g, user:system:serviceaccount:landlord-system:{DEMO_ADMIN}, role:platform-admin
"""
READY_TIMEOUT = 90.0
KINDS = (tenant_api.KIND, *tenant_api.SYNC_KINDS)

DEMO_MANIFEST = """apiVersion: v1
kind: ConfigMap
metadata:
  name: welcome
data:
  message: pushed to the demo Git server, fetched by Landlord
"""


# The chart the demo's chart repository serves: the one tenants/storefront.yaml's
# platform-provided release installs (by helm, as storefront).
DEMO_CHART = "welcome"
DEMO_RELEASE = "welcome-chart"
DEMO_CHART_FILES = {
    "values.yaml": "message: installed by helm as the tenant's own service account\n",
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  message: {{ .Values.message | quote }}\n"
    ),
}


# The tenant whose repository gets the image automation loop (docs/image-automation.md):
# a Deployment whose image is marked for the ImagePolicy, and the three kinds that keep
# it current, pushed to the registry with a password made for each run.
DEMO_IMAGE_TENANT = "storefront"
DEMO_IMAGE = "app"
DEMO_REGISTRY_USER = "storefront-ci"
DEMO_IMAGE_FIRST, DEMO_IMAGE_NEXT = "1.0.0", "1.1.0"


def image_files(registry_host: str, tenant: str, namespace: str) -> dict[str, str]:
    """The Deployment and the image automation a tenant's repository holds for the demo."""
    image = f"{registry_host}/{tenant}/{DEMO_IMAGE}"
    marker = f'{{"$imagepolicy": "{namespace}:{DEMO_IMAGE}"}}'
    deployment = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {DEMO_IMAGE}
spec:
  replicas: 0  # the demo's nodes run nothing; the image is what this shows
  selector:
    matchLabels: {{app: {DEMO_IMAGE}}}
  template:
    metadata:
      labels: {{app: {DEMO_IMAGE}}}
    spec:
      containers:
        - name: {DEMO_IMAGE}
          # Kept current by the ImagePolicy below: Landlord commits each bump here.
          image: {image}:{DEMO_IMAGE_FIRST} # {marker}
"""
    automation = f"""# Scan the registry, pick the newest 1.x release, commit it back here.
apiVersion: landlord.dev/v1alpha1
kind: ImageRepository
metadata:
  name: {DEMO_IMAGE}
spec:
  image: {image}
  interval: 5s
  secretRef: {{name: registry-auth}}
  certSecretRef: {{name: registry-ca}}
---
apiVersion: landlord.dev/v1alpha1
kind: ImagePolicy
metadata:
  name: {DEMO_IMAGE}
spec:
  imageRepositoryRef: {{name: {DEMO_IMAGE}}}
  policy:
    semver: {{range: ">=1.0.0 <2.0.0"}}
---
apiVersion: landlord.dev/v1alpha1
kind: ImageUpdateAutomation
metadata:
  name: {DEMO_IMAGE}
spec:
  interval: 5s
  sourceRef: {{kind: GitRepository, name: {tenant}}}
  git:
    checkout: {{ref: {{branch: main}}}}
    commit:
      author: {{name: Landlord image automation, email: images@landlord.invalid}}
    push: {{branch: main}}
  update: {{path: ./, strategy: Setters}}
"""
    return {"app.yaml": deployment, "images.yaml": automation}


@dataclasses.dataclass(frozen=True)
class Demo:
    """A running demo: how to reach the cluster and the API."""

    client: kube.Kube
    api_url: str
    admin: str  # the service account allowed to use the API


def clear_leftovers(state_dir: pathlib.Path, step: StepFn) -> None:
    """The demo owns its state dir: a leftover from a killed run is cleared."""
    if controlplane.ControlPlane.load(state_dir.resolve()) is not None:
        step("demo", f"clearing leftover state in {state_dir}")
        controlplane.down(state_dir, step=step)


# What a demo run leaves in its state dir besides the control plane's own: the Git
# repositories (with whatever was pushed to them), charts, artifacts, the API's clones.
RUN_DIRS = ("git", "charts", "registry", "sources", "api")


def fresh_start(state_dir: pathlib.Path) -> None:
    """Every demo starts from the checkout's repositories, not the last run's pushes."""
    for name in RUN_DIRS:
        shutil.rmtree(state_dir / name, ignore_errors=True)


@contextlib.contextmanager
def running(
    settings: Settings,
    plane: controlplane.ControlPlane,
    *,
    tenants_dir: pathlib.Path,
    policies_dir: pathlib.Path,
    stop: threading.Event,
    step: StepFn,
) -> Iterator[Demo]:
    """Install, run the operator and the Git server, onboard; stop both on exit."""
    operator: processes.Record | None = None
    fresh_start(plane.state_dir)
    git = GitServer(plane.state_dir / "git").start()
    helm = binaries.find(
        "helm", cache_dir=settings.cluster.cache_dir, assets_dir=settings.cluster.assets_dir
    )
    charts = ChartServer(plane.state_dir / "charts", helm=helm).start() if helm else None
    registry_binary = binaries.find(
        "registry", cache_dir=settings.cluster.cache_dir, assets_dir=settings.cluster.assets_dir
    )
    registry_password = secrets.token_urlsafe(18)  # this run's; never written to the repo
    registry = (
        Registry(
            plane.state_dir / "registry",
            binary=registry_binary,
            users={DEMO_REGISTRY_USER: registry_password},
        ).start()
        if registry_binary
        else None
    )
    try:
        client = kube.connect(plane.kubeconfig)
        installer.install(
            client,
            platform_namespace=settings.platform_namespace,
            tenant_roles=settings.tenants.roles,
            pod_security_levels=settings.tenants.pod_security_levels,
        )
        step("landlord", "CRDs and operator RBAC installed")
        api_bind = _api_bind(settings)
        if charts is not None:
            charts.publish("demo", DEMO_CHART, "1.0.0", DEMO_CHART_FILES)
        if registry is not None:
            registry.push_image(f"{DEMO_IMAGE_TENANT}/{DEMO_IMAGE}", DEMO_IMAGE_FIRST)
            step("registry", f"serving images at {registry.host} (TLS, basic auth)")
        operator = _start_operator(
            plane,
            api_bind,
            git.base_url,
            charts.url("demo") if charts else None,
            registry.host if registry else None,
        )
        step("operator", f"running with the onboarding API on {api_bind} (log: {operator.log})")
        step("git", f"serving demo repositories at {git.base_url}")
        chart_url = charts.url("demo") if charts is not None else None
        pending: list[demo_secrets.PendingKey] = []
        names = (
            platform_repo(
                tenants_dir,
                git,
                policies_dir,
                chart_url=chart_url,
                sops=_sops_tools(settings),
                keys=pending,
                registry_host=registry.host if registry else None,
            )
            if tenants_dir.is_dir()
            else []
        )
        bootstrap.bootstrap(
            client,
            url=git.url("platform"),
            branch="main",
            path="tenants",
            platform_namespace=settings.platform_namespace,
        )
        step(
            "platform",
            f"bootstrapped {git.url('platform')} ({len(names)} tenants from {tenants_dir}/)",
        )
        if registry is not None and DEMO_IMAGE_TENANT in names:
            _registry_secrets(client, registry, registry_password, stop)
        for stored in demo_secrets.store_when_ready(client, pending, stop, READY_TIMEOUT):
            step("sops", f"age key stored in Secret {stored} (the private half nowhere else)")
        if names and not wait_ready(client, names, stop):
            step("tenants", "not all Ready yet; see the table")
        for key in pending:
            step("sops", _decrypted(client, key.tenant))
        if registry is not None and DEMO_IMAGE_TENANT in names:
            for line in _image_bump(client, registry, stop):
                step("images", line)
        released = _release_ready(client, stop)
        if released:
            step("helm", released)
        loaded = _policy_in_force(client, settings.platform_namespace)
        if loaded:
            step("policy", loaded)
        api_url = f"http://{api_bind}"
        _onboard_through_the_api(
            client, settings.platform_namespace, api_url, settings.api.audiences[0], step
        )
        if settings.api.ui:
            _status_page(
                client, settings.platform_namespace, api_url, settings.api.audiences[0], step
            )
        yield Demo(client=client, api_url=api_url, admin=DEMO_ADMIN)
    finally:
        if operator is not None:
            processes.stop(operator)
        git.stop()
        if charts is not None:
            charts.stop()
        if registry is not None:
            registry.stop()


def platform_repo(
    folder: pathlib.Path,
    git: GitServer,
    policies: pathlib.Path | None = None,
    *,
    chart_url: str | None = None,
    sops: demo_secrets.Tools | None = None,
    keys: list[demo_secrets.PendingKey] | None = None,
    registry_host: str | None = None,
) -> list[str]:
    """Push a platform repository built from ``folder`` (``tenants/``) and ``policies``.

    Tenants with a source get a demo repository of their own, and their
    ``spec.source.url`` points at it instead of the example host; with
    ``chart_url``, their ``spec.helmRepositories`` point at the demo's chart repository.
    A tenant whose sync decrypts also gets a Secret encrypted for a new age key
    (with ``sops``; the key is added to ``keys``, to store once the tenant exists);
    without sops, its sync does not decrypt. With ``registry_host``, the
    :data:`DEMO_IMAGE_TENANT`'s repository also holds :func:`image_files`, and
    Landlord may push to it.
    """
    names: list[str] = []
    files: dict[str, str | bytes | None] = {}
    for path in sorted(folder.glob("*.yaml")):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for document in documents:
            if document.get("kind") != tenant_api.KIND:
                continue
            name = document["metadata"]["name"]
            names.append(name)
            source = (document.get("spec") or {}).get("source")
            if source is not None:
                sync_path = ((document["spec"].get("sync") or {}).get("path") or ".").strip("/")
                target = f"{sync_path.removeprefix('.').strip('/')}/welcome.yaml".lstrip("/")
                first: dict[str, str | bytes | None] = {target: DEMO_MANIFEST}
                sync = document["spec"].get("sync") or {}
                decryption = sync.get("decryption")
                if decryption is not None and sops is not None and keys is not None:
                    secret_name = (decryption.get("secretRef") or {}).get("name") or "sops-age"
                    text, key = demo_secrets.encrypted_secret(sops, name, secret_name)
                    first[target.replace("welcome.yaml", demo_secrets.FILE)] = text
                    keys.append(key)
                elif decryption is not None:
                    sync.pop("decryption")  # no sops here: the demo shows no encrypted Secret
                images = registry_host is not None and name == DEMO_IMAGE_TENANT
                if images and registry_host is not None:
                    namespace = (document["spec"].get("namespaces") or [name])[0]
                    synced = target.rpartition("/")[0]
                    for file, content in image_files(registry_host, name, namespace).items():
                        first[f"{synced}/{file}".lstrip("/")] = content
                git.create(name, pushable=images)  # image automation commits to it
                git.commit(name, first, message="demo: first commit")
                source["url"] = git.url(name)
            for repository in (document.get("spec") or {}).get("helmRepositories") or []:
                if chart_url is not None:  # the demo's chart repository instead of the example's
                    repository["url"] = chart_url
        files[f"tenants/{path.name}"] = yaml.safe_dump_all(documents, sort_keys=False)
    if policies is not None and policies.is_dir():
        for path in sorted(p for p in policies.rglob("*") if p.is_file()):
            files[f"policies/{path.relative_to(policies).as_posix()}"] = path.read_text()
        if "policies/policy.csv" in files:
            files["policies/policy.csv"] = str(files["policies/policy.csv"]) + DEMO_ADMIN_POLICY
    git.create("platform", pushable=True)  # the onboarding API commits to it
    git.commit("platform", files, message="platform: tenants from the Landlord checkout")
    return names


def _onboard_through_the_api(
    client: kube.Kube, platform_namespace: str, api_url: str, audience: str, step: StepFn
) -> None:
    """Onboard one more tenant the self-service way: a call that commits to Git."""
    client.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": DEMO_ADMIN, "namespace": platform_namespace},
        },
        field_manager="landlord-demo",
    )
    # A token issued for the API's audience: the service account's ordinary one is refused.
    token = client.service_account_token(
        platform_namespace, DEMO_ADMIN, seconds=3600, audiences=[audience]
    )
    caller = Client(api_url, token, timeout=READY_TIMEOUT + 30, audience=audience)
    for _ in range(50):  # the API starts with the operator: give it a moment
        try:
            caller.call("GET", "/v1/tenants")
            break
        except ApiCallError:
            time.sleep(0.2)
    body = {"name": DEMO_API_TENANT, "spec": {"quota": {"pods": "10"}}}
    try:
        _, result = caller.call("POST", "/v1/tenants", body, wait=True, timeout=READY_TIMEOUT)
    except ApiCallError as error:
        step("api", f"onboarding {DEMO_API_TENANT} failed: {error}")
        return
    state = "Ready" if result.get("ready") else f"not Ready yet ({result.get('message')})"
    step(
        "api",
        f"onboarded {DEMO_API_TENANT} through {api_url}: commit {str(result.get('commit'))[:12]} "
        f"by system:serviceaccount:{platform_namespace}:{DEMO_ADMIN}, {state}",
    )


def _status_page(
    client: kube.Kube, platform_namespace: str, api_url: str, audience: str, step: StepFn
) -> None:
    """Where the status page is, and a token to sign in with (the demo's admin, for 8 hours)."""
    token = client.service_account_token(
        platform_namespace, DEMO_ADMIN, seconds=8 * 3600, audiences=[audience]
    )
    step("ui", f"status page: {api_url}/ui (read-only); sign in with this token (8 hours):")
    step("ui", token)


def _registry_secrets(
    client: kube.Kube, registry: Registry, password: str, stop: threading.Event
) -> None:
    """The registry's credentials and CA, in the image tenant's namespace once it exists."""
    data = {
        "registry-auth": {"username": DEMO_REGISTRY_USER.encode(), "password": password.encode()},
        "registry-ca": {"ca.crt": registry.ca_pem},
    }
    deadline = time.monotonic() + READY_TIMEOUT
    while client.get("v1", "Namespace", DEMO_IMAGE_TENANT) is None:
        if stop.is_set() or time.monotonic() > deadline:
            return
        stop.wait(0.2)
    for name, values in data.items():
        client.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": DEMO_IMAGE_TENANT},
                "data": {key: base64.b64encode(value).decode() for key, value in values.items()},
            },
            field_manager="landlord-demo",
        )


def _deployed_image(client: kube.Kube) -> str:
    live = client.get("apps/v1", "Deployment", DEMO_IMAGE, DEMO_IMAGE_TENANT) or {}
    containers = ((live.get("spec") or {}).get("template") or {}).get("spec", {}).get(
        "containers"
    ) or [{}]
    return str(containers[0].get("image") or "")


def _image_bump(client: kube.Kube, registry: Registry, stop: threading.Event) -> list[str]:
    """Push a new tag and follow it: the policy's pick, the commit, the applied Deployment."""
    image = f"{registry.host}/{DEMO_IMAGE_TENANT}/{DEMO_IMAGE}"
    deadline = time.monotonic() + READY_TIMEOUT
    while _deployed_image(client) != f"{image}:{DEMO_IMAGE_FIRST}":
        if stop.is_set() or time.monotonic() > deadline:
            return [
                f"Deployment {DEMO_IMAGE_TENANT}/{DEMO_IMAGE} not applied yet; see "
                f"`landlord get kustomizations -n {DEMO_IMAGE_TENANT}`"
            ]
        stop.wait(0.2)
    began = time.monotonic()
    registry.push_image(f"{DEMO_IMAGE_TENANT}/{DEMO_IMAGE}", DEMO_IMAGE_NEXT)
    deadline = began + READY_TIMEOUT
    while _deployed_image(client) != f"{image}:{DEMO_IMAGE_NEXT}":
        if stop.is_set() or time.monotonic() > deadline:
            return [
                f"pushed {image}:{DEMO_IMAGE_NEXT}; not applied yet: see `landlord get "
                f"imagepolicies -n {DEMO_IMAGE_TENANT}` and "
                f"`landlord events -n {DEMO_IMAGE_TENANT}`"
            ]
        stop.wait(0.1)
    automation = (
        client.get(api.API_VERSION, "ImageUpdateAutomation", DEMO_IMAGE, DEMO_IMAGE_TENANT) or {}
    )
    commit = str((automation.get("status") or {}).get("lastPushCommit") or "")[:12]
    return [
        f"pushed {image}:{DEMO_IMAGE_NEXT} → ImagePolicy {DEMO_IMAGE_TENANT}/{DEMO_IMAGE} "
        f"picked it → Landlord committed the bump ({commit}) to {DEMO_IMAGE_TENANT}'s repository",
        f"Deployment {DEMO_IMAGE_TENANT}/{DEMO_IMAGE} applied with :{DEMO_IMAGE_NEXT}, "
        f"{time.monotonic() - began:.1f} s after the push (`landlord get imageupdateautomations`)",
    ]


def _sops_tools(settings: Settings) -> demo_secrets.Tools | None:
    found = {
        name: binaries.find(
            name, cache_dir=settings.cluster.cache_dir, assets_dir=settings.cluster.assets_dir
        )
        for name in ("sops", "age-keygen")
    }
    sops, keygen = found["sops"], found["age-keygen"]
    return demo_secrets.Tools(sops, keygen) if sops and keygen else None


def _decrypted(client: kube.Kube, tenant: str) -> str:
    """What became of a tenant's encrypted demo Secret."""
    namespace = sopskeys.tenant_namespace(client, tenant)
    live = client.get("v1", "Secret", demo_secrets.SECRET_NAME, namespace)
    if live is None:
        return (
            f"{namespace}/{demo_secrets.SECRET_NAME} not applied yet; see "
            f"`landlord get kustomizations -n {namespace}`"
        )
    keys = ", ".join(sorted(live.get("data") or {}))
    return (
        f"Secret {namespace}/{demo_secrets.SECRET_NAME} ({keys}) committed SOPS-encrypted, "
        f"decrypted with {tenant}'s own age key as its reconciler account and applied"
    )


def _all_ready(client: kube.Kube, kind: str, names: list[str] | None = None) -> bool:
    items = client.list_objects(api.API_VERSION, kind)
    if names is not None:
        items = [item for item in items if item["metadata"]["name"] in names]
        if len(items) < len(names):
            return False
    return all(
        conditions.is_true((item.get("status") or {}).get("conditions") or [], conditions.READY)
        for item in items
    )


def wait_ready(client: kube.Kube, names: list[str], stop: threading.Event) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and not stop.is_set():
        if all(
            _all_ready(client, kind, names if kind == tenant_api.KIND else None) for kind in KINDS
        ):
            return True
        stop.wait(0.5)
    return False


def _release_ready(client: kube.Kube, stop: threading.Event) -> str | None:
    """Once the demo's HelmRelease is installed: who installed what (None: there is none)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and not stop.is_set():
        items = [
            item
            for item in client.list_objects(api.API_VERSION, "HelmRelease")
            if item["metadata"]["name"] == DEMO_RELEASE
        ]
        if not items:
            return None
        item = items[0]
        if conditions.ready_at_generation(item):
            namespace = item["metadata"]["namespace"]
            last = ((item.get("status") or {}).get("history") or [{}])[0]
            return (
                f"release {namespace}/{DEMO_RELEASE}.v{last.get('version')} "
                f"({last.get('chartName')}@{last.get('chartVersion')}) installed by helm as "
                f"system:serviceaccount:{namespace}:landlord-reconciler"
            )
        time.sleep(0.5)
    return f"release {DEMO_RELEASE} not Ready yet; see `landlord get helmreleases`"


def _policy_in_force(client: kube.Kube, platform_namespace: str) -> str | None:
    """What the operator's newest PolicyLoaded Event says (which rules, from where)."""
    loaded = [
        event
        for event in client.list_objects("v1", "Event", namespace="default")
        if event.get("reason") == "PolicyLoaded"
        and (event.get("involvedObject") or {}).get("name") == platform_namespace
    ]
    if not loaded:
        return None
    newest = max(loaded, key=lambda e: int(e["metadata"].get("resourceVersion") or 0))
    return str(newest.get("message") or "")


def _api_bind(settings: Settings) -> str:
    """The configured API address, or a free loopback port when it is taken."""
    host, _, port = settings.api.bind.rpartition(":")
    with socket.socket() as probe:
        try:
            probe.bind((host or "127.0.0.1", int(port)))
        except OSError:
            return f"127.0.0.1:{ports.free_ports(1)[0]}"
    return settings.api.bind


def _start_operator(
    plane: controlplane.ControlPlane,
    api_bind: str,
    git_url: str,
    chart_url: str | None = None,
    registry_host: str | None = None,
) -> processes.Record:
    git = urllib.parse.urlsplit(git_url)
    allowed = [f"{git.hostname}:{git.port}"]
    if registry_host is not None:
        allowed.append(registry_host)
    if chart_url is not None:
        charts = urllib.parse.urlsplit(chart_url)
        allowed.append(f"{charts.hostname}:{charts.port}")
    env = {
        **os.environ,
        "KUBECONFIG": str(plane.kubeconfig),
        "LANDLORD_TELEMETRY__LOG_FORMAT": "json",
        # The demo's Git server speaks plain HTTP on loopback.
        "LANDLORD_SOURCES__ALLOWED_SCHEMES": "https,ssh,http",
        # ... which the default deny list (loopback) refuses: those ports only (Git, charts,
        # the registry).
        "LANDLORD_SOURCES__ALLOWED_NETWORKS": ",".join(allowed),
        "LANDLORD_SOURCES__STORAGE_DIR": str(plane.state_dir / "sources"),
        # Deliberately below the shipped 10 s minimum interval: a demo tenant may poll
        # the loopback Git server every second, so a push shows at once.
        "LANDLORD_LIMITS__MIN_INTERVAL": "1s",
        "LANDLORD_API__BIND": api_bind,
        "LANDLORD_API__WORKDIR": str(plane.state_dir / "api"),
    }
    return processes.start(
        "operator",
        [sys.executable, "-m", "landlord", "run", "--api"],
        plane.state_dir / "logs" / "operator.log",
        env=env,
    )
