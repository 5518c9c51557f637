"""ImageRepository scans a real registry; ImagePolicy picks the latest tag live."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from landlord import api, kube
from landlord.demo import Registry
from tests.fixtures.oci import docker_config_secret
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually
from tests.images.conftest import image_policy, image_repository, ready, reported

TAGS = (
    "1.0.0",
    "1.2.0",
    "1.10.0",
    "2.0.0-rc.1",
    "1.10.0.sig",  # a cosign signature tag: excluded by default
    "main-99",
    "main-100",
    "20231231",
    "20240101",
    "dev-zzz",
)


@pytest.fixture(scope="module")
def scanned_repo(registry: Registry) -> str:
    """One registry repository holding every tag of TAGS (pushed once for the module)."""
    repo = f"scan-{uuid.uuid4().hex[:8]}/app"
    for tag in TAGS:
        registry.push_image(repo, tag)
    return repo


def test_a_repository_lists_its_tags_without_the_excluded_ones(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
    scanned_repo: str,
) -> None:
    secrets = registry_secrets(admin, namespace)
    image_repository(admin, namespace, "default-list", registry, scanned_repo, secrets)
    image_repository(
        admin,
        namespace,
        "own-list",
        registry,
        scanned_repo,
        secrets,
        exclusionList=["^dev-", "^main-"],
    )

    default = ready(admin, "ImageRepository", namespace, "default-list")["status"]
    own = ready(admin, "ImageRepository", namespace, "own-list")["status"]

    assert default["canonicalImageName"] == f"{registry.host}/{scanned_repo}"
    assert default["lastScanResult"]["tagCount"] == len(TAGS) - 1
    assert "1.10.0.sig" not in default["lastScanResult"]["latestTags"]
    assert (
        default["lastScanResult"]["latestTags"]
        == sorted((t for t in TAGS if not t.endswith(".sig")), reverse=True)[:10]
    )
    # Replacing the default list drops the .sig rule (as in Flux): only ^dev- and ^main- go.
    assert own["lastScanResult"]["tagCount"] == len(TAGS) - 3


def test_a_new_tag_is_seen_on_the_next_scan_and_a_deleted_one_goes(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
) -> None:
    repo = f"{namespace}/moving"
    registry.push_image(repo, "1.0.0")
    image_repository(admin, namespace, "moving", registry, repo, registry_secrets(admin, namespace))
    ready(admin, "ImageRepository", namespace, "moving")

    registry.push_image(repo, "1.1.0")

    def scanned() -> Any:
        body = admin.get(api.API_VERSION, "ImageRepository", "moving", namespace) or {}
        result = (body.get("status") or {}).get("lastScanResult") or {}
        return result if result.get("latestTags") == ["1.1.0", "1.0.0"] else None

    eventually(scanned, timeout=30, what="the scan to see the new tag")


@pytest.mark.parametrize(
    ("policy", "filter_tags", "latest"),
    [
        ({"semver": {"range": ">=1.0.0 <2.0.0"}}, None, "1.10.0"),
        ({"semver": {"range": ">=1.0.0-0"}}, None, "2.0.0-rc.1"),
        (
            {"numerical": {"order": "asc"}},
            {"pattern": "^main-(?P<ts>[0-9]+)$", "extract": "$ts"},
            "main-100",
        ),
        ({"numerical": {"order": "desc"}}, {"pattern": "^[0-9]{8}$"}, "20231231"),
        ({"alphabetical": {"order": "asc"}}, {"pattern": "^[0-9]{8}$"}, "20240101"),
        ({"alphabetical": {"order": "desc"}}, {"pattern": "^main-"}, "main-100"),
    ],
    ids=[
        "semver",
        "semver-prerelease",
        "numerical-extract",
        "numerical-desc",
        "alpha",
        "alpha-desc",
    ],
)
def test_a_policy_picks_the_latest_tag(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
    scanned_repo: str,
    policy: dict[str, Any],
    filter_tags: dict[str, str] | None,
    latest: str,
) -> None:
    image_repository(
        admin, namespace, "app", registry, scanned_repo, registry_secrets(admin, namespace)
    )
    extra = {"filterTags": filter_tags} if filter_tags else {}
    image_policy(admin, namespace, "app", "app", policy, **extra)

    status = ready(admin, "ImagePolicy", namespace, "app")["status"]

    assert status["latestImage"] == f"{registry.host}/{scanned_repo}:{latest}"
    assert status["latestRef"] == {"name": f"{registry.host}/{scanned_repo}", "tag": latest}


def test_an_invalid_range_stalls_the_policy_with_the_reason(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
    scanned_repo: str,
) -> None:
    image_repository(
        admin, namespace, "app", registry, scanned_repo, registry_secrets(admin, namespace)
    )
    image_policy(admin, namespace, "bad-range", "app", {"semver": {"range": ">=1.0.0 <<2"}})
    image_policy(
        admin,
        namespace,
        "bad-pattern",
        "app",
        {"alphabetical": {}},
        filterTags={"pattern": "(?<=lookbehind)x"},
    )

    for name in ("bad-range", "bad-pattern"):
        body = reported(admin, "ImagePolicy", namespace, name, "InvalidPolicy")
        stalled = [c for c in body["status"]["conditions"] if c["type"] == "Stalled"]
        assert [c["status"] for c in stalled] == ["True"]
        assert "latestImage" not in body["status"]


def test_a_new_tag_moves_the_latest_image_and_says_so(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
) -> None:
    repo = f"{namespace}/bump"
    registry.push_image(repo, "1.0.0")
    image_repository(admin, namespace, "bump", registry, repo, registry_secrets(admin, namespace))
    image_policy(admin, namespace, "bump", "bump", {"semver": {"range": "1.x"}})
    first = ready(admin, "ImagePolicy", namespace, "bump")["status"]["latestImage"]

    registry.push_image(repo, "1.1.0")

    def moved() -> Any:
        body = admin.get(api.API_VERSION, "ImagePolicy", "bump", namespace) or {}
        status = body.get("status") or {}
        return status if status.get("latestImage", "").endswith(":1.1.0") else None

    status = eventually(moved, timeout=30, what="the policy to pick 1.1.0")
    assert first.endswith(":1.0.0")
    assert status["observedPreviousImage"] == first
    events = admin.list_objects("v1", "Event", namespace=namespace)
    assert any(
        e.get("reason") == "NewImage" and "from 1.0.0 to 1.1.0" in e.get("message", "")
        for e in events
    )


def test_a_docker_config_secret_and_a_wrong_password_are_told_apart(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
    scanned_repo: str,
) -> None:
    _, certs = registry_secrets(admin, namespace)
    docker = docker_config_secret(admin, namespace, registry)
    wrong, _ = registry_secrets(
        admin, namespace, auth="wrong-auth", certs="unused-certs", password="not-the-password"
    )
    image_repository(admin, namespace, "docker", registry, scanned_repo, (docker, certs))
    image_repository(admin, namespace, "wrong", registry, scanned_repo, (wrong, certs))

    assert (
        ready(admin, "ImageRepository", namespace, "docker")["status"]["lastScanResult"]["tagCount"]
        == len(TAGS) - 1
    )
    body = reported(admin, "ImageRepository", namespace, "wrong", "AuthenticationFailed")
    assert "not-the-password" not in str(body["status"])
