"""Landlord's settings, read from the environment with the prefix ``LANDLORD_``.

Nested groups use ``__``: ``LANDLORD_SOURCES__ALLOWED_SCHEMES=https,ssh,http``.
Settings are read once, at the edge (the CLI), and passed down; no module
reads them from a global.
"""

from __future__ import annotations

import os
import pathlib
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLATFORM_NAMESPACE = "landlord-system"


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


class SourcesSettings(BaseModel):
    """Git sources: allowed URL schemes, where artifacts live, and the caps per source."""

    allowed_schemes: Annotated[list[str], NoDecode] = ["https", "ssh"]
    storage_dir: pathlib.Path = Field(default_factory=_default_source_dir)
    max_files: int = 20_000
    max_file_bytes: int = 16 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024

    _split = field_validator("allowed_schemes", mode="before")(_comma_list)


class SyncSettings(BaseModel):
    """How hard one Kustomization's apply may push the apiserver."""

    workers: int = Field(default=8, ge=1, le=64)
    write_rate: float = Field(default=400.0, gt=0)
    write_burst: int = Field(default=100, ge=1)


class PolicySettings(BaseModel):
    """Where the Casbin model and policy are read from, and how often they are re-read.

    ``path``: a folder with ``model.conf`` and ``policy.csv``. ``configmap``: the
    name of a ConfigMap in the platform namespace with those two keys. With
    neither, the ``repo_path`` folder of the platform repository (the
    GitRepository ``platform`` in the platform namespace) is used, and until that
    repository has been fetched, the policy shipped with Landlord.
    """

    path: pathlib.Path | None = None
    configmap: str | None = None
    repo_path: str = "policies"
    reload_interval: float = 5.0


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


class TelemetrySettings(BaseModel):
    """Logs, traces and metrics."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    traces_exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str | None = None
    service_name: str = "landlord"
    metrics_bind: str | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(BaseSettings):
    """All of Landlord's settings."""

    model_config = SettingsConfigDict(
        env_prefix="LANDLORD_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    platform_namespace: str = PLATFORM_NAMESPACE
    cluster: ClusterSettings = ClusterSettings()
    sources: SourcesSettings = SourcesSettings()
    sync: SyncSettings = SyncSettings()
    policy: PolicySettings = PolicySettings()
    api: ApiSettings = ApiSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
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
