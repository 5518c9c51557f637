"""Drill 8 (second part): the operator's kubeconfig credentials rotated under it.

The operator runs from a kubeconfig holding a service account token bound to a
Secret. The rotation issues a second token and revokes the first (its Secret is
deleted) *before* the file is rewritten — the worst order. While the apiserver
refuses the old token nothing is written or deleted (a pushed revision that
prunes waits, a drift waits), ``/readyz`` says why, and the process keeps
running; once the file holds the new token the same process reads it again and
catches up: the revision applied whole, the drift repaired, the watches back.
"""

from __future__ import annotations

import os
import pathlib
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import yaml
from kubernetes import client as k8s

from landlord import errors, kube
from landlord.cluster import ports
from landlord.demo import GitServer
from tests.faults import harness
from tests.faults.conftest import SMALL, small_tenant
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually

NAMESPACE = "credentials-drill"
ACCOUNT = "operator"
DRILL = "credentials-drill"
WAIT = 4.0  # seconds the drill watches the refused operator


@pytest.fixture
def account(admin: kube.Kube) -> Iterator[str]:
    """A service account with cluster-admin, for the operator to run as."""
    admin.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        field_manager=DRILL,
    )
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": ACCOUNT, "namespace": NAMESPACE},
        },
        field_manager=DRILL,
    )
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": NAMESPACE},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}],
    }
    admin.apply(binding, field_manager=DRILL)
    yield ACCOUNT
    admin.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", NAMESPACE)
    admin.delete("v1", "Namespace", NAMESPACE)


def _token(admin: kube.Kube, secret: str) -> str:
    """A token of the account, valid while Secret ``secret`` exists (its revocation)."""
    made = admin.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret, "namespace": NAMESPACE},
        }
    )
    request = k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(
            expiration_seconds=3600,
            bound_object_ref=k8s.V1BoundObjectReference(
                api_version="v1", kind="Secret", name=secret, uid=made["metadata"]["uid"]
            ),
        )
    )
    answer = admin.core.create_namespaced_service_account_token(ACCOUNT, NAMESPACE, request)
    return str(answer.status.token)


def _write_kubeconfig(path: pathlib.Path, admin: kube.Kube, token: str) -> None:
    """As a rotation would: the whole file replaced at once."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "drill",
                "cluster": {
                    "server": admin.configuration.host,
                    "certificate-authority": admin.configuration.ssl_ca_cert,
                },
            }
        ],
        "users": [{"name": "drill", "user": {"token": token}}],
        "contexts": [{"name": "drill", "context": {"cluster": "drill", "user": "drill"}}],
        "current-context": "drill",
    }
    staged = path.with_suffix(".new")
    staged.write_text(yaml.safe_dump(document))
    os.replace(staged, path)


def _refused(client: kube.Kube) -> bool:
    try:
        client.get("v1", "Namespace", NAMESPACE)
    except errors.ApiError as error:
        return error.status == 401
    return False


def _readyz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_rotated_credentials_are_read_again_and_nothing_moves_while_refused(
    account: str,  # first: its binding outlives the Tenants' cleanup
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    operator: OperatorProcess,
    tmp_path: pathlib.Path,
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    _write_kubeconfig(kubeconfig, admin, _token(admin, "token-a"))
    health = ports.free_ports(1)[0]
    operator.start(
        {"KUBECONFIG": str(kubeconfig), "LANDLORD_TELEMETRY__HEALTH_BIND": f"127.0.0.1:{health}"}
    )
    name, _ = small_tenant(git_server, tenants, admin)
    assert operator.process is not None
    pid = operator.process.pid
    eventually(lambda: _readyz(health)[0] == 200, timeout=30, what="the operator ready")

    fresh = _token(admin, "token-b")
    admin.delete("v1", "Secret", "token-a", NAMESPACE)  # token A revoked; the file still holds it
    # The apiserver remembers an accepted token for up to 10 s: wait until it refuses A.
    stale = kube.connect(kubeconfig)
    eventually(lambda: _refused(stale), timeout=30, what="token A refused")
    stale.close()
    kept = harness.owned(admin, name, name)
    revision = harness.Revision.of("r1", range(SMALL // 2))  # prunes half
    sha = git_server.commit(name, revision.files(), message="r1")
    drifted = sorted(kept)[-1]
    admin.delete("v1", "ConfigMap", drifted, name)

    said = eventually(
        lambda: (lambda r: r[1] if r[0] == 503 else None)(_readyz(health)),
        timeout=30,
        what="/readyz saying the credentials are refused",
    )
    assert "refused the credentials" in said, said
    assert str(kubeconfig) in said, said
    time.sleep(WAIT)
    now = harness.owned(admin, name, name)
    assert sorted(now) == sorted(set(kept) - {drifted}), "written or deleted while refused"
    assert all(body["data"]["rev"] == "r0" for body in now.values())
    assert operator.process.poll() is None, operator.log()[-3000:]
    assert "refuses the credentials of" in operator.log()

    _write_kubeconfig(kubeconfig, admin, fresh)
    eventually(
        lambda: harness.ready_at(admin, name, name, sha), timeout=60, what="r1 with the new token"
    )
    assert harness.problems(admin, name, name, revision) == []
    assert operator.process.pid == pid, "restarted"
    assert operator.process.poll() is None, operator.log()[-3000:]
    eventually(lambda: _readyz(health)[0] == 200, timeout=30, what="ready again")
    assert "holds new credentials" in operator.log()
    # The watches are back: a drift made now is repaired.
    admin.delete("v1", "ConfigMap", "cm-0000", name)
    eventually(
        lambda: admin.get("v1", "ConfigMap", "cm-0000", name), timeout=30, what="drift repaired"
    )
