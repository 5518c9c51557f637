"""A tenant's image automation: what it may not make Landlord do.

Live, against the operator, the real registry on loopback (its access log proves
what was never requested), a hostile registry (a real HTTPS server that answers
what no honest registry would), and the real Git server (its refs prove what
was never pushed).
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import pathlib
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from landlord import api, errors, kube
from landlord.demo import GitServer, Registry
from landlord.demo.registry import Pki
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.oci import REGISTRY_PASSWORD
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.policy import PolicyFiles
from tests.helpers import eventually
from tests.images.conftest import (
    automation,
    git_repository,
    head,
    image_policy,
    image_repository,
    ready,
    reported,
)

MARKED = 'image: {image}:1.0.0 # {{"$imagepolicy": "{namespace}:web"}}\n'


# -- what every case here needs -------------------------------------------------------


@pytest.fixture
def other_namespace(admin: kube.Kube) -> Iterator[str]:
    """A second scratch namespace: another owner than ``namespace``."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    labels = {"landlord.dev/test": "1"}
    admin.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    )
    yield name
    admin.delete("v1", "Namespace", name)


@pytest.fixture
def latest(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
) -> str:
    """An ImagePolicy ``web`` in ``namespace`` whose latest image is ``<image>:1.1.0``."""
    repo = f"{namespace}/web"
    registry.push_image(repo, "1.1.0")
    image_repository(admin, namespace, "web", registry, repo, registry_secrets(admin, namespace))
    image_policy(admin, namespace, "web", "web", {"semver": {"range": ">=1.0.0"}})
    ready(admin, "ImagePolicy", namespace, "web")
    return f"{registry.host}/{repo}"


def _repository(git_server: GitServer, name: str, image: str, namespace: str) -> str:
    """A pushable repository whose deploy/web.yaml marks ``namespace:web``; its clone URL."""
    git_server.create(name, pushable=True)
    git_server.commit(name, {"deploy/web.yaml": MARKED.format(image=image, namespace=namespace)})
    return git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")


def _said(admin: kube.Kube, namespace: str) -> str:
    """Everything the operator wrote where a tenant can read it: statuses and Events."""
    texts = [
        json.dumps(e.get("message", ""))
        for e in admin.list_objects("v1", "Event", namespace=namespace)
    ]
    for kind in ("ImageRepository", "ImagePolicy", "ImageUpdateAutomation"):
        texts += [
            json.dumps(i.get("status"))
            for i in admin.list_objects(api.API_VERSION, kind, namespace=namespace)
        ]
    return "\n".join(texts)


# -- registries ---------------------------------------------------------------------


def test_a_denied_registry_is_never_contacted(
    admin: kube.Kube,
    policy_files: PolicyFiles,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
) -> None:
    repo = f"forbidden-{uuid.uuid4().hex[:8]}/app"
    registry.push_image(repo, "1.0.0")
    policy_files.add(
        f"p, namespace:{namespace}, source, oci://{registry.host}/forbidden-*/**, deny"
    )
    before = registry.requests_settled(repo)  # the push above, logged

    image_repository(admin, namespace, "app", registry, repo, registry_secrets(admin, namespace))

    body = reported(admin, "ImageRepository", namespace, "app", "PolicyDenied")
    ready_condition = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")
    assert f"oci://{registry.host}/{repo}" in ready_condition["message"]
    assert any(
        c["type"] == "Stalled" and c["status"] == "True" for c in body["status"]["conditions"]
    )
    assert registry.requests_settled(repo) == before


class _Hostile:
    """A registry over HTTPS that lists ``tags`` (changeable) and echoes what it was sent."""

    def __init__(self, folder: pathlib.Path) -> None:
        self.pki = Pki(folder)
        self.tags: list[str] = ["1.0.0", "1.1.0", "1.2.0"]
        self.echo = False
        hostile = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                authorization = self.headers.get("Authorization")
                if authorization is None:
                    self._send(401, b"{}", {"WWW-Authenticate": 'Basic realm="hostile"'})
                elif self.path.startswith("/v2/") and "/tags/list" in self.path:
                    if hostile.echo:  # an error that quotes the credentials back
                        sent = base64.b64decode(authorization.split()[-1]).decode()
                        problem = {"code": f"{authorization}:{sent}", "message": sent}
                        body = json.dumps({"errors": [problem]})
                        self._send(403, body.encode(), {})
                    else:
                        self._send(
                            200, json.dumps({"name": "app", "tags": hostile.tags}).encode(), {}
                        )
                else:
                    self._send(200, b"{}", {})

            def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.serving_file, self.pki.serving_key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile(tmp_path: pathlib.Path) -> Iterator[_Hostile]:
    server = _Hostile(tmp_path / "pki")
    yield server
    server.stop()


def _hostile_repository(admin: kube.Kube, namespace: str, hostile: _Hostile, password: str) -> None:
    def secret(name: str, data: dict[str, str]) -> None:
        admin.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            }
        )

    secret("hostile-auth", {"username": "tenant", "password": password})
    secret("hostile-ca", {"ca.crt": hostile.pki.ca_pem.decode()})
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "ImageRepository",
            "metadata": {"name": "hostile", "namespace": namespace},
            "spec": {
                "image": f"{hostile.host}/team/app",
                "interval": "1s",
                "secretRef": {"name": "hostile-auth"},
                "certSecretRef": {"name": "hostile-ca"},
            },
        }
    )


def test_a_registry_listing_100000_tags_stops_at_the_cap_and_the_last_tags_stay(
    admin: kube.Kube, operator: OperatorProcess, namespace: str, hostile: _Hostile
) -> None:
    _hostile_repository(admin, namespace, hostile, REGISTRY_PASSWORD)
    image_policy(admin, namespace, "app", "hostile", {"semver": {"range": ">=1.0.0"}})
    assert (
        ready(admin, "ImageRepository", namespace, "hostile")["status"]["lastScanResult"][
            "tagCount"
        ]
        == 3
    )
    ready(admin, "ImagePolicy", namespace, "app")

    hostile.tags = [f"1.0.{n}" for n in range(100_000)]

    body = reported(admin, "ImageRepository", namespace, "hostile", "TooManyTags")
    assert body["status"]["lastScanResult"]["tagCount"] == 3  # the last good scan stays
    policy = admin.get(api.API_VERSION, "ImagePolicy", "app", namespace)
    assert policy is not None
    assert policy["status"]["latestImage"] == f"{hostile.host}/team/app:1.2.0"


def test_credentials_never_reach_status_or_events(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    hostile: _Hostile,
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    hostile.echo = True

    _hostile_repository(admin, namespace, hostile, password)

    def failed() -> dict[str, Any] | None:
        found = admin.get(api.API_VERSION, "ImageRepository", "hostile", namespace) or {}
        conditions = (found.get("status") or {}).get("conditions") or []
        return (
            found
            if any(c["type"] == "Ready" and c["status"] == "False" for c in conditions)
            else None
        )

    body = eventually(failed, timeout=30, what="the scan to fail")
    pair = base64.b64encode(f"tenant:{password}".encode()).decode()
    said = _said(admin, namespace)
    assert body["status"]["conditions"]
    assert password not in said
    assert pair not in said


# -- pushes ------------------------------------------------------------------------------


def test_a_push_to_another_owners_repository_is_refused_whatever_the_policy_says(
    admin: kube.Kube,
    policy_files: PolicyFiles,
    git_server: GitServer,
    namespace: str,
    other_namespace: str,
    latest: str,
) -> None:
    own = f"own-{namespace}"
    theirs = f"theirs-{namespace}"
    platform = f"platform-{namespace}"
    own_url = _repository(git_server, own, latest, namespace)
    their_url = _repository(git_server, theirs, latest, namespace)
    platform_url = _repository(git_server, platform, latest, namespace)
    git_repository(admin, other_namespace, "app", their_url)
    git_repository(admin, PLATFORM_NAMESPACE, f"guard-{namespace}", platform_url)
    # The tenant's own GitRepositories pointing at those repositories, spelt otherwise.
    git_repository(admin, namespace, "own", own_url)
    git_repository(admin, namespace, "theirs", their_url.removesuffix(".git") + "/")
    git_repository(
        admin, namespace, "platform", platform_url.replace(f"/{platform}.git", f"//{platform}.git")
    )
    policy_files.add(
        f"p, namespace:{namespace}, push, http://{git_server.base_url.split('://')[1]}/**, allow"
    )
    before = {repo: head(git_server, repo) for repo in (own, theirs, platform)}
    try:
        for source in ("own", "theirs", "platform"):
            automation(admin, namespace, source, source)

        # The control: the same automation pushes to the tenant's own repository.
        ready(admin, "ImageUpdateAutomation", namespace, "own")
        eventually(lambda: head(git_server, own) != before[own], timeout=30, what="the own push")
        for source in ("theirs", "platform"):
            body = reported(admin, "ImageUpdateAutomation", namespace, source, "PushNotAllowed")
            text = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")["message"]
            assert "never pushes" in text
        assert head(git_server, theirs) == before[theirs]
        assert head(git_server, platform) == before[platform]
    finally:
        with contextlib.suppress(errors.ApiError):
            admin.delete(api.API_VERSION, "GitRepository", f"guard-{namespace}", PLATFORM_NAMESPACE)


def test_a_push_deny_line_refuses_the_push(
    admin: kube.Kube,
    policy_files: PolicyFiles,
    git_server: GitServer,
    namespace: str,
    latest: str,
) -> None:
    repo = f"denied-{namespace}"
    url = _repository(git_server, repo, latest, namespace)
    git_repository(admin, namespace, "app", url)
    policy_files.add(f"p, namespace:{namespace}, push, {git_server.url(repo)}, deny")
    before = head(git_server, repo)

    automation(admin, namespace, "bump", "app")

    body = reported(admin, "ImageUpdateAutomation", namespace, "bump", "PolicyDenied")
    text = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")["message"]
    assert f"may not push to {git_server.url(repo)}" in text
    assert head(git_server, repo) == before


# -- cross-namespace references -----------------------------------------------------------


def test_cross_namespace_references_are_refused_without_a_policy_line(
    admin: kube.Kube,
    operator: OperatorProcess,
    git_server: GitServer,
    namespace: str,
    other_namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
) -> None:
    repo = f"{other_namespace}/web"
    registry.push_image(repo, "1.0.0")
    image_repository(
        admin, other_namespace, "web", registry, repo, registry_secrets(admin, other_namespace)
    )
    url = _repository(git_server, f"x-{other_namespace}", f"{registry.host}/{repo}", namespace)
    git_repository(admin, other_namespace, "app", url)
    before = head(git_server, f"x-{other_namespace}")

    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "ImagePolicy",
            "metadata": {"name": "theirs", "namespace": namespace},
            "spec": {
                "imageRepositoryRef": {"name": "web", "namespace": other_namespace},
                "policy": {"semver": {"range": ">=1.0.0"}},
            },
        }
    )
    automation(
        admin,
        namespace,
        "theirs",
        "app",
        sourceRef={"kind": "GitRepository", "name": "app", "namespace": other_namespace},
    )

    policy = reported(admin, "ImagePolicy", namespace, "theirs", "PolicyDenied")
    automated = reported(admin, "ImageUpdateAutomation", namespace, "theirs", "PolicyDenied")
    assert "latestImage" not in policy["status"]
    for body, field in ((policy, "spec.imageRepositoryRef"), (automated, "spec.sourceRef")):
        text = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")["message"]
        assert text.startswith(f"{field} {other_namespace}/")
    assert head(git_server, f"x-{other_namespace}") == before
