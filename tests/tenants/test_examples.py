"""The example tenants in ``tenants/`` are valid for the real apiserver and our model."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from landlord import kube
from landlord.api import labels
from landlord.api.tenant import Tenant

EXAMPLES = sorted((pathlib.Path(__file__).parents[2] / "tenants").glob("*.yaml"))


def test_there_are_three_examples() -> None:
    assert [path.name for path in EXAMPLES] == ["minimal.yaml", "payments.yaml", "storefront.yaml"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_passes_server_side_dry_run(
    admin: kube.Kube, installed: None, path: pathlib.Path
) -> None:
    manifest = yaml.safe_load(path.read_text())

    stored = admin.apply(manifest, field_manager=labels.FIELD_MANAGER, dry_run=True)
    tenant = Tenant.from_object(stored)

    assert tenant.name == manifest["metadata"]["name"]
    assert stored["spec"]["podSecurity"] in ("restricted", "baseline", "privileged")
