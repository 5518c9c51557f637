"""Where the operator reads its policy: a ConfigMap, the platform repository, a folder."""

from __future__ import annotations

import pathlib

import pytest

from landlord import kube
from landlord.gitops import artifacts
from landlord.policy.engine import DEFAULTS, PolicyError, Snapshot
from landlord.policy.reloader import Reader
from landlord.settings import Settings
from landlord.wiring import policy_sources


def _reader(admin: kube.Kube, tmp_path: pathlib.Path, **settings: object) -> Reader:
    config = Settings.model_validate(settings)
    store = artifacts.ArtifactStore(tmp_path / "artifacts")
    return policy_sources.reader(config, kube_client=admin, store=store)


def test_a_config_map_holds_model_and_policy(
    admin: kube.Kube, namespace: str, tmp_path: pathlib.Path
) -> None:
    read = _reader(
        admin, tmp_path, platform_namespace=namespace, policy={"configmap": "landlord-policy"}
    )
    with pytest.raises(PolicyError, match=f"ConfigMap {namespace}/landlord-policy not found"):
        read()

    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "landlord-policy", "namespace": namespace},
        "data": {"model.conf": (DEFAULTS / "model.conf").read_text()},
    }
    admin.create(body)
    with pytest.raises(PolicyError, match=r"has no key policy\.csv"):
        read()

    body["data"]["policy.csv"] = "p, tenant:a, depend, b/db, allow\n"
    admin.apply(body, field_manager="test", force=True)
    snapshot = read()

    assert snapshot.origin == f"ConfigMap {namespace}/landlord-policy"
    assert snapshot.policy == "p, tenant:a, depend, b/db, allow\n"


def test_without_a_platform_repository_the_shipped_policy_is_used(
    admin: kube.Kube, namespace: str, tmp_path: pathlib.Path
) -> None:
    snapshot = _reader(admin, tmp_path, platform_namespace=namespace)()

    assert snapshot.digest == Snapshot.from_directory(DEFAULTS).digest
    assert "has not been fetched yet" in snapshot.origin


def test_a_folder(admin: kube.Kube, tmp_path: pathlib.Path) -> None:
    read = _reader(admin, tmp_path, policy={"path": str(DEFAULTS)})

    assert read().digest == Snapshot.from_directory(DEFAULTS).digest
