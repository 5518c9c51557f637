"""SOPS: encrypted files of a revision are decrypted with the tenant's age key, as the tenant.

A revision that cannot be decrypted whole (wrong key, a tampered file, no
decryption configured) applies nothing, and the previous state stays.
"""

from __future__ import annotations

import base64
import os
import pathlib
import subprocess
import sys
import time
from typing import Any

import pytest
import yaml

from landlord import kube
from landlord.demo import GitServer
from landlord.tenants import sopskeys
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import Tenants
from tests.fixtures.sops import AgeKey, SopsTools
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map

PASSWORD_VALUE = "correct-horse-battery-staple-7f3a"
TOKEN_VALUE = "tok_9c8b7a6d5e4f3a2b1c0d"
API_KEY_VALUE = "ak-51d0c2e9-encrypted-env"


def secret(name: str, **values: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "stringData": values,
    }


def decoded(live: dict[str, Any] | None) -> dict[str, str]:
    assert live is not None
    return {k: base64.b64decode(v).decode() for k, v in (live.get("data") or {}).items()}


@pytest.fixture
def decrypting_repo(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    sops_tools: SopsTools,
) -> tuple[TenantRepo, AgeKey]:
    """A tenant whose sync decrypts with the key `landlord sops keygen` made for it."""
    name = tenants.name("sops")
    git_server.create(name)
    git_server.commit(name, {"deploy/base.yaml": yaml.safe_dump(config_map("base", v="1"))})
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
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
    key = sopskeys.create(admin, name, sops_tools.age_keygen)
    secret_body = admin.get("v1", "Secret", sopskeys.SECRET, name)
    assert secret_body is not None
    private = base64.b64decode(secret_body["data"][sopskeys.ENTRY]).decode().strip()
    repo = TenantRepo(admin, git_server, tenants, name, name)
    time.sleep(0.1)
    return repo, AgeKey(private, key.public)


def test_encrypted_manifests_and_generator_files_are_decrypted_and_applied(
    decrypting_repo: tuple[TenantRepo, AgeKey], sops_tools: SopsTools
) -> None:
    repo, key = decrypting_repo
    kustomization = {
        "resources": ["db.enc.yaml", "base.yaml"],
        # Transformers change the encrypted object: decrypting before the build keeps its MAC.
        "namespace": repo.name,
        "labels": [{"pairs": {"app": "shop"}}],
        "secretGenerator": [
            {"name": "api-env", "envs": ["api.enc.env"]},
            {"name": "api-token", "files": ["token=token.enc.bin"]},
        ],
        "generatorOptions": {"disableNameSuffixHash": True},
    }
    sha = repo.push(
        {
            "deploy/kustomization.yaml": kustomization,
            "deploy/base.yaml": config_map("base", v="2"),
            "deploy/db.enc.yaml": sops_tools.encrypt(
                yaml.safe_dump(secret("db", password=PASSWORD_VALUE)), key
            ),
            "deploy/api.enc.env": sops_tools.encrypt(
                f"API_KEY={API_KEY_VALUE}\nMODE=live\n", key, fmt="dotenv"
            ),
            "deploy/token.enc.bin": sops_tools.encrypt(TOKEN_VALUE, key, fmt="binary"),
        }
    )

    status = repo.ready_at(sha)

    db = repo.get("Secret", "db")
    assert decoded(db) == {"password": PASSWORD_VALUE}
    assert db is not None
    assert db["metadata"]["labels"]["app"] == "shop"
    assert "sops" not in db
    assert decoded(repo.get("Secret", "api-env")) == {"API_KEY": API_KEY_VALUE, "MODE": "live"}
    assert decoded(repo.get("Secret", "api-token")) == {"token": TOKEN_VALUE}
    assert (repo.get("ConfigMap", "base") or {})["data"] == {"v": "2"}
    entries = {entry["id"] for entry in status["inventory"]["entries"]}
    assert f"{repo.name}_db__Secret" in entries


def test_a_wrong_key_or_a_tampered_file_applies_nothing(
    decrypting_repo: tuple[TenantRepo, AgeKey], sops_tools: SopsTools
) -> None:
    repo, key = decrypting_repo
    sha = repo.push({"deploy/base.yaml": config_map("base", v="1")})
    repo.ready_at(sha)

    stranger = sops_tools.key()
    sha = repo.push(
        {
            "deploy/base.yaml": config_map("base", v="2"),
            "deploy/db.yaml": sops_tools.encrypt(
                yaml.safe_dump(secret("db", password=PASSWORD_VALUE)), stranger
            ),
        }
    )
    ready = repo.failed("DecryptionFailed", sha)
    assert "deploy/db.yaml" in ready["message"]
    assert f"no key of Secret {repo.name}/{sopskeys.SECRET} decrypts it" in ready["message"]
    assert (repo.get("ConfigMap", "base") or {})["data"] == {"v": "1"}
    assert repo.get("Secret", "db") is None

    encrypted = sops_tools.encrypt(yaml.safe_dump(secret("db", password=PASSWORD_VALUE)), key)
    tampered = encrypted.replace("type: Opaque", "type: kubernetes.io/basic-auth")
    assert tampered != encrypted
    sha = repo.push({"deploy/db.yaml": tampered})
    ready = repo.failed("DecryptionFailed", sha)
    assert "MAC does not match" in ready["message"]
    assert (repo.get("ConfigMap", "base") or {})["data"] == {"v": "1"}
    assert repo.get("Secret", "db") is None

    sha = repo.push({"deploy/db.yaml": encrypted})
    repo.ready_at(sha)
    assert decoded(repo.get("Secret", "db")) == {"password": PASSWORD_VALUE}
    assert (repo.get("ConfigMap", "base") or {})["data"] == {"v": "2"}


def test_an_encrypted_file_without_decryption_is_refused_by_name(
    tenant_repo: TenantRepo, sops_tools: SopsTools
) -> None:
    key = sops_tools.key()
    sha = tenant_repo.push(
        {
            "deploy/base.yaml": config_map("base"),
            "deploy/db.yaml": sops_tools.encrypt(yaml.safe_dump(secret("db", password="x")), key),
        }
    )

    ready = tenant_repo.failed("DecryptionFailed", sha)

    assert "deploy/db.yaml" in ready["message"]
    assert "spec.decryption is not set" in ready["message"]
    assert tenant_repo.get("ConfigMap", "base") is None


def test_a_decrypted_secret_edited_in_the_cluster_is_restored(
    decrypting_repo: tuple[TenantRepo, AgeKey], sops_tools: SopsTools, admin: kube.Kube
) -> None:
    repo, key = decrypting_repo
    sha = repo.push(
        {
            "deploy/db.yaml": sops_tools.encrypt(
                yaml.safe_dump(secret("db", password=PASSWORD_VALUE)), key
            )
        }
    )
    repo.ready_at(sha)
    time.sleep(1.0)  # the Secret watch of the namespace lists what was applied

    admin.merge_patch(
        "v1",
        "Secret",
        "db",
        {"data": {"password": base64.b64encode(b"changed-by-hand").decode()}},
        repo.name,
    )

    eventually(
        lambda: decoded(repo.get("Secret", "db")) == {"password": PASSWORD_VALUE},
        timeout=30,
        what="the edited Secret to be restored",
    )


def test_sops_keygen_stores_a_key_prints_only_its_public_half_and_keeps_an_existing_one(
    control_plane: pathlib.Path, admin: kube.Kube, tenants: Tenants
) -> None:
    name = tenants.create(tenants.name("keygen"))
    tenants.ready(name)

    def keygen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "landlord", "sops", "keygen", "--tenant", name, *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "KUBECONFIG": str(control_plane), "COLUMNS": "200"},
            timeout=120,
        )

    made = keygen()
    assert made.returncode == 0, made.stderr
    live = admin.get("v1", "Secret", sopskeys.SECRET, name)
    assert live is not None
    private = base64.b64decode(live["data"][sopskeys.ENTRY]).decode().strip()
    public = live["metadata"]["annotations"][sopskeys.RECIPIENT]
    assert private.startswith("AGE-SECRET-KEY-1")
    assert private not in made.stdout + made.stderr
    assert f"public key: {public}" in made.stdout
    assert f"age: {public}" in made.stdout  # the .sops.yaml snippet
    assert f"name: {sopskeys.SECRET}" in made.stdout  # the spec.decryption snippet

    again = keygen()
    assert again.returncode != 0
    assert f"Secret {name}/{sopskeys.SECRET} exists" in again.stderr + again.stdout
    same = admin.get("v1", "Secret", sopskeys.SECRET, name)
    assert same is not None
    assert same["data"] == live["data"]

    replaced = keygen("--replace")
    assert replaced.returncode == 0, replaced.stderr
    new = admin.get("v1", "Secret", sopskeys.SECRET, name)
    assert new is not None
    assert new["data"] != live["data"]
    assert new["metadata"]["annotations"][sopskeys.RECIPIENT] != public
