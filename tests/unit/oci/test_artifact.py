"""Flux artifacts: the package is deterministic, and holds exactly the folder's files."""

from __future__ import annotations

import gzip
import io
import json
import os
import pathlib
import tarfile
import time

import pytest

from landlord.oci import artifact, client


def _folder(root: pathlib.Path) -> pathlib.Path:
    (root / "apps" / "web").mkdir(parents=True)
    (root / "apps" / "web" / "deploy.yaml").write_text("kind: Deployment\n")
    (root / "kustomization.yaml").write_text("resources: [apps/web/deploy.yaml]\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "notes.md").write_text("not for the cluster\n")
    return root


def _members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def test_the_same_folder_gives_the_same_bytes(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path / "a")
    first = artifact.package(folder)
    # The files are touched a day later: nothing of that may reach the bytes.
    later = time.time() + 86_400
    for path in folder.rglob("*"):
        os.utime(path, (later, later))

    assert artifact.package(folder) == first


def test_two_copies_of_a_folder_give_the_same_bytes(tmp_path: pathlib.Path) -> None:
    assert artifact.package(_folder(tmp_path / "a")) == artifact.package(_folder(tmp_path / "b"))


def test_entries_are_sorted_and_anonymous(tmp_path: pathlib.Path) -> None:
    members = _members(artifact.package(_folder(tmp_path)))

    assert list(members) == sorted(members)
    assert ".git" not in members
    assert ".git/config" not in members
    for member in members.values():
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
            0,
            0,
            0,
            "",
            "",
        )
    assert members["run.sh"].mode == 0o755
    assert members["kustomization.yaml"].mode == 0o644
    assert members["apps"].isdir()


def test_the_gzip_header_carries_no_time_or_name(tmp_path: pathlib.Path) -> None:
    data = artifact.package(_folder(tmp_path))

    assert data[4:8] == b"\0\0\0\0"  # MTIME
    assert data[3] & 0x08 == 0  # no FNAME
    gzip.decompress(data)


def test_ignored_paths_are_left_out(tmp_path: pathlib.Path) -> None:
    members = _members(artifact.package(_folder(tmp_path), ignore="*.md\napps/\n"))

    assert set(members) == {"kustomization.yaml", "run.sh"}


def test_a_symlink_is_refused(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path)
    (folder / "secret").symlink_to("/etc/passwd")

    with pytest.raises(ValueError, match="symbolic link"):
        artifact.package(folder)


def test_the_manifest_is_flux_shaped() -> None:
    config = client.Descriptor(artifact.CONFIG_MEDIA_TYPE, "sha256:" + "a" * 64, 2)
    layer = client.Descriptor(artifact.CONTENT_MEDIA_TYPE, "sha256:" + "b" * 64, 10)

    document = json.loads(
        artifact.manifest(config, layer, {artifact.SOURCE_ANNOTATION: "https://git.example/x"})
    )

    assert document["schemaVersion"] == 2
    assert document["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert document["config"] == {
        "mediaType": "application/vnd.cncf.flux.config.v1+json",
        "digest": config.digest,
        "size": 2,
    }
    assert document["layers"][0]["mediaType"] == "application/vnd.cncf.flux.content.v1.tar+gzip"
    assert document["annotations"] == {"org.opencontainers.image.source": "https://git.example/x"}
