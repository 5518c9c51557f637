"""The artifact store: each fetched revision as a checked, immutable folder on disk.

An artifact is the commit's tree (from ``git archive``) minus ignored paths,
extracted only after every entry passed the caps (file count, single-file
size, total size) and the link rules (no hard links, devices or symlinks that
leave the tree). Its digest (``sha256:…``) covers every path, mode and byte.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pathlib
import posixpath
import shutil
import tarfile

import pathspec

from landlord import errors

# Never part of an artifact, whatever the repository says.
ALWAYS_IGNORED = (".git/", ".gitmodules")


class ArtifactError(errors.RetryableError):
    """A revision cannot become an artifact (a cap was hit, an entry is unsafe)."""

    reason = "ArtifactFailed"

    def __init__(self, message: str, *, reason: str = "ArtifactFailed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Limits:
    """Caps that keep one tenant's repository from hurting the others."""

    max_files: int = 20_000
    max_file_bytes: int = 16 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A stored revision."""

    path: pathlib.Path
    digest: str
    files: int
    size: int


def _ignored(spec: pathspec.GitIgnoreSpec, name: str, is_dir: bool) -> bool:
    return spec.match_file(name + "/" if is_dir else name) or any(
        spec.match_file(parent + "/") for parent in _parents(name)
    )


def _parents(name: str) -> list[str]:
    parts = name.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _check_link(member: tarfile.TarInfo) -> None:
    target = member.linkname
    if posixpath.isabs(target):
        raise ArtifactError(
            f"symlink {member.name} points to an absolute path", reason="UnsafeSymlink"
        )
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise ArtifactError(
            f"symlink {member.name} points outside the repository", reason="UnsafeSymlink"
        )


def select_members(
    tar: tarfile.TarFile, ignore: str | None, limits: Limits
) -> list[tarfile.TarInfo]:
    """The entries to extract, after ignore rules; ArtifactError on any breach."""
    spec = pathspec.GitIgnoreSpec.from_lines([*ALWAYS_IGNORED, *(ignore or "").splitlines()])
    chosen: list[tarfile.TarInfo] = []
    files = total = 0
    for member in tar:
        name = member.name.removeprefix("./").rstrip("/")
        if not name or member.type == tarfile.XGLTYPE or name == "pax_global_header":
            continue
        if name.startswith("/") or ".." in name.split("/"):
            raise ArtifactError(f"entry {name!r} escapes the repository", reason="UnsafePath")
        if _ignored(spec, name, member.isdir()):
            continue
        if member.issym():
            _check_link(member)
        elif not (member.isfile() or member.isdir()):
            raise ArtifactError(
                f"entry {name} is not a regular file, folder or symlink", reason="UnsafePath"
            )
        if member.isfile():
            files += 1
            total += member.size
            if member.size > limits.max_file_bytes:
                raise ArtifactError(
                    f"file {name} is {member.size} bytes; the limit is {limits.max_file_bytes}",
                    reason="FileTooLarge",
                )
            if files > limits.max_files:
                raise ArtifactError(
                    f"the revision has more than {limits.max_files} files", reason="TooManyFiles"
                )
            if total > limits.max_total_bytes:
                raise ArtifactError(
                    f"the revision's files exceed {limits.max_total_bytes} bytes",
                    reason="ArtifactTooLarge",
                )
        member.name = name
        chosen.append(member)
    return chosen


def digest_tree(root: pathlib.Path) -> str:
    """``sha256:<hex>`` of every path, kind and content under ``root``, in sorted order."""
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            sha.update(f"L {relative} -> {os.readlink(path)}\n".encode())
        elif path.is_file():
            mode = "x" if os.access(path, os.X_OK) else "f"
            sha.update(f"{mode} {relative} {path.stat().st_size}\n".encode())
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(chunk)
        elif path.is_dir():
            sha.update(f"d {relative}\n".encode())
    return "sha256:" + sha.hexdigest()


class ArtifactStore:
    """Artifacts under ``root/<namespace>/<name>/<key>``; the last few are kept."""

    def __init__(self, root: pathlib.Path, *, keep: int = 2) -> None:
        self.root = root
        self.keep = keep

    def folder(self, namespace: str, name: str) -> pathlib.Path:
        return self.root / namespace / name

    def path(self, namespace: str, name: str, key: str) -> pathlib.Path:
        return self.folder(namespace, name) / key

    def lookup(self, namespace: str, name: str, key: str) -> Artifact | None:
        """An artifact stored earlier under ``key``, if it is still complete."""
        path = self.path(namespace, name, key)
        marker = path / ".landlord-digest"
        if not marker.is_file():
            return None
        digest, files, size = marker.read_text().split()
        return Artifact(path / "tree", digest, int(files), int(size))

    def store(
        self,
        namespace: str,
        name: str,
        key: str,
        archive: bytes,
        *,
        ignore: str | None,
        limits: Limits,
    ) -> Artifact:
        """Check and extract a tar archive as the artifact ``key``."""
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            members = select_members(tar, ignore, limits)
            final = self.path(namespace, name, key)
            staging = final.with_name(final.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            tree = staging / "tree"
            tree.mkdir(parents=True)
            tar.extractall(tree, members=members, filter="data")
        artifact_digest = digest_tree(tree)
        files = sum(1 for m in members if m.isfile())
        size = sum(m.size for m in members if m.isfile())
        (staging / ".landlord-digest").write_text(f"{artifact_digest} {files} {size}\n")
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        self._collect(namespace, name, keep_also=key)
        return Artifact(final / "tree", artifact_digest, files, size)

    def _collect(self, namespace: str, name: str, *, keep_also: str) -> None:
        folder = self.folder(namespace, name)
        stored = sorted(
            (p for p in folder.iterdir() if p.is_dir()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in stored[self.keep :]:
            if old.name != keep_also:
                shutil.rmtree(old, ignore_errors=True)

    def remove(self, namespace: str, name: str) -> None:
        """Forget every artifact of a deleted source."""
        shutil.rmtree(self.folder(namespace, name), ignore_errors=True)


def artifact_key(sha: str, ignore: str | None) -> str:
    """The store key: the commit, plus a hash of the ignore rules when there are any."""
    if not ignore:
        return sha
    return f"{sha}-{hashlib.sha256(ignore.encode()).hexdigest()[:8]}"
