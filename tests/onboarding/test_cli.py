"""``landlord tenant …`` against the API, and ``landlord api`` on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from landlord.cluster import ports
from tests.helpers import eventually
from tests.onboarding.conftest import Api


def _landlord(onboarding_api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landlord", *args],
        env={
            **os.environ,
            "KUBECONFIG": str(onboarding_api.kubeconfig),
            "LANDLORD_API__URL": onboarding_api.url,
            "LANDLORD_TOKEN": onboarding_api.admin_token,
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_tenant_commands_create_list_update_and_delete(onboarding_api: Api) -> None:
    name = onboarding_api.name("cli")

    created = _landlord(onboarding_api, "tenant", "create", name, "--quota", "pods=5", "--wait")
    assert created.returncode == 0, created.stderr
    assert f"create {name}: commit" in created.stdout
    listed = _landlord(onboarding_api, "tenant", "list")
    assert name in listed.stdout
    shown = _landlord(onboarding_api, "tenant", "get", name)
    assert f"path: tenants/{name}.yaml" in shown.stdout
    updated = _landlord(onboarding_api, "tenant", "update", name, "--quota", "pods=6")
    assert updated.returncode == 0, updated.stderr
    assert (onboarding_api.file(name) or {})["spec"]["quota"] == {"pods": "6"}
    refused = _landlord(onboarding_api, "tenant", "create", "kube-nope")
    assert refused.returncode == 1
    assert "name:" in refused.stderr + refused.stdout
    deleted = _landlord(onboarding_api, "tenant", "delete", name, "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert onboarding_api.tenant(name) is None


def test_landlord_api_serves_on_its_own(onboarding_api: Api) -> None:
    port = ports.free_ports(1)[0]
    process = subprocess.Popen(
        [sys.executable, "-m", "landlord", "api"],
        env={
            **os.environ,
            "KUBECONFIG": str(onboarding_api.kubeconfig),
            "LANDLORD_API__BIND": f"127.0.0.1:{port}",
            "LANDLORD_POLICY__PATH": str(onboarding_api.config.policy.path),
            "LANDLORD_TELEMETRY__LOG_FORMAT": "text",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def schema() -> dict[str, object] | None:
            with urllib.request.urlopen(f"{base}/openapi.json", timeout=5) as response:
                return dict(json.loads(response.read()))

        document = eventually(schema, timeout=30, what="landlord api to serve")
        assert "/v1/tenants" in document["paths"]  # type: ignore[operator]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/v1/tenants", timeout=5)
        assert refused.value.code == 401
        refused.value.close()
        request = urllib.request.Request(
            f"{base}/v1/tenants", headers={"Authorization": f"Bearer {onboarding_api.admin_token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
