"""``landlord get tenants`` shows name, readiness, namespaces and age."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from tests.fixtures.operator import Tenants


def test_get_tenants_lists_ready_tenants(control_plane: pathlib.Path, tenants: Tenants) -> None:
    name = tenants.create(tenants.name("listed"), {"namespaces": ["listed-x-" + "1"]})
    tenants.ready(name)

    result = subprocess.run(
        [sys.executable, "-m", "landlord", "get", "tenants"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "KUBECONFIG": str(control_plane), "COLUMNS": "200"},
    )

    assert result.returncode == 0, result.stderr
    assert "NAME" in result.stdout
    assert "READY" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith(name))
    assert "True" in row
    assert "listed-x-1" in row
