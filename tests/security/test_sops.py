"""A tenant's encrypted Secrets: decrypted only with its own key, as itself, and never shown.

Flux's kustomize-controller once let a Kustomization name a decryption Secret
its service account could not read, because the controller read it; and sops
quotes an input that is not in its format (``Input string … does not match``),
which Flux redacts. Each case here is what a hostile or careless tenant would try.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import yaml

from landlord import api, errors, kube
from landlord.api import conditions
from landlord.demo import GitServer
from landlord.tenants import sopskeys
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.fixtures.sops import AgeKey, SopsTools
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map

SECRET_VALUE = "s3cr3t-plaintext-91c4e7b2"
LABEL_VALUE = "not a valid label 5e1f0d9c"  # spaces: the apiserver refuses and quotes it


def _secret(name: str, **values: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "stringData": values,
    }


def _decrypting_tenant(
    admin: kube.Kube, git: GitServer, tenants: Tenants, tools: SopsTools
) -> tuple[TenantRepo, AgeKey]:
    name = tenants.name("sops")
    git.create(name)
    git.commit(name, {"deploy/base.yaml": yaml.safe_dump(config_map("base"))})
    url = git.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {
            "source": {"url": url, "interval": "1s"},
            "sync": {
                "path": "./deploy",
                "interval": "1m",
                "decryption": {"provider": "sops", "secretRef": {"name": sopskeys.SECRET}},
            },
        },
    )
    tenants.ready(name)
    key = sopskeys.create(admin, name, tools.age_keygen)
    body = admin.get("v1", "Secret", sopskeys.SECRET, name) or {}
    private = base64.b64decode(body["data"][sopskeys.ENTRY]).decode().strip()
    return TenantRepo(admin, git, tenants, name, name), AgeKey(private, key.public)


def _kustomization(admin: kube.Kube, namespace: str, name: str, **spec: Any) -> None:
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": namespace},
                "path": "./deploy",
                "interval": "1m",
                "retryInterval": "1s",
                **spec,
            },
        },
        field_manager="test",
        force=True,
    )


def _reason(admin: kube.Kube, namespace: str, name: str, reason: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, "Kustomization", name, namespace) or {}
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready") or {}
        return ready if ready.get("reason") == reason else None

    return eventually(check, timeout=45, what=f"{namespace}/{name} {reason}")


def test_the_key_is_read_as_the_tenant_and_another_tenants_key_cannot_be_named(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, sops_tools: SopsTools
) -> None:
    victim, victim_key = _decrypting_tenant(admin, git_server, tenants, sops_tools)
    attacker, _ = _decrypting_tenant(admin, git_server, tenants, sops_tools)
    # The attacker commits a copy of the victim's encrypted file and names the
    # victim's key Secret (with a namespace the field does not have).
    sha = attacker.push(
        {
            "deploy/stolen.yaml": sops_tools.encrypt(
                yaml.safe_dump(_secret("stolen", password=SECRET_VALUE)), victim_key
            )
        }
    )
    admin.delete("v1", "Secret", sopskeys.SECRET, attacker.name)
    with pytest.raises(errors.ApiError, match="field not declared in schema"):
        _kustomization(
            admin,
            attacker.name,
            "steal",
            decryption={
                "provider": "sops",
                "secretRef": {"name": sopskeys.SECRET, "namespace": victim.name},
            },
        )
    _kustomization(
        admin,
        attacker.name,
        "steal",
        decryption={"provider": "sops", "secretRef": {"name": sopskeys.SECRET}},
    )
    ready = _reason(admin, attacker.name, "steal", "DecryptionFailed")
    assert f"decryption Secret {attacker.name}/{sopskeys.SECRET} not found" in ready["message"]
    assert victim.name not in ready["message"]
    assert admin.get("v1", "Secret", "stolen", attacker.name) is None
    del sha

    # A service account of the tenant's own that may not read Secrets: the key is
    # read as that account, so it cannot be used (the operator could read it).
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "no-secrets", "namespace": victim.name},
        }
    )
    victim.push(
        {
            "deploy/db.yaml": sops_tools.encrypt(
                yaml.safe_dump(_secret("db", password=SECRET_VALUE)), victim_key
            )
        }
    )
    _kustomization(
        admin,
        victim.name,
        "limited",
        serviceAccountName="no-secrets",
        decryption={"provider": "sops", "secretRef": {"name": sopskeys.SECRET}},
    )
    ready = _reason(admin, victim.name, "limited", "DecryptionFailed")
    assert "service account may not read it" in ready["message"]


def test_plaintext_never_appears_in_status_events_logs_traces_or_metrics(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    operator: OperatorProcess,
    sops_tools: SopsTools,
) -> None:
    # Traces to the log (the console exporter), so the log holds them too.
    operator.start(
        {
            "LANDLORD_TELEMETRY__TRACES_EXPORTER": "console",
            "LANDLORD_SYNC__REQUIRE_ENCRYPTED_SECRETS": "true",
        }
    )
    repo, key = _decrypting_tenant(admin, git_server, tenants, sops_tools)
    # An encrypted label value the apiserver refuses, and quotes in its answer.
    bad = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "tagged", "labels": {"tier": LABEL_VALUE}},
        "data": {"v": "1"},
    }
    sha = repo.push(
        {
            "deploy/db.yaml": sops_tools.encrypt(
                yaml.safe_dump(_secret("db", password=SECRET_VALUE)), key
            ),
            "deploy/tagged.yaml": sops_tools.encrypt(
                yaml.safe_dump(bad), key, encrypted_regex="^(labels)$"
            ),
        }
    )
    ready = _settled_failure(repo, sha)
    assert "<redacted>" in ready["message"], ready
    assert repo.get("Secret", "db") is None

    sha = repo.push({"deploy/tagged.yaml": None})
    repo.ready_at(sha)
    live = repo.get("Secret", "db") or {}
    assert base64.b64decode(live["data"]["password"]).decode() == SECRET_VALUE

    # A Secret in plaintext beside encrypted ones: refused by the platform's setting.
    sha = repo.push({"deploy/plain.yaml": _secret("plain", password="in-git-in-clear")})
    refused = repo.failed("PlaintextSecretRefused", sha)
    assert "password" in refused["message"]
    assert repo.get("Secret", "plain") is None
    time.sleep(1.0)  # the console exporter writes spans in batches

    exposed = {
        "status": json.dumps(repo.status()),
        "events": json.dumps(admin.list_objects("v1", "Event", namespace=repo.name)),
        "log and traces": operator.log(),
        "metrics": operator.metrics(),
    }
    for value in (SECRET_VALUE, LABEL_VALUE, key.private):
        for where, text in exposed.items():
            assert value not in text, f"{value[:6]}… appears in the {where}"
            encoded = base64.b64encode(value.encode()).decode()
            assert encoded not in text, f"{value[:6]}… (base64) appears in the {where}"
    assert "sync.reconcile" in exposed["log and traces"]  # the traces were there to search


def _settled_failure(repo: TenantRepo, sha: str) -> dict[str, Any]:
    """The Ready condition of a failed attempt at ``sha`` (whatever step refused it)."""

    def check() -> dict[str, Any] | None:
        status = repo.status()
        ready = conditions.get(status.get("conditions") or [], "Ready") or {}
        attempted = status.get("lastAttemptedRevision") == f"main@sha1:{sha}"
        return ready if attempted and ready.get("status") == "False" else None

    return eventually(check, timeout=45, what=f"{repo.name} to fail at {sha[:8]}")
