"""The OCIRepository pull step against the real registry: what is stored, and what it costs."""

from __future__ import annotations

import io
import json
import pathlib
import tarfile

import pytest

from landlord.api import ocirepository, reasons
from landlord.demo.registry import Registry
from landlord.oci import client as oci_client
from tests.sources.ociharness import NS, Harness, blob_requests, entry, push_layer, tgz

CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


@pytest.fixture
def harness(tmp_path: pathlib.Path, registry: Registry) -> Harness:
    return Harness(tmp_path, registry)


def _tree(harness: Harness, artifact: dict[str, str]) -> pathlib.Path:
    spec = harness.last_spec
    found = harness.store.lookup(
        NS,
        ocirepository.store_name("app"),
        ocirepository.artifact_key(artifact["revision"], spec),
    )
    assert found is not None
    return found.path


def _two_layers(registry: Registry, repo: str) -> tuple[str, str]:
    """An artifact whose first layer holds a.yaml and whose second is a 'chart' with a title."""
    client = registry.client(repo)
    first = client.push_blob(tgz([entry("a.yaml", 2)], {"a.yaml": b"a\n"}), "x/first")
    chart_bytes = tgz([entry("chart/Chart.yaml", 2)], {"chart/Chart.yaml": b"c\n"})
    chart = client.push_blob(chart_bytes, CHART)
    config = client.push_blob(b"{}", "application/vnd.cncf.flux.config.v1+json")

    def descriptor(d: oci_client.Descriptor, **annotations: str) -> dict[str, object]:
        found: dict[str, object] = {"mediaType": d.media_type, "digest": d.digest, "size": d.size}
        return {**found, "annotations": annotations} if annotations else found

    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci_client.OCI_MANIFEST,
            "config": descriptor(config),
            "layers": [
                descriptor(first),
                descriptor(chart, **{"org.opencontainers.image.title": "app-1.0.0.tgz"}),
            ],
        }
    ).encode()
    return client.push_manifest(body, oci_client.OCI_MANIFEST, "v1"), chart_bytes.hex()


def test_an_unchanged_digest_costs_no_download(harness: Harness, registry: Registry) -> None:
    registry.push_artifact("same/app", "v1", {"a.yaml": "a: 1\n"})
    outcome, first, _ = harness.pull("same/app")
    assert outcome.ready, outcome.message
    downloads = blob_requests(registry, "same/app")
    assert downloads == 1

    again, second, _ = harness.pull("same/app")

    assert again.ready
    assert second["revision"] == first["revision"]
    assert second["digest"] == first["digest"]
    assert blob_requests(registry, "same/app") == downloads


def test_ignore_is_applied_to_the_extracted_files(harness: Harness, registry: Registry) -> None:
    registry.push_artifact("ignored/app", "v1", {"a.yaml": "a: 1\n", "docs/README.md": "x"})

    outcome, artifact, _ = harness.pull("ignored/app", ignore="*.md\n")

    assert outcome.ready, outcome.message
    tree = _tree(harness, artifact)
    assert (tree / "a.yaml").is_file()
    assert not (tree / "docs" / "README.md").exists()


def test_the_layer_selector_picks_a_layer_and_copy_keeps_it_whole(
    harness: Harness, registry: Registry
) -> None:
    _, chart_hex = _two_layers(registry, "layers/app")

    first, artifact, _ = harness.pull("layers/app")
    assert first.ready, first.message
    assert (_tree(harness, artifact) / "a.yaml").is_file()

    outcome, copied, _ = harness.pull(
        "layers/app", layerSelector={"mediaType": CHART, "operation": "copy"}
    )

    assert outcome.ready, outcome.message
    tree = _tree(harness, copied)
    assert sorted(p.name for p in tree.iterdir()) == ["app-1.0.0.tgz"]
    assert (tree / "app-1.0.0.tgz").read_bytes().hex() == chart_hex
    assert copied["digest"] != artifact["digest"]


def test_a_media_type_no_layer_has_is_layer_not_found(harness: Harness, registry: Registry) -> None:
    _two_layers(registry, "nolayer/app")

    outcome, artifact, _ = harness.pull("nolayer/app", layerSelector={"mediaType": "x/none"})

    assert outcome.reason == reasons.LAYER_NOT_FOUND
    assert "x/first" in outcome.message
    assert artifact is None


def test_a_plain_tar_layer_is_extracted_too(harness: Harness, registry: Registry) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = entry("plain.yaml", 2)
        tar.addfile(info, io.BytesIO(b"p\n"))
    push_layer(
        registry, "plain/app", "v1", raw.getvalue(), "application/vnd.oci.image.layer.v1.tar"
    )

    outcome, artifact, _ = harness.pull("plain/app")

    assert outcome.ready, outcome.message
    assert (_tree(harness, artifact) / "plain.yaml").read_bytes() == b"p\n"


def test_a_docker_config_secret_is_used_for_its_host(harness: Harness, registry: Registry) -> None:
    registry.push_artifact("docker/app", "v1", {"a.yaml": "a: 1\n"})

    outcome, _, _ = harness.pull("docker/app", secretRef={"name": "docker"})

    assert outcome.ready, outcome.message


def test_a_missing_secret_is_named(harness: Harness, registry: Registry) -> None:
    outcome, _, _ = harness.pull("any/app", secretRef={"name": "absent"})

    assert outcome.reason == reasons.SECRET_NOT_FOUND
    assert f"Secret {NS}/absent (spec.secretRef)" in outcome.message
