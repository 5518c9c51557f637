"""Flux's OCI artifact format: what ``flux push artifact`` makes and an OCIRepository pulls.

An artifact is an OCI image manifest whose config is an empty JSON object of
:data:`CONFIG_MEDIA_TYPE` and whose one layer is a gzipped tarball of a folder
(:data:`CONTENT_MEDIA_TYPE`), annotated with where the content came from
(``org.opencontainers.image.source``/``.revision``). :func:`package` is
deterministic — the same folder always gives the same bytes, hence the same
digest — so pushing an unchanged folder does not move a tag's digest.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pathlib
import stat
import tarfile
from collections.abc import Mapping

import pathspec

from landlord.oci import client as oci_client

CONFIG_MEDIA_TYPE = "application/vnd.cncf.flux.config.v1+json"
CONTENT_MEDIA_TYPE = "application/vnd.cncf.flux.content.v1.tar+gzip"
MANIFEST_MEDIA_TYPE = oci_client.OCI_MANIFEST
SOURCE_ANNOTATION = "org.opencontainers.image.source"
REVISION_ANNOTATION = "org.opencontainers.image.revision"
CREATED_ANNOTATION = "org.opencontainers.image.created"
# Never part of an artifact, whatever the folder holds.
ALWAYS_IGNORED = (".git/",)


def package(folder: pathlib.Path, *, ignore: str | None = None) -> bytes:
    """A deterministic tar.gz of ``folder``: sorted entries, mtime 0, uid/gid 0, no owner names.

    ``ignore``: .gitignore-style patterns (``--ignore-paths``) left out.
    Regular files and folders only; a symbolic link is refused (its target
    could be anything on the machine that packages).
    """
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    spec = pathspec.GitIgnoreSpec.from_lines([*ALWAYS_IGNORED, *(ignore or "").splitlines()])
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, relative in _entries(folder, spec):
            info = tarfile.TarInfo(relative)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o755 if mode & 0o111 else 0o644
                data = path.read_bytes()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0) as stream:
        stream.write(raw.getvalue())
    return compressed.getvalue()


def _entries(folder: pathlib.Path, spec: pathspec.GitIgnoreSpec) -> list[tuple[pathlib.Path, str]]:
    found: list[tuple[pathlib.Path, str]] = []
    for current, dirs, files in os.walk(folder, followlinks=False):
        base = pathlib.Path(current)
        dirs.sort()
        kept = []
        for name in dirs:
            path = base / name
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise ValueError(f"{relative} is a symbolic link; an artifact holds none")
            if not spec.match_file(relative + "/"):
                kept.append(name)
                found.append((path, relative))
        dirs[:] = kept
        for name in sorted(files):
            path = base / name
            relative = path.relative_to(folder).as_posix()
            if spec.match_file(relative):
                continue
            if path.is_symlink():
                raise ValueError(f"{relative} is a symbolic link; an artifact holds none")
            if not path.is_file():
                raise ValueError(f"{relative} is not a regular file")
            found.append((path, relative))
    return sorted(found, key=lambda item: item[1])


def manifest(
    config: oci_client.Descriptor,
    layer: oci_client.Descriptor,
    annotations: Mapping[str, str],
) -> bytes:
    """The artifact's OCI image manifest, as compact JSON with sorted keys."""
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": _descriptor(config),
        "layers": [_descriptor(layer)],
        **({"annotations": dict(sorted(annotations.items()))} if annotations else {}),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(descriptor: oci_client.Descriptor) -> dict[str, object]:
    return {
        "mediaType": descriptor.media_type,
        "digest": descriptor.digest,
        "size": descriptor.size,
        **({"annotations": dict(descriptor.annotations)} if descriptor.annotations else {}),
    }


def push(
    client: oci_client.Client,
    folder: pathlib.Path,
    *,
    tag: str,
    source: str | None,
    revision: str | None,
    annotations: Mapping[str, str] | None = None,
    ignore: str | None = None,
) -> str:
    """Package ``folder``, push it under ``tag``; returns the manifest digest."""
    layer = client.push_blob(package(folder, ignore=ignore), CONTENT_MEDIA_TYPE)
    config = client.push_blob(b"{}", CONFIG_MEDIA_TYPE)
    labels = dict(annotations or {})
    if source:
        labels[SOURCE_ANNOTATION] = source
    if revision:
        labels[REVISION_ANNOTATION] = revision
    return client.push_manifest(manifest(config, layer, labels), MANIFEST_MEDIA_TYPE, tag)
