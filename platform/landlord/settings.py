"""Landlord's settings, read from the environment with the prefix ``LANDLORD_``.

Nested groups use ``__``: ``LANDLORD_SOURCES__ALLOWED_SCHEMES=https,ssh,http``.
Settings are read once, at the edge (the CLI), and passed down; no module
reads them from a global.
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLATFORM_NAMESPACE = "landlord-system"
API_AUDIENCE = "landlord"  # the audience the onboarding API accepts by default


def _default_cache_dir() -> pathlib.Path:
    return pathlib.Path.home() / ".cache" / "landlord"


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip().lower() for item in value.split(",") if item.strip()]
    return value


class ClusterSettings(BaseModel):
    """Where the local control plane keeps its state and its built binaries."""

    state_dir: pathlib.Path = pathlib.Path(".landlord/cluster")
    cache_dir: pathlib.Path = Field(default_factory=_default_cache_dir)
    # KUBEBUILDER_ASSETS is read by the CLI too (envtest's own variable name).
    assets_dir: pathlib.Path | None = None
    start_timeout: float = 120.0


def _default_source_dir() -> pathlib.Path:
    return _default_cache_dir() / "sources"


class TenantsSettings(BaseModel):
    """The tenant controller: how many Tenants are reconciled at once.

    ``offboarding_deadline``: seconds after a Tenant's deletion that offboarding
    waits for its sync objects before it goes on without them. ``roles``: the
    ClusterRoles a Tenant may be bound to.
    """

    workers: int = Field(default=4, ge=1, le=64)
    offboarding_deadline: float = Field(default=300.0, gt=0)
    # The ClusterRoles a Tenant's ownerRole/reconcilerRole may name: the ones the
    # operator's ClusterRole may `bind` (the chart's rbac.tenantRoles).
    roles: Annotated[list[str], NoDecode] = ["admin", "edit", "view"]
    # The Pod Security levels a Tenant's podSecurity may name (the chart's
    # rbac.podSecurityLevels; the admission policy holds the operator to them).
    pod_security_levels: Annotated[list[str], NoDecode] = ["restricted", "baseline"]

    _split_roles = field_validator("roles", "pod_security_levels", mode="before")(_comma_list)


class SourcesSettings(BaseModel):
    """Git sources: allowed URL schemes, where artifacts live, and the caps per source.

    ``workers``: how many GitRepositories are fetched at once (the source controller's threads).
    """

    workers: int = Field(default=4, ge=1, le=64)
    allowed_schemes: Annotated[list[str], NoDecode] = ["https", "ssh"]
    storage_dir: pathlib.Path = Field(default_factory=_default_source_dir)
    max_files: int = 20_000
    max_file_bytes: int = 16 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    # Where no tenant source may connect, checked after DNS resolution (entries:
    # CIDR or address, optionally ":port", IPv6 with a port as "[addr]:port"):
    # this host (loopback, "unspecified"), link-local (the cloud metadata service
    # 169.254.169.254 among it), and the cluster's Service and Pod ranges.
    denied_networks: Annotated[list[str], NoDecode] = [
        "127.0.0.0/8",
        "::1/128",
        "0.0.0.0/8",
        "::/128",
        "169.254.0.0/16",
        "fe80::/10",
        "100.64.0.0/10",  # shared address space: some clouds' metadata services live here
        "fd00:ec2::254/128",  # a cloud's IPv6 metadata address
    ]
    # The local control plane's Service range (its kwok Pods live inside it),
    # and kubeadm's default Service and Pod ranges.
    cluster_networks: Annotated[list[str], NoDecode] = [
        "10.0.0.0/16",
        "10.96.0.0/12",
        "10.244.0.0/16",
    ]
    # Exceptions to both lists (never to the apiserver's own address and port).
    allowed_networks: Annotated[list[str], NoDecode] = []

    _split = field_validator("allowed_schemes", mode="before")(_comma_list)
    _split_networks = field_validator(
        "denied_networks", "cluster_networks", "allowed_networks", mode="before"
    )(_comma_list)


class SandboxSettings(BaseModel):
    """The build sandbox every process that reads tenant content runs in.

    ``mode``: ``bwrap`` (default) confines with bubblewrap and refuses to build
    when it cannot; ``unconfined`` accepts running builds without isolation
    (same limits, no namespaces) where the platform has no user namespaces.
    """

    mode: Literal["bwrap", "unconfined"] = "bwrap"
    bwrap: pathlib.Path | None = None  # default: bwrap on PATH
    wall_seconds: float = Field(default=60.0, gt=0, le=3600)
    cpu_seconds: int = Field(default=60, ge=1, le=3600)
    memory_bytes: int = Field(default=2 * 1024**3, ge=64 * 1024**2)
    output_bytes: int = Field(default=64 * 1024**2, ge=1024)


class SyncSettings(BaseModel):
    """How many Kustomizations sync at once, and how hard their applies may push the apiserver.

    ``workers``: the sync controller's threads (Kustomizations reconciled at once).
    ``apply_workers``: one pool, shared by every sync, for the reads, dry-runs and
    applies of their objects.
    """

    workers: int = Field(default=4, ge=1, le=64)
    apply_workers: int = Field(default=16, ge=1, le=128)
    write_rate: float = Field(default=1000.0, gt=0)
    write_burst: int = Field(default=100, ge=1)
    # SOPS (docs/secrets.md): refuse a Secret of a decrypting Kustomization whose values
    # did not all come from encrypted files; at most this many encrypted files a
    # revision; where decrypted copies of an artifact live while it builds (default:
    # /dev/shm, a tmpfs, where there is one).
    require_encrypted_secrets: bool = False
    max_encrypted_files: int = Field(default=500, ge=1, le=100_000)
    decryption_dir: pathlib.Path | None = None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(value: object) -> object:
    """``10s``, ``1m30s`` or a plain number of seconds (as every other setting takes)."""
    if isinstance(value, str) and value.strip() and _DURATION_PART.sub("", value.strip()) == "":
        return sum(
            float(number) * _DURATION_UNITS[unit]
            for number, unit in _DURATION_PART.findall(value.strip())
        )
    return value


class HelmSettings(BaseModel):
    """``LANDLORD_HELM__*``: HelmRepositories and HelmReleases (docs/helm.md)."""

    # Reconciles of HelmRepositories and of HelmReleases at once (each its own pool).
    workers: int = Field(default=2, ge=1, le=32)
    # A repository's index.yaml; Flux's own cap is 50 MiB.
    max_index_bytes: int = Field(default=50 * 1024**2, ge=1024)
    # A chart archive as downloaded, each file in it, all files unpacked, and their number.
    max_chart_bytes: int = Field(default=10 * 1024**2, ge=1024)
    max_chart_file_bytes: int = Field(default=5 * 1024**2, ge=1024)
    max_chart_total_bytes: int = Field(default=50 * 1024**2, ge=1024)
    max_chart_files: int = Field(default=5_000, ge=1)


class OciSettings(BaseModel):
    """``LANDLORD_OCI__*``: OCIRepositories and the registries they pull from (docs/oci.md)."""

    # OCIRepositories reconciled at once.
    workers: int = Field(default=2, ge=1, le=32)
    # A manifest (or index) as fetched; the OCI distribution spec suggests 4 MiB.
    max_manifest_bytes: int = Field(default=4 * 1024**2, ge=1024)
    # One layer as stored in the registry (compressed). What it extracts to is held
    # to the sources' caps (LANDLORD_SOURCES__MAX_FILES, _MAX_FILE_BYTES, _MAX_TOTAL_BYTES).
    max_layer_bytes: int = Field(default=100 * 1024**2, ge=1024)
    # Tags read from one repository (an ImageRepository scan, a semver ref).
    max_tags: int = Field(default=10_000, ge=1)
    # ``spec.insecure: true`` (plain HTTP to the registry) is refused unless this is on.
    allow_insecure: bool = False


class ImagesSettings(BaseModel):
    """``LANDLORD_IMAGES__*``: ImageRepositories, ImagePolicies, ImageUpdateAutomations."""

    # Reconciles of each kind at once (each its own pool).
    workers: int = Field(default=2, ge=1, le=32)
    # Attempts at one push when someone else pushed first (sync, rewrite, commit, push again).
    push_attempts: int = Field(default=3, ge=1, le=10)
    # Files under ``update.path`` an automation reads, and the bytes of one.
    max_files: int = Field(default=5_000, ge=1)
    max_file_bytes: int = Field(default=1024**2, ge=1024)


class LimitsSettings(BaseModel):
    """Bounds on every duration a tenant sets (Flux's CVE-2022-39272 class).

    A tenant's ``interval`` and ``retryInterval`` must lie between ``min_interval``
    and ``max_interval``, every ``timeout`` (Git commands, health checks) at most
    ``max_timeout``; an object outside them is refused with a condition, never
    clamped. Values are seconds or Go-style durations (``10s``, ``10m``).
    """

    min_interval: float = Field(default=10.0, gt=0)
    max_interval: float = Field(default=24 * 3600.0, gt=0)
    max_timeout: float = Field(default=600.0, gt=0)

    _durations = field_validator("min_interval", "max_interval", "max_timeout", mode="before")(
        _seconds
    )

    @model_validator(mode="after")
    def _ordered(self) -> LimitsSettings:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not be larger than max_interval")
        return self


class BudgetSettings(BaseModel):
    """What one tenant may have: GitRepositories, Kustomizations, objects per revision, bytes.

    A tenant is the ``landlord.dev/tenant`` label of a namespace (an unlabelled
    namespace counts alone); the platform namespace is not budgeted. The oldest
    objects keep working; the newer ones over a budget are refused with a
    ``BudgetExceeded`` condition. ``artifact_bytes`` counts the artifacts of all
    the tenant's sources on disk.
    """

    git_repositories: int = Field(default=50, ge=1)
    kustomizations: int = Field(default=50, ge=1)
    objects_per_revision: int = Field(default=5000, ge=1)
    artifact_bytes: int = Field(default=1 << 30, ge=1)


class PolicySettings(BaseModel):
    """Where the Casbin model and policy are read from, and how often they are re-read.

    ``path``: a folder with ``model.conf`` and ``policy.csv``. ``configmap``: the
    name of a ConfigMap in the platform namespace with those two keys. With
    neither, the ``repo_path`` folder of the platform repository (the
    GitRepository ``platform`` in the platform namespace) is used, and until that
    repository has been fetched, the policy shipped with Landlord.

    ``record_requests`` bounds the operator's record of the requests it decided
    (ConfigMaps ``landlord-policy-requests*`` in the platform namespace, written
    every ``publish_interval`` seconds when it changed).
    """

    path: pathlib.Path | None = None
    configmap: str | None = None
    repo_path: str = "policies"
    reload_interval: float = 5.0
    # How many distinct requests the operator remembers for `landlord policy diff --live`
    # (0: none are recorded nor published), and how often it publishes them.
    record_requests: int = Field(default=100_000, ge=0, le=1_000_000)
    publish_interval: float = Field(default=10.0, ge=1.0, le=3600.0)

    _publish = field_validator("publish_interval", mode="before")(_seconds)


def _default_workdir() -> pathlib.Path:
    return _default_cache_dir() / "onboarding"


def _default_max_quota() -> dict[str, str]:
    return {
        "pods": "1000",
        "services": "200",
        "requests.cpu": "64",
        "limits.cpu": "128",
        "requests.memory": "256Gi",
        "limits.memory": "512Gi",
        "requests.storage": "10Ti",
        "persistentvolumeclaims": "500",
    }


class ApiSettings(BaseModel):
    """The onboarding API: where it listens, where it works, and its limits.

    ``url`` is where the CLI (``landlord tenant …``) finds it. ``max_quota`` bounds
    every ``spec.quota`` entry a request may ask for (keys not listed are refused
    unless they are ``count/*`` objects, which are bounded by ``max_count``).
    """

    bind: str = "127.0.0.1:8080"
    url: str = "http://127.0.0.1:8080"
    workdir: pathlib.Path = Field(default_factory=_default_workdir)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    wait_timeout: float = Field(default=300.0, gt=0)
    push_attempts: int = Field(default=5, ge=1)
    git_timeout: float = Field(default=60.0, gt=0)
    token_cache_seconds: float = Field(default=10.0, ge=0)
    max_quota: dict[str, str] = Field(default_factory=_default_max_quota)
    max_count: int = Field(default=1000, ge=1)
    # A bearer token is an API credential only if it was issued for one of these
    # (TokenReview ``spec.audiences``): `kubectl create token SA --audience landlord`.
    audiences: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [API_AUDIENCE])
    # The HMAC key that marks a ``landlord.dev/traceparent`` as written by the API.
    trace_key_secret: str = "landlord-trace-key"  # noqa: S105 - a Secret's name
    # How long a receiver remembers a delivery (ids, signatures) to ignore replays,
    # and how far a generic delivery's timestamp may be from now.
    receiver_replay_window: float = Field(default=300.0, gt=0, le=24 * 3600.0)
    # The read-only status page at /ui (docs/ui.md), and how long one sign-in lasts.
    ui: bool = True
    ui_session_seconds: float = Field(default=8 * 3600.0, ge=60, le=7 * 24 * 3600.0)

    @field_validator("audiences", mode="before")
    @classmethod
    def _split_audiences(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("audiences")
    @classmethod
    def _some_audience(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one audience is required (default: landlord)")
        return value

    _window = field_validator("receiver_replay_window", mode="before")(_seconds)


class TelemetrySettings(BaseModel):
    """Logs, traces and metrics."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    traces_exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str | None = None
    service_name: str = "landlord"
    metrics_bind: str | None = None
    # host:port of the operator's liveness endpoint (GET /healthz, kopf's probe server);
    # unset: none. In a pod: 0.0.0.0:8081 with an httpGet probe on /healthz.
    health_bind: str | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class LeaderElectionSettings(BaseModel):
    """One replica reconciles, the others wait on a Lease (controller-runtime's defaults).

    ``identity`` defaults to the host name (a pod's name). The Lease lives in the
    platform namespace.
    """

    enabled: bool = False
    lease: str = "landlord-operator"
    identity: str | None = None
    lease_duration: float = Field(default=15.0, gt=0)
    renew_deadline: float = Field(default=10.0, gt=0)
    retry_period: float = Field(default=2.0, gt=0)


class ShardSettings(BaseModel):
    """Which share of the Tenants this operator handles (``landlord.runtime.shards``).

    ``name`` "" is the default shard: Tenants without a ``landlord.dev/shard``
    label, and the platform's own sync. A named shard leads on a Lease of its own
    (``<lease>-<name>``).
    """

    name: str = Field(default="", pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$")

    @field_validator("name")
    @classmethod
    def _not_default(cls, value: str) -> str:
        if value == "default":  # how the default shard signs status.shard
            raise ValueError("'default' is the unnamed shard's; leave the name empty for it")
        return value


class Settings(BaseSettings):
    """All of Landlord's settings."""

    model_config = SettingsConfigDict(
        env_prefix="LANDLORD_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    platform_namespace: str = PLATFORM_NAMESPACE
    cluster: ClusterSettings = ClusterSettings()
    tenants: TenantsSettings = TenantsSettings()
    sources: SourcesSettings = SourcesSettings()
    sync: SyncSettings = SyncSettings()
    helm: HelmSettings = HelmSettings()
    oci: OciSettings = OciSettings()
    images: ImagesSettings = ImagesSettings()
    sandbox: SandboxSettings = SandboxSettings()
    limits: LimitsSettings = LimitsSettings()
    budgets: BudgetSettings = BudgetSettings()
    policy: PolicySettings = PolicySettings()
    api: ApiSettings = ApiSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    leader_election: LeaderElectionSettings = LeaderElectionSettings()
    shard: ShardSettings = ShardSettings()
    features: dict[str, bool] = {}


def load() -> Settings:
    """Read the settings from the process environment.

    envtest's ``KUBEBUILDER_ASSETS`` is honoured as the binaries folder unless
    ``LANDLORD_CLUSTER__ASSETS_DIR`` says otherwise.
    """
    loaded = Settings()
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets and loaded.cluster.assets_dir is None:
        loaded.cluster.assets_dir = pathlib.Path(assets)
    return loaded
