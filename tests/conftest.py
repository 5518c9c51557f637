"""Fixtures shared by every test group.

``control_plane`` starts one real local control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and a kwok node) for the whole run, or
uses the cluster behind ``LANDLORD_TEST_KUBECONFIG`` when that is set. Tests
that use it are marked ``controlplane`` automatically.
"""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Iterator

import pytest

from landlord import kube, settings
from landlord.cluster import controlplane

pytest_plugins = [
    "tests.fixtures.operator",
    "tests.fixtures.git",
    "tests.fixtures.policy",
    "tests.fixtures.realnode",
    "tests.fixtures.multicluster",
    "tests.fixtures.helm",
    "tests.fixtures.sops",
    "tests.fixtures.notify",
    "tests.fixtures.oci",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "control_plane" in fixtures or "admin" in fixtures or "namespace" in fixtures:
            item.add_marker(pytest.mark.controlplane)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pathlib.Path]:
    """The kubeconfig of a real control plane, up for the whole test session."""
    existing = os.environ.get("LANDLORD_TEST_KUBECONFIG")
    if existing:
        yield pathlib.Path(existing)
        return
    config = settings.load()
    options = controlplane.Options(
        state_dir=tmp_path_factory.mktemp("controlplane"),
        cache_dir=config.cluster.cache_dir,
        assets_dir=config.cluster.assets_dir,
        nodes=1,
        timeout=config.cluster.start_timeout,
    )
    plane = controlplane.up(options)
    try:
        yield plane.kubeconfig
    finally:
        controlplane.down(options.state_dir)


@pytest.fixture(scope="session")
def admin(control_plane: pathlib.Path) -> Iterator[kube.Kube]:
    """API access as the cluster admin (``system:masters``)."""
    client = kube.connect(control_plane)
    yield client
    client.close()


@pytest.fixture
def namespace(admin: kube.Kube) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (without waiting)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin.core.create_namespace({"metadata": {"name": name, "labels": {"landlord.dev/test": "1"}}})
    yield name
    admin.core.delete_namespace(name)
