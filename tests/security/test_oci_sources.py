"""A tenant's OCIRepository against a real registry: what it may not make Landlord do.

The pull step runs as the operator runs it (``tests/sources/ociharness.py``)
against the real distribution registry on loopback; the registry's access log
proves what was never requested. The live reconciler (status, Events, the
sync) is tested in ``tests/sources/test_ocirepository.py``.
"""

from __future__ import annotations

import base64
import gzip
import io
import pathlib
import tarfile
from typing import Any

import pytest

from landlord.api import reasons
from landlord.api.ocirepository import OCIRepositorySpec
from landlord.demo.registry import Registry
from landlord.gitops import artifacts
from tests.fixtures.oci import REGISTRY_PASSWORD, REGISTRY_USER
from tests.sources.ociharness import (
    NS,
    TENANT,
    Harness,
    blob_requests,
    entry,
    link,
    push_layer,
    tgz,
)


@pytest.fixture
def harness(tmp_path: pathlib.Path, registry: Registry) -> Harness:
    return Harness(tmp_path, registry)


# -- the policy decides before any request ------------------------------------------


def test_a_denied_registry_is_never_contacted(tmp_path: pathlib.Path, registry: Registry) -> None:
    registry.push_artifact("denied/app", "v1", {"a.yaml": "a: 1\n"})
    url = registry.url("denied/app")
    harness = Harness(tmp_path, registry, f"p, tenant:{TENANT}, source, {url}, deny\n")
    before = registry.requests_settled("denied/app")  # the push above, logged

    outcome, artifact, shown = harness.pull("denied/app")

    assert (outcome.ready, outcome.reason, outcome.stalled) == (False, reasons.POLICY_DENIED, True)
    assert f"`p, tenant:{TENANT}, source, {url}, allow`" in outcome.message
    assert artifact is None
    assert shown == url
    assert registry.requests_settled("denied/app") == before
    assert harness.stored() == []
    allowed, _, _ = Harness(tmp_path / "allowed", registry).pull("denied/app")
    assert allowed.ready  # the same pull, allowed, is seen in the log
    assert registry.requests_settled("denied/app") > before


def test_the_policy_decides_on_the_one_spelling(
    tmp_path: pathlib.Path, quiet_registry: Registry
) -> None:
    url = quiet_registry.url("denied/app")
    harness = Harness(tmp_path, quiet_registry, f"p, tenant:{TENANT}, source, {url}, deny\n")
    before = quiet_registry.requests_settled()
    loud = url.replace("oci://", "OCI://").replace("127.0.0.1", "127.000.0.1")

    outcome, _, _ = harness.pull(loud)

    assert outcome.reason in (reasons.POLICY_DENIED, reasons.INVALID_SOURCE)
    assert quiet_registry.requests_settled() == before


def test_insecure_is_refused_unless_the_platform_allows_it(
    tmp_path: pathlib.Path, quiet_registry: Registry
) -> None:
    harness = Harness(tmp_path, quiet_registry)
    before = quiet_registry.requests_settled()

    outcome, _, _ = harness.pull("app", insecure=True)

    assert (outcome.reason, outcome.stalled) == (reasons.INSECURE_NOT_ALLOWED, True)
    assert "LANDLORD_OCI__ALLOW_INSECURE" in outcome.message
    assert quiet_registry.requests_settled() == before


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"provider": "aws"}, reasons.PROVIDER_NOT_SUPPORTED),
        ({"verify": {"provider": "cosign"}}, reasons.VERIFICATION_NOT_SUPPORTED),
    ],
)
def test_fields_landlord_cannot_honour_are_refused_not_ignored(
    tmp_path: pathlib.Path, quiet_registry: Registry, spec: dict[str, Any], reason: str
) -> None:
    harness = Harness(tmp_path, quiet_registry)
    before = quiet_registry.requests_settled()

    outcome, _, _ = harness.pull("app", **spec)

    assert (outcome.reason, outcome.stalled) == (reason, True)
    assert quiet_registry.requests_settled() == before


def test_credentials_in_the_url_are_refused_and_never_shown(
    tmp_path: pathlib.Path, quiet_registry: Registry
) -> None:
    url = f"oci://{REGISTRY_USER}:{REGISTRY_PASSWORD}@{quiet_registry.host}/app"
    harness = Harness(tmp_path, quiet_registry)
    before = quiet_registry.requests_settled()

    outcome, _, shown = harness.pull(url)

    assert (outcome.reason, outcome.stalled) == (reasons.INVALID_SOURCE, True)
    assert REGISTRY_PASSWORD not in outcome.message
    assert REGISTRY_PASSWORD not in str(shown)
    assert quiet_registry.requests_settled() == before


def test_a_refused_password_is_not_in_the_message(harness: Harness, registry: Registry) -> None:
    registry.push_artifact("creds/app", "v1", {"a.yaml": "a: 1\n"})

    outcome, _, _ = harness.pull("creds/app", secretRef={"name": "wrong"})

    assert outcome.reason == "AuthenticationFailed"
    assert "not-the-password-9431" not in outcome.message
    assert harness.stored() == []


# -- caps, before a byte is downloaded ----------------------------------------------


def test_a_layer_over_the_cap_is_refused_before_download(
    harness: Harness, registry: Registry
) -> None:
    files = {f"f{i}.txt": base64.b64encode(bytes(range(256)) * 40).decode() for i in range(4)}
    registry.push_artifact("big/app", "v1", files)

    outcome, artifact, _ = harness.pull("big/app", _config={"max_layer_bytes": 1024})

    assert outcome.reason == reasons.ARTIFACT_TOO_LARGE
    assert "nothing was downloaded" in outcome.message
    assert artifact is None
    assert blob_requests(registry, "big/app") == 0
    assert harness.stored() == []


def test_a_layer_that_expands_past_the_caps_stops_at_the_cap(
    harness: Harness, registry: Registry
) -> None:
    # 300 MiB of zeros, a few hundred KiB compressed: the extracted-size cap stops it.
    compressed = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=1) as stream,
        tarfile.open(fileobj=stream, mode="w|") as tar,
    ):
        info = entry("zeros.bin", 300 * 1024**2)
        tar.addfile(info, _Zeros(info.size))
    push_layer(registry, "bomb/app", "v1", compressed.getvalue())
    harness.limits = artifacts.Limits(max_file_bytes=400 * 1024**2)

    outcome, artifact, _ = harness.pull("bomb/app")

    assert outcome.reason == reasons.ARTIFACT_TOO_LARGE
    assert artifact is None
    assert harness.stored() == []


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


# -- what the layer holds -------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([entry("../escape.yaml")], "UnsafePath"),
        ([entry("ok/../../escape.yaml")], "UnsafePath"),
        ([entry("/etc/passwd-ish")], "UnsafePath"),
        ([link("out", "../../../../etc")], "UnsafeSymlink"),
        ([link("abs", "/etc/passwd")], "UnsafeSymlink"),
        ([link("dir", "."), entry("dir/x.yaml")], "UnsafePath"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-out", "symlink-absolute", "through-link"],
)
def test_an_unsafe_entry_refuses_the_whole_artifact(
    harness: Harness, registry: Registry, entries: list[tarfile.TarInfo], reason: str
) -> None:
    data = {info.name: b"x\n" for info in entries if info.isfile()}
    layer = tgz([entry("good.yaml", 2), *entries], {"good.yaml": b"a\n", **data})
    push_layer(registry, "unsafe/app", "v1", layer)

    outcome, artifact, _ = harness.pull("unsafe/app")

    assert (outcome.ready, outcome.reason) == (False, reason)
    assert artifact is None
    assert harness.stored() == []
    assert not (harness.root / "escape.yaml").exists()


@pytest.mark.parametrize(
    "layer",
    [
        gzip.compress(b"not a tar" * 100),
        b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4,  # a gzip header, then no deflate stream
        gzip.compress(tgz([entry("a.yaml", 2)], {"a.yaml": b"a\n"}))[:-40],  # truncated
        b"\x1f\x8b",
    ],
    ids=["not-a-tar", "bad-deflate", "truncated", "header-only"],
)
def test_a_layer_that_is_not_a_tarball_is_refused(
    harness: Harness, registry: Registry, layer: bytes
) -> None:
    push_layer(registry, "garbage/app", "v1", layer)

    outcome, artifact, _ = harness.pull("garbage/app")

    assert not outcome.ready
    assert outcome.reason == reasons.ARTIFACT_FAILED
    assert artifact is None
    assert harness.stored() == []


def test_a_failure_keeps_the_last_artifact(harness: Harness, registry: Registry) -> None:
    registry.push_artifact("keep/app", "v1", {"a.yaml": "a: 1\n"})
    outcome, first, _ = harness.pull("keep/app", ref={"tag": "v1"})
    assert outcome.ready

    spec = OCIRepositorySpec.model_validate(
        {
            "url": registry.url("keep/app"),
            "ref": {"tag": "gone"},
            "secretRef": {"name": "auth"},
            "certSecretRef": {"name": "certs"},
        }
    )
    failed, kept, _ = harness.fetcher().fetch(NS, "app", spec, first)

    assert not failed.ready
    assert failed.reason == "ArtifactNotFound"
    assert kept == first


def test_a_token_realm_elsewhere_is_decided_by_the_policy(
    tmp_path: pathlib.Path, registry_binary: pathlib.Path
) -> None:
    users = {REGISTRY_USER: REGISTRY_PASSWORD}
    with Registry(tmp_path / "reg", binary=registry_binary, users=users, token_auth=True) as tokens:
        assert tokens.tokens is not None
        tokens.push_artifact("realm/app", "v1", {"a.yaml": "a: 1\n"})
        realm = tokens.tokens.realm
        issued = tokens.tokens.count
        open_policy = Harness(tmp_path / "open", tokens)
        outcome, _, _ = open_policy.pull("realm/app")
        assert outcome.ready, outcome.message
        assert tokens.tokens.count > issued

        closed = Harness(
            tmp_path / "closed",
            tokens,
            f"p, tenant:{TENANT}, source, {realm.rpartition('/')[0]}/**, deny\n",
        )
        issued = tokens.tokens.count
        outcome, artifact, _ = closed.pull("realm/app")

        assert (outcome.reason, outcome.stalled) == (reasons.POLICY_DENIED, True)
        assert realm in outcome.message
        assert artifact is None
        assert tokens.tokens.count == issued  # the realm was never asked for a token


def test_a_real_300_mib_layer_is_refused_before_download(
    harness: Harness, registry: Registry
) -> None:
    # The default cap (LANDLORD_OCI__MAX_LAYER_BYTES, 100 MiB) against a real blob.
    push_layer(registry, "huge/app", "v1", bytes(300 * 1024**2))

    outcome, artifact, _ = harness.pull("huge/app")

    assert outcome.reason == reasons.ARTIFACT_TOO_LARGE
    assert str(300 * 1024**2) in outcome.message
    assert artifact is None
    assert blob_requests(registry, "huge/app") == 0
    assert harness.stored() == []
