"""The OCIRepository's pure parts: store keys, layer choice, status metadata, the sync's lookups."""

from __future__ import annotations

import io
import pathlib
import tarfile

import pytest

from landlord.api import kustomization, ocirepository, reasons
from landlord.api.ocirepository import OCIRepositorySpec
from landlord.gitops import artifacts
from landlord.oci import client as oci_client
from landlord.sources import ocifetch
from landlord.sync import depindex, watchcache
from landlord.sync.failure import SyncError
from landlord.sync.steps import source

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
TAR = "application/vnd.cncf.flux.content.v1.tar+gzip"


def _layer(media_type: str = TAR, digest: str = OTHER, **annotations: str) -> oci_client.Descriptor:
    return oci_client.Descriptor(media_type, digest, 10, annotations)


def _manifest(*layers: oci_client.Descriptor) -> oci_client.Manifest:
    config = oci_client.Descriptor("application/vnd.cncf.flux.config.v1+json", OTHER, 2)
    return oci_client.Manifest(
        DIGEST, "application/vnd.oci.image.manifest.v1+json", config, layers, {}
    )


# -- the spec ----------------------------------------------------------------------


def test_defaults_follow_flux() -> None:
    spec = OCIRepositorySpec(url="oci://r.example/app")

    assert (spec.interval, spec.timeout, spec.provider) == ("5m", "60s", "generic")
    assert spec.operation() == "extract"
    assert spec.media_type() is None
    assert OCIRepositorySpec.of({"spec": {"url": "oci://r/a", "ref": {"semverFilter": ".*"}}})


def test_a_kustomization_may_name_an_oci_repository() -> None:
    spec = kustomization.KustomizationSpec.model_validate(
        {"sourceRef": {"kind": "OCIRepository", "name": "app"}}
    )

    assert spec.source_ref.kind == "OCIRepository"


# -- store keys ---------------------------------------------------------------------


def test_the_key_follows_the_digest_not_the_tag() -> None:
    spec: dict[str, object] = {}

    by_tag = ocirepository.artifact_key(f"v1@{DIGEST}", spec)

    assert ocirepository.artifact_key(f"latest@{DIGEST}", spec) == by_tag
    assert ocirepository.artifact_key(DIGEST, spec) == by_tag
    assert ocirepository.artifact_key(f"v1@{OTHER}", spec) != by_tag


@pytest.mark.parametrize(
    "changed",
    [
        {"ignore": "*.md"},
        {"layerSelector": {"mediaType": "x/y"}},
        {"layerSelector": {"operation": "copy"}},
    ],
)
def test_what_is_stored_of_a_digest_is_part_of_the_key(changed: dict[str, object]) -> None:
    assert ocirepository.artifact_key(DIGEST, changed) != ocirepository.artifact_key(DIGEST, {})


def test_an_explicit_extract_is_the_default() -> None:
    explicit = {"layerSelector": {"operation": "extract"}}

    assert ocirepository.artifact_key(DIGEST, explicit) == ocirepository.artifact_key(DIGEST, {})


def test_a_hostile_revision_cannot_leave_the_store_folder() -> None:
    key = ocirepository.artifact_key("x@../../etc:pa/ss/../wd", {})

    assert "/" not in key
    assert ".." not in key


def test_oci_and_git_sources_of_one_name_are_stored_apart() -> None:
    assert ocirepository.store_name("app") != "app"


# -- the layer ----------------------------------------------------------------------


def test_the_first_layer_unless_a_media_type_is_asked_for() -> None:
    first, second = _layer("a/one", OTHER), _layer("b/two", DIGEST)

    assert ocifetch.choose_layer(_manifest(first, second), None) == first
    assert ocifetch.choose_layer(_manifest(first, second), "b/two") == second


def test_no_matching_layer_says_which_there_are() -> None:
    with pytest.raises(ocifetch.NotFoundError) as raised:
        ocifetch.choose_layer(_manifest(_layer("a/one")), "b/two")

    assert raised.value.reason == reasons.LAYER_NOT_FOUND
    assert "a/one" in str(raised.value)
    assert "b/two" in str(raised.value)


def test_a_manifest_without_layers_is_refused() -> None:
    with pytest.raises(ocifetch.NotFoundError):
        ocifetch.choose_layer(_manifest(), None)


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("chart-1.0.0.tgz", "chart-1.0.0.tgz"),
        ("../escape", "layer"),
        ("a/b", "layer"),
        ("..", "layer"),
        ("", "layer"),
        ("x" * 300, "layer"),
    ],
)
def test_a_copied_layer_is_named_by_a_plain_title_only(title: str, name: str) -> None:
    layer = _layer(**{"org.opencontainers.image.title": title})

    assert ocifetch.copied_name(layer) == name


def test_status_metadata_is_capped() -> None:
    annotations = {f"k{i:03}": "v" for i in range(100)}
    annotations["big"] = "x" * 5000

    shown = ocifetch.metadata(annotations)

    assert len(shown) == ocifetch.MAX_METADATA
    assert "big" not in shown


# -- the sync finds it --------------------------------------------------------------


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_the_sync_finds_an_oci_artifact_by_its_revision(tmp_path: pathlib.Path) -> None:
    store = artifacts.ArtifactStore(tmp_path)
    source_spec = {"url": "oci://r/app", "ignore": "*.md"}
    revision = f"v1@{DIGEST}"
    store.store(
        "ns",
        ocirepository.store_name("app"),
        ocirepository.artifact_key(revision, source_spec),
        _tar({"cm.yaml": b"kind: ConfigMap\n"}),
        ignore="*.md",
        limits=artifacts.Limits(),
    )
    spec = kustomization.KustomizationSpec.model_validate(
        {"sourceRef": {"kind": "OCIRepository", "name": "app"}}
    )
    body = {"spec": source_spec, "status": {"artifact": {"revision": revision}}}

    found, path = source.artifact(store, "ns", spec, body)

    assert found == revision
    assert (path / "cm.yaml").read_bytes() == b"kind: ConfigMap\n"


def test_a_git_artifact_of_the_same_name_is_not_taken(tmp_path: pathlib.Path) -> None:
    store = artifacts.ArtifactStore(tmp_path)
    revision = f"v1@{DIGEST}"
    key = ocirepository.artifact_key(revision, {})
    store.store("ns", "app", key, _tar({"a.yaml": b"x"}), ignore=None, limits=artifacts.Limits())
    spec = kustomization.KustomizationSpec.model_validate(
        {"sourceRef": {"kind": "OCIRepository", "name": "app"}}
    )

    with pytest.raises(SyncError) as raised:
        source.artifact(
            store, "ns", spec, {"spec": {}, "status": {"artifact": {"revision": revision}}}
        )

    assert "not stored yet" in raised.value.message


# -- the watch cache and wake-ups tell the kinds apart ------------------------------


def _body(kind: str, name: str, revision: str) -> dict[str, object]:
    return {
        "kind": kind,
        "metadata": {"namespace": "ns", "name": name},
        "status": {"artifact": {"revision": revision}},
    }


def test_the_watch_cache_keeps_sources_of_one_name_apart() -> None:
    cache = watchcache.WatchCache()
    cache.remember(_body("GitRepository", "app", "main@sha1:1"))
    cache.remember(_body("OCIRepository", "app", f"v1@{DIGEST}"))
    cache.remember(
        {
            "kind": "Kustomization",
            "metadata": {"namespace": "ns", "name": "k"},
            "spec": {"sourceRef": {"kind": "OCIRepository", "name": "app"}},
        }
    )

    found = cache.source_of("ns/k") or {}

    assert found.get("kind") == "OCIRepository"
    assert (cache.source("ns/app") or {}).get("kind") == "GitRepository"


def test_a_moved_oci_source_is_not_trusted_until_its_event_comes() -> None:
    cache = watchcache.WatchCache()
    cache.remember(_body("OCIRepository", "app", f"v1@{DIGEST}"))
    key = watchcache.cache_key("OCIRepository", "ns", "app")

    cache.source_moved(key, f"v2@{OTHER}")

    assert cache.source(key) is None
    assert cache.source("ns/app") is None  # no GitRepository of that name was seen
    cache.remember(_body("OCIRepository", "app", f"v2@{OTHER}"))
    assert cache.source(key) is not None


def test_wake_ups_go_to_the_users_of_that_kind() -> None:
    items = [
        {
            "metadata": {"name": "git"},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "app"}},
        },
        {
            "metadata": {"name": "oci"},
            "spec": {"sourceRef": {"kind": "OCIRepository", "name": "app"}},
        },
    ]

    assert depindex.using_here(items, "ns", "app") == ["ns/git"]
    assert depindex.using_here(items, "ns", "app", "OCIRepository") == ["ns/oci"]
