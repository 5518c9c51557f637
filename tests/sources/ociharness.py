"""The OCIRepository pull step, as the operator builds it, against the real registry.

Shared by ``tests/sources/test_oci_pull.py`` and ``tests/security/test_oci_sources.py``:
the shipped policy (plus a test's lines), the network deny list with loopback
allowed, the artifact store's caps, and the two Secrets a pull reads. The
registry's access log says what was requested.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import pathlib
import re
import shutil
import tarfile
from typing import Any

from landlord import policy, settings
from landlord.api import ocirepository
from landlord.api.ocirepository import OCIRepositorySpec
from landlord.demo.registry import Registry
from landlord.git import network
from landlord.gitops import artifacts, durations
from landlord.oci import client as oci_client
from landlord.policy.engine import Snapshot
from landlord.policy.reloader import Reloader
from landlord.runtime.namespaces import NamespaceLabels
from landlord.sources import ocifetch
from landlord.sources.tenancy import Tenancy
from tests.fixtures.oci import REGISTRY_PASSWORD, REGISTRY_USER
from tests.fixtures.operator import BASELINE_POLICY, REPO_POLICIES

NS = "team-a"
TENANT = "team-a"
CONTENT = "application/vnd.cncf.flux.content.v1.tar+gzip"


class _Secrets:
    """The two Secrets a pull reads (the apiserver decides nothing about them here)."""

    def __init__(self, secrets: dict[str, dict[str, str]]) -> None:
        self.secrets = secrets

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        found = self.secrets.get(name) if kind == "Secret" else None
        return None if found is None else {"data": found}

    def list_objects(self, *_: Any, **__: Any) -> list[dict[str, Any]]:
        return []


def _data(**values: str | bytes) -> dict[str, str]:
    return {
        key: base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()
        for key, value in values.items()
    }


def _docker_config(registry: Registry) -> str:
    pair = base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode()
    return json.dumps({"auths": {registry.host: {"auth": pair}}})


class Harness:
    """One tenant namespace's pull step, as the operator builds it."""

    def __init__(self, root: pathlib.Path, registry: Registry, policy_text: str = "") -> None:
        self.root = root
        self.registry = registry
        folder = root / "policies"
        shutil.copytree(REPO_POLICIES, folder, ignore=shutil.ignore_patterns("tests"))
        (folder / "policy.csv").write_text(BASELINE_POLICY + policy_text)
        self.gate = policy.Gate()
        Reloader(self.gate, lambda: Snapshot.from_directory(folder)).check()
        labels = NamespaceLabels()
        labels.update(NS, {"landlord.dev/tenant": TENANT}, deleted=False)
        self.kube = _Secrets(
            {
                "auth": _data(username=REGISTRY_USER, password=REGISTRY_PASSWORD),
                "wrong": _data(username=REGISTRY_USER, password="not-the-password-9431"),
                "certs": _data(**{"ca.crt": registry.ca_pem}),
                "docker": _data(**{".dockerconfigjson": _docker_config(registry)}),
            }
        )
        self.last_spec: dict[str, Any] = {}
        self.store = artifacts.ArtifactStore(root / "artifacts")
        self.config = settings.OciSettings()
        self.limits = artifacts.Limits()
        self.tenancy = Tenancy(self.kube, labels)  # type: ignore[arg-type]

    def fetcher(self, **config: Any) -> ocifetch.OciFetcher:
        return ocifetch.OciFetcher(
            self.kube,  # type: ignore[arg-type]
            tenancy=self.tenancy,
            store=self.store,
            workdir=self.root / "work",
            limits=self.limits,
            config=self.config.model_copy(update=config),
            gate=self.gate,
            platform_namespace="landlord-system",
            bounds=durations.Bounds(),
            default_timeout=30.0,
            network_policy=network.NetworkPolicy.from_settings(
                denied=["127.0.0.0/8"], allowed=["127.0.0.1/32"]
            ),
        )

    def pull(self, repo_or_url: str, **spec: Any) -> tuple[Any, Any, Any]:
        url = repo_or_url if "://" in repo_or_url else self.registry.url(repo_or_url)
        config = spec.pop("_config", {})
        full = {
            "url": url,
            "ref": {"tag": "v1"},
            "secretRef": {"name": "auth"},
            "certSecretRef": {"name": "certs"},
        }
        full.update(spec)
        spec_model = OCIRepositorySpec.model_validate(full)
        self.last_spec = spec_model.model_dump(by_alias=True)
        return self.fetcher(**config).fetch(NS, "app", spec_model, None)

    def stored(self) -> list[str]:
        folder = self.store.folder(NS, ocirepository.store_name("app"))
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def blob_requests(registry: Registry, repo: str) -> int:
    """Blob GETs of ``repo`` in the access log, once the log has settled (a request is
    logged just after it is answered)."""
    registry.requests_settled()
    text = registry.log_path.read_text(errors="replace")
    return len(re.findall(rf'"GET /v2/{re.escape(repo)}/blobs/', text))


def push_layer(
    registry: Registry, repo: str, tag: str, layer: bytes, media_type: str = CONTENT
) -> str:
    """A Flux-shaped artifact whose one layer is ``layer`` exactly as given."""
    client = registry.client(repo)
    blob = client.push_blob(layer, media_type)
    config = client.push_blob(b"{}", "application/vnd.cncf.flux.config.v1+json")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci_client.OCI_MANIFEST,
            "config": {
                "mediaType": config.media_type,
                "digest": config.digest,
                "size": config.size,
            },
            "layers": [{"mediaType": blob.media_type, "digest": blob.digest, "size": blob.size}],
        }
    ).encode()
    return client.push_manifest(body, oci_client.OCI_MANIFEST, tag)


def tgz(entries: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info in entries:
            content = (data or {}).get(info.name)
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return gzip.compress(raw.getvalue())


def entry(name: str, size: int = 2) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info
