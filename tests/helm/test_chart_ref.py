"""A HelmRelease's ``chartRef`` to an OCIRepository holding a chart, on the real control plane."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from landlord import api, kube
from landlord.demo import Registry
from landlord.helm import charts, package
from landlord.oci import client as oci_client
from tests.fixtures.helm import Releases, config_map_chart
from tests.fixtures.oci import SecretMaker
from tests.helpers import eventually

CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
CHART_CONFIG = "application/vnd.cncf.helm.config.v1+json"


def _push_chart(
    registry: Registry, repo: str, tag: str, folder: pathlib.Path, version: str, color: str
) -> str:
    """What ``helm push`` makes: a chart archive as the one layer, under ``repo:tag``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in config_map_chart(color=color).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: web-chart\nversion: {version}\n")
    archive = package.package(folder, "web-chart", charts.Limits(), "test chart")
    client = registry.client(repo)
    layer = client.push_blob(archive, CHART_LAYER)
    config = client.push_blob(
        json.dumps({"name": "web-chart", "version": version}).encode(), CHART_CONFIG
    )

    def described(d: oci_client.Descriptor) -> dict[str, Any]:
        return {"mediaType": d.media_type, "digest": d.digest, "size": d.size}

    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci_client.OCI_MANIFEST,
            "config": described(config),
            "layers": [described(layer)],
        }
    ).encode()
    return client.push_manifest(body, oci_client.OCI_MANIFEST, tag)


def test_a_chart_ref_to_an_oci_repository_is_released_and_follows_its_tag(
    admin: kube.Kube,
    registry: Registry,
    registry_secrets: SecretMaker,
    releases: Releases,
    tenant: str,
    tmp_path: pathlib.Path,
) -> None:
    repo = f"{tenant}/charts/web"
    _push_chart(registry, repo, "stable", tmp_path / "v1", "0.1.0", "blue")
    auth, certs = registry_secrets(admin, tenant)
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "OCIRepository",
            "metadata": {"name": "web-chart", "namespace": tenant},
            "spec": {
                "url": registry.url(repo),
                "ref": {"tag": "stable"},
                "layerSelector": {"mediaType": CHART_LAYER, "operation": "copy"},
                "secretRef": {"name": auth},
                "certSecretRef": {"name": certs},
                "interval": "1s",
            },
        }
    )
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": tenant},
            "spec": {"chartRef": {"kind": "OCIRepository", "name": "web-chart"}, "interval": "1h"},
        }
    )

    body = releases.reason(tenant, "web", "InstallSucceeded", timeout=60)
    assert body["status"]["helmChart"] == "web-chart@0.1.0"
    assert (admin.get("v1", "ConfigMap", "web-settings", tenant) or {})["data"] == {"color": "blue"}

    # A new chart pushed under the same tag: the source moves, the release upgrades at once.
    _push_chart(registry, repo, "stable", tmp_path / "v2", "0.2.0", "green")
    eventually(
        lambda: (
            (admin.get("v1", "ConfigMap", "web-settings", tenant) or {}).get("data")
            == {"color": "green"}
        ),
        timeout=60,
        what="the new chart to be released",
    )
    assert releases.get(tenant, "web")["status"]["helmChart"] == "web-chart@0.2.0"
