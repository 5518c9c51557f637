"""The onboarding API against the real control plane, a real Git server and real HTTP.

One Landlord runs in this process for the whole package (``Embedded``: the
operator and the API on threads), so the in-memory span exporter sees every span
from the API request to the object apply. The subprocess operator the other
groups use is stopped meanwhile: two operators must never reconcile at once.

Identities are service-account tokens minted by the apiserver for the API's
audience (``landlord``; a token for the apiserver's own is refused):
``onboarding-admins/admin`` is a platform admin through the policy line
``g, group:system:serviceaccounts:onboarding-admins, role:platform-admin``;
``onboarding-users/owner`` owns the tenants that name it; ``onboarding-users/x``
owns nothing.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import pathlib
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from landlord import api, kube
from landlord import settings as settings_mod
from landlord.cluster import ports
from landlord.demo import GitServer
from landlord.installer import bootstrap
from landlord.settings import PLATFORM_NAMESPACE
from landlord.wiring import operator_main
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import BASELINE_POLICY, REPO_POLICIES, OperatorProcess, Tenants
from tests.helpers import eventually

ADMINS = "onboarding-admins"
USERS = "onboarding-users"
PLATFORM_REPO = "onboarding-platform"
AUDIENCE = "landlord"  # LANDLORD_API__AUDIENCES' default
API_POLICY = (
    BASELINE_POLICY
    + f"\n# tests: the onboarding-admins namespace's service accounts are platform admins\n"
    f"g, group:system:serviceaccounts:{ADMINS}, role:platform-admin\n"
)


def owner_of(namespace: str, name: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


@dataclasses.dataclass
class Api:
    """The running API, its tokens, and the platform repository behind it."""

    url: str
    kubeconfig: pathlib.Path
    admin_token: str
    owner_token: str
    stranger_token: str
    git: GitServer
    kube: kube.Kube
    landlord: operator_main.Embedded
    config: settings_mod.Settings
    created: list[str] = dataclasses.field(default_factory=list)
    repo: str = PLATFORM_REPO

    def name(self, prefix: str = "api") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.created.append(name)
        return name

    def source(self, namespace: str, repo: str) -> None:
        """A GitRepository ``app`` in ``namespace`` for ``repo`` of the test Git server."""
        self.kube.apply(
            {
                "apiVersion": api.API_VERSION,
                "kind": "GitRepository",
                "metadata": {"name": "app", "namespace": namespace},
                "spec": {"url": self.git.url(repo), "interval": "1h"},
            },
            field_manager="tests",
        )

    def deliver(
        self,
        receiver: str,
        payload: dict[str, Any],
        secret: str,
        *,
        delivery: str | None = None,
        signature: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """POST a GitHub push delivery to a receiver, signed with ``secret`` (or ``signature``)."""
        raw = json.dumps(payload).encode()
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        status, body, _ = self.call(
            "POST",
            f"/v1/receivers/{receiver}",
            None,
            raw=raw,
            headers={
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                "X-Hub-Signature-256": f"sha256={digest}" if signature is None else signature,
            },
        )
        return status, body

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        url: str | None = None,
        **query: Any,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        params = {k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items()}
        target = (url or self.url) + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(target, method=method, data=data)
        request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=180) as response:
                return (
                    response.status,
                    json.loads(response.read() or b"{}"),
                    _lower(response.headers),
                )
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}"), _lower(error.headers)

    # -- the platform repository, read straight from the Git server's disk ------

    def _git(self, *args: str) -> str:
        bare = self.git.root / f"{self.repo}.git"
        return subprocess.run(
            ["git", "-C", str(bare), *args], capture_output=True, text=True, check=True
        ).stdout

    def head(self) -> str:
        return self._git("rev-parse", "refs/heads/main").strip()

    def file(self, name: str, ref: str = "main") -> dict[str, Any] | None:
        try:
            text = self._git("show", f"{ref}:tenants/{name}.yaml")
        except subprocess.CalledProcessError:
            return None
        loaded: dict[str, Any] = yaml.safe_load(text)
        return loaded

    def commit_of(self, sha: str) -> dict[str, Any]:
        """Author, subject and trailers of one commit."""
        out = self._git("show", "-s", "--format=%an%x00%ae%x00%s%x00%(trailers:only,unfold)", sha)
        author, email, subject, raw = out.split("\x00")
        trailers = dict(line.split(": ", 1) for line in raw.strip().splitlines() if ": " in line)
        return {"author": author, "email": email, "subject": subject, "trailers": trailers}

    def trailer_lines(self, sha: str) -> list[str]:
        """The commit's trailer block, line by line (a forged trailer shows as one more)."""
        raw = self._git("show", "-s", "--format=%(trailers:only,unfold)", sha)
        return [line for line in raw.splitlines() if line.strip()]

    def commits(self) -> int:
        return int(self._git("rev-list", "--count", "refs/heads/main").strip())

    def tenant(self, name: str) -> dict[str, Any] | None:
        return self.kube.get(api.API_VERSION, "Tenant", name)


def token_for(
    admin: kube.Kube, namespace: str, name: str, *, audiences: tuple[str, ...] = (AUDIENCE,)
) -> str:
    """A token of service account ``namespace/name`` (created if missing) for ``audiences``."""
    admin.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        field_manager="tests",
    )
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        },
        field_manager="tests",
    )
    return admin.service_account_token(namespace, name, seconds=7200, audiences=list(audiences))


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every span this process records (the provider is process-wide: set once).

    Another package may import this fixture too: a provider already set gets
    this exporter added rather than being replaced (OpenTelemetry refuses that).
    """
    exporter = InMemorySpanExporter()
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        current.add_span_processor(SimpleSpanProcessor(exporter))
        return exporter
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def _settings(
    work: pathlib.Path, policy_dir: pathlib.Path, **api_settings: Any
) -> settings_mod.Settings:
    config = settings_mod.Settings()
    config.sources.allowed_schemes = ["https", "ssh", "http"]
    config.sources.allowed_networks = ["127.0.0.1/32"]  # the loopback Git server, as elsewhere
    config.sources.storage_dir = work / "sources"
    config.policy.path = policy_dir
    config.policy.reload_interval = 0.3
    config.api.bind = f"127.0.0.1:{ports.free_ports(1)[0]}"
    config.api.url = f"http://{config.api.bind}"
    config.api.workdir = work / "api"
    config.api.wait_timeout = 120.0
    for key, value in api_settings.items():
        setattr(config.api, key, value)
    return config


@pytest.fixture(scope="package")
def onboarding_api(
    control_plane: pathlib.Path,
    admin: kube.Kube,
    installed: None,
    operator_process: OperatorProcess,
    git_server: GitServer,
    spans: InMemorySpanExporter,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    operator_process.stop()  # the `operator` fixture starts it again for the next groups
    with running_api(
        control_plane, admin, git_server, tmp_path_factory.mktemp("onboarding")
    ) as running:
        yield running


@contextlib.contextmanager
def running_api(
    control_plane: pathlib.Path,
    admin: kube.Kube,
    git_server: GitServer,
    work: pathlib.Path,
    *,
    repo: str = PLATFORM_REPO,
) -> Iterator[Api]:
    """Landlord (operator and API) in this process over a new platform repository ``repo``.

    The subprocess operator must be stopped first: two operators never reconcile at once.
    """
    policy_dir = work / "policies"
    shutil.copytree(REPO_POLICIES, policy_dir, ignore=shutil.ignore_patterns("tests"))
    (policy_dir / "policy.csv").write_text(API_POLICY)
    config = _settings(work, policy_dir)
    git_secret = f"{repo}-git"

    git_server.create(repo, pushable=True)
    git_server.commit(repo, {"tenants/README.md": "Tenants, one file each.\n"})
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": git_secret, "namespace": PLATFORM_NAMESPACE},
            "data": {
                "username": base64.b64encode(USER.encode()).decode(),
                "password": base64.b64encode(PASSWORD.encode()).decode(),
            },
        },
        field_manager="tests",
    )
    bootstrap.bootstrap(
        admin,
        url=git_server.url(repo),
        branch="main",
        path="tenants",
        platform_namespace=PLATFORM_NAMESPACE,
        secret=git_secret,
    )
    tokens = [
        token_for(admin, ADMINS, "admin"),
        *(token_for(admin, USERS, n) for n in ("owner", "x")),
    ]
    landlord = operator_main.Embedded(config, kubeconfig=control_plane)
    running = Api(
        url=config.api.url,
        kubeconfig=control_plane,
        admin_token=tokens[0],
        owner_token=tokens[1],
        stranger_token=tokens[2],
        git=git_server,
        kube=admin,
        landlord=landlord,
        config=config,
        repo=repo,
    )
    try:
        landlord.start()
        eventually(
            lambda: running.call("GET", "/healthz", None)[0] == 200, timeout=30, what="the API"
        )
        yield running
    finally:
        for kind in ("Kustomization", "GitRepository"):
            admin.delete(api.API_VERSION, kind, "platform", PLATFORM_NAMESPACE)
        with contextlib.suppress(AssertionError):
            eventually(
                lambda: (
                    admin.get(api.API_VERSION, "Kustomization", "platform", PLATFORM_NAMESPACE)
                    is None
                ),
                timeout=60,
                what="the platform Kustomization to go",
            )
        cleanup = Tenants(admin)
        cleanup.created = list(running.created)
        cleanup.cleanup()
        landlord.stop()
        admin.delete("v1", "Secret", git_secret, PLATFORM_NAMESPACE)


def _lower(headers: Any) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in headers.items()}
