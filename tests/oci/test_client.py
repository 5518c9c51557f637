"""The OCI client against a REAL registry (distribution v3 on loopback, TLS, htpasswd or tokens)."""

from __future__ import annotations

import gzip
import io
import json
import pathlib
import tarfile
from collections.abc import Iterator

import pytest

from landlord.demo import Registry
from landlord.git import network
from landlord.oci import artifact, client, reference
from tests.fixtures.oci import REGISTRY_PASSWORD, REGISTRY_USER
from tests.helpers import landlord

FILES = {"kustomization.yaml": "resources: [app.yaml]\n", "app.yaml": "kind: ConfigMap\n"}


def _any(url: str) -> network.Resolution | None:
    return None


def _client(
    registry: Registry,
    repo: str,
    *,
    username: str | None = REGISTRY_USER,
    password: str | None = REGISTRY_PASSWORD,
    **options: object,
) -> client.Client:
    return client.Client(
        reference.Repository(registry.host, repo),
        credentials=client.Credentials(username, password, ca_pem=registry.ca_pem),
        check=_any,
        timeout=20,
        **options,  # type: ignore[arg-type]
    )


def _unpack(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        return {
            member.name: tar.extractfile(member).read().decode()  # type: ignore[union-attr]
            for member in tar.getmembers()
            if member.isfile()
        }


@pytest.fixture(scope="module")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, registry_binary: pathlib.Path
) -> Iterator[Registry]:
    """Docker's token authentication: a JWT from a token service on loopback."""
    server = Registry(
        tmp_path_factory.mktemp("token-registry"),
        binary=registry_binary,
        users={REGISTRY_USER: REGISTRY_PASSWORD},
        token_auth=True,
    ).start()
    yield server
    server.stop()


# -- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_an_artifact_round_trips_by_tag_and_by_digest(
    auth: str, registry: Registry, token_registry: Registry, tmp_path: pathlib.Path
) -> None:
    server = registry if auth == "htpasswd" else token_registry
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    pusher = _client(server, "round/trip")

    digest = artifact.push(
        pusher, tmp_path, tag="v1", source="https://git.example/x", revision="main@sha1:abc"
    )

    puller = _client(server, "round/trip")  # a fresh client: its own challenge and token
    by_tag = puller.manifest("v1")
    assert by_tag.digest == digest
    assert puller.manifest(digest) == by_tag
    assert by_tag.config.media_type == artifact.CONFIG_MEDIA_TYPE
    assert by_tag.annotations[artifact.REVISION_ANNOTATION] == "main@sha1:abc"
    assert by_tag.annotations[artifact.SOURCE_ANNOTATION] == "https://git.example/x"
    (layer,) = by_tag.layers
    assert layer.media_type == artifact.CONTENT_MEDIA_TYPE
    sink = io.BytesIO()
    puller.fetch_blob(layer, sink, max_bytes=layer.size)
    assert _unpack(sink.getvalue()) == FILES


def test_pushing_the_same_folder_again_keeps_the_digest(
    registry: Registry, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\n")
    first = artifact.push(
        _client(registry, "same/again"), tmp_path, tag="v1", source=None, revision=None
    )
    second = artifact.push(
        _client(registry, "same/again"), tmp_path, tag="v2", source=None, revision=None
    )

    assert first == second


def test_an_image_manifest_is_read(registry: Registry) -> None:
    digest = registry.push_image("images/app", "1.0.0", layers=2)

    found = _client(registry, "images/app").manifest("1.0.0")

    assert found.digest == digest
    assert found.media_type == client.OCI_MANIFEST
    assert len(found.layers) == 2


def test_an_image_index_resolves_to_its_linux_amd64_manifest(registry: Registry) -> None:
    amd64 = registry.push_image("images/multi", "amd64")
    arm64 = registry.push_image("images/multi", "arm64")
    pusher = _client(registry, "images/multi")

    def index(*platforms: tuple[str, str]) -> bytes:
        entries = [
            {
                "mediaType": client.OCI_MANIFEST,
                "digest": digest,
                "size": 10,
                "platform": {"os": "linux", "architecture": arch},
            }
            for digest, arch in platforms
        ]
        return json.dumps(
            {"schemaVersion": 2, "mediaType": client.OCI_INDEX, "manifests": entries}
        ).encode()

    pusher.push_manifest(index((amd64, "amd64"), (arm64, "arm64")), client.OCI_INDEX, "multi")
    assert pusher.manifest("multi").digest == amd64

    pusher.push_manifest(index((arm64, "arm64")), client.OCI_INDEX, "armonly")
    with pytest.raises(client.OciError, match="0 linux/amd64 manifests") as caught:
        pusher.manifest("armonly")
    assert caught.value.reason == "InvalidArtifact"


# -- tags ------------------------------------------------------------------------------


def test_tags_follow_the_link_pages(registry: Registry) -> None:
    for tag in ("1.0.0", "1.1.0", "1.2.0", "2.0.0", "latest"):
        registry.push_image("paged/app", tag)
    before = registry.requests_settled("paged/app")

    found = _client(registry, "paged/app", page_size=2).tags(limit=10)

    assert sorted(found) == ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "latest"]
    # Three pages of two (and each page's anonymous try and challenge): more than one GET.
    assert registry.requests_settled("paged/app") - before >= 3


def test_more_tags_than_the_limit_stop_the_listing(registry: Registry) -> None:
    for tag in ("a", "b", "c", "d"):
        registry.push_image("many/tags", tag)

    assert len(_client(registry, "many/tags", page_size=2).tags(limit=4)) == 4
    with pytest.raises(client.OciError, match="more than 3 tags") as caught:
        _client(registry, "many/tags", page_size=2).tags(limit=3)
    assert caught.value.reason == "TooManyTags"


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_a_deleted_tag_is_gone(auth: str, registry: Registry, token_registry: Registry) -> None:
    server = registry if auth == "htpasswd" else token_registry
    server.push_image("deleted/app", "1.0.0")
    server.push_image("deleted/app", "2.0.0")

    server.delete_tag("deleted/app", "2.0.0")

    assert _client(server, "deleted/app").tags(limit=10) == ["1.0.0"]
    with pytest.raises(client.OciError) as caught:
        _client(server, "deleted/app").manifest("2.0.0")
    assert caught.value.reason == "ArtifactNotFound"


# -- failures --------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_a_wrong_password_is_an_authentication_failure(
    auth: str, registry: Registry, token_registry: Registry
) -> None:
    server = registry if auth == "htpasswd" else token_registry
    server.push_image("auth/app", "1.0.0")

    with pytest.raises(client.OciError) as caught:
        _client(server, "auth/app", password="not-the-password").manifest("1.0.0")

    assert caught.value.reason == "AuthenticationFailed"
    assert "not-the-password" not in str(caught.value)


def test_no_credentials_where_they_are_needed_say_so(registry: Registry) -> None:
    registry.push_image("auth/anonymous", "1.0.0")

    with pytest.raises(client.OciError, match="requires credentials") as caught:
        _client(registry, "auth/anonymous", username=None, password=None).manifest("1.0.0")
    assert caught.value.reason == "AuthenticationFailed"


def test_an_anonymous_token_grants_nothing(token_registry: Registry) -> None:
    token_registry.push_image("auth/anon-token", "1.0.0")

    with pytest.raises(client.OciError) as caught:
        _client(token_registry, "auth/anon-token", username=None, password=None).manifest("1.0.0")
    assert caught.value.reason == "AuthenticationFailed"


def test_a_missing_tag_or_repository_is_not_found(registry: Registry) -> None:
    registry.push_image("missing/app", "1.0.0")

    for repo, tag in (("missing/app", "9.9.9"), ("missing/nothing-here", "1.0.0")):
        with pytest.raises(client.OciError, match="has no manifest") as caught:
            _client(registry, repo).manifest(tag)
        assert caught.value.reason == "ArtifactNotFound"


def test_an_untrusted_registry_certificate_is_refused(registry: Registry) -> None:
    untrusted = client.Client(
        reference.Repository(registry.host, "missing/app"),
        credentials=client.Credentials(REGISTRY_USER, REGISTRY_PASSWORD),
        check=_any,
        timeout=10,
    )

    with pytest.raises(client.OciError, match="TLS certificate not trusted") as caught:
        untrusted.manifest("1.0.0")
    assert REGISTRY_PASSWORD not in str(caught.value)


def test_a_blob_over_the_cap_is_refused_before_it_is_requested(registry: Registry) -> None:
    registry.push_image("capped/app", "1.0.0")
    registry_client = _client(registry, "capped/app")
    (layer,) = registry_client.manifest("1.0.0").layers

    with pytest.raises(client.OciError, match="the limit is") as caught:
        registry_client.fetch_blob(layer, io.BytesIO(), max_bytes=layer.size - 1)

    assert caught.value.reason == "ArtifactTooLarge"
    registry.requests_settled()  # a request is logged just after it is answered
    assert ("GET", f"/v2/capped/app/blobs/{layer.digest}") not in {
        (method, path) for method, path, _ in registry.accessed()
    }


def test_a_manifest_over_the_cap_is_refused(registry: Registry) -> None:
    registry.push_image("capped/manifest", "1.0.0")

    with pytest.raises(client.OciError) as caught:
        _client(registry, "capped/manifest", max_manifest_bytes=100).manifest("1.0.0")
    assert caught.value.reason == "ArtifactTooLarge"


def test_a_denied_registry_is_never_contacted(quiet_registry: Registry) -> None:
    registry = quiet_registry  # no live object scans it: its log counts only this test
    before = registry.requests_settled()

    def deny(url: str) -> network.Resolution:
        raise network.BlockedAddressError(url, "denied by the test")

    denied = client.Client(
        reference.Repository(registry.host, "denied/app"),
        credentials=None,
        check=deny,
        timeout=5,
    )
    with pytest.raises(network.BlockedAddressError):
        denied.tags(limit=10)

    assert registry.requests_settled() == before
    assert registry.requests_settled("denied/app") == 0


# -- the CLI ---------------------------------------------------------------------------


def test_landlord_push_and_pull_artifact(registry: Registry, tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    for name, text in {**FILES, "README.md": "left out\n"}.items():
        (folder / name).write_text(text)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(registry.ca_pem)
    env = {"LANDLORD_REGISTRY_PASSWORD": REGISTRY_PASSWORD}
    kubeconfig = tmp_path / "no-kubeconfig"

    pushed = landlord(
        kubeconfig,
        "push",
        "artifact",
        f"{registry.url('cli/app')}:v1",
        "--path",
        str(folder),
        "--source",
        "https://git.example/app",
        "--revision",
        "main@sha1:0123",
        "--annotation",
        "team=blue",
        "--ignore-paths",
        "*.md",
        "--creds",
        REGISTRY_USER,
        "--ca-file",
        str(ca),
        "-o",
        "json",
        env=env,
    )

    assert pushed.returncode == 0, pushed.stderr
    result = json.loads(pushed.stdout)
    assert result["repository"] == registry.url("cli/app")
    assert result["tag"] == "v1"
    manifest = _client(registry, "cli/app").manifest("v1")
    assert result["digest"] == manifest.digest
    assert manifest.annotations["team"] == "blue"

    target = tmp_path / "pulled"
    pulled = landlord(
        kubeconfig,
        "pull",
        "artifact",
        f"{registry.url('cli/app')}:v1",
        "--output-dir",
        str(target),
        "--creds",
        REGISTRY_USER,
        "--ca-file",
        str(ca),
        env=env,
    )

    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip() == manifest.digest
    assert {path.name: path.read_text() for path in target.iterdir()} == FILES


def test_landlord_push_artifact_failures(registry: Registry, tmp_path: pathlib.Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(registry.ca_pem)
    kubeconfig = tmp_path / "no-kubeconfig"

    no_tag = landlord(
        kubeconfig, "push", "artifact", registry.url("cli/app"), "--path", str(tmp_path)
    )
    assert no_tag.returncode == 2
    assert "oci://HOST/REPO:TAG" in no_tag.stderr

    full = tmp_path / "full"
    full.mkdir()
    (full / "kept").write_text("kept")
    not_empty = landlord(
        kubeconfig, "pull", "artifact", f"{registry.url('cli/app')}:v1", "--output-dir", str(full)
    )
    assert not_empty.returncode == 2  # bad usage, before the registry is asked
    assert "is not empty" in not_empty.stderr
    assert [path.name for path in full.iterdir()] == ["kept"]

    wrong = landlord(
        kubeconfig,
        "push",
        "artifact",
        f"{registry.url('cli/app')}:v2",
        "--path",
        str(tmp_path),
        "--creds",
        f"{REGISTRY_USER}:wrong-pass-word",
        "--ca-file",
        str(ca),
    )
    assert wrong.returncode == 1
    assert "refused the credentials" in wrong.stderr
    assert "wrong-pass-word" not in wrong.stderr + wrong.stdout
