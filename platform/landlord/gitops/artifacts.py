"""The artifact store: each fetched revision as a checked, immutable folder on disk.

An artifact is the commit's tree (from ``git archive``) minus ignored paths,
extracted only after every entry passed the caps (file count, single-file
size, total size) and the link rules (no hard links, devices or symlinks that
leave the tree). Its digest (``sha256:…``) covers every path, mode and byte.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import os
import pathlib
import posixpath
import shutil
import tarfile
from typing import IO, Protocol, cast

import pathspec

from landlord import errors

# Never part of an artifact, whatever the repository says.
ALWAYS_IGNORED = (".git/", ".gitmodules")
# A full disk under the operator's source storage (ENOSPC), said the same way by
# every step that writes there (git fetch, the artifact store).
STORAGE_FULL = "StorageFull"
STORAGE_FULL_MESSAGE = (
    "the operator's source storage is full (no space left on device); nothing was stored and "
    "the last artifact is still served. A platform admin must free space under "
    "LANDLORD_SOURCES__STORAGE_DIR; the fetch is retried every interval"
)


class ArtifactError(errors.RetryableError):
    """A revision cannot become an artifact (a cap was hit, an entry is unsafe)."""

    reason = "ArtifactFailed"

    def __init__(self, message: str, *, reason: str = "ArtifactFailed") -> None:
        super().__init__(message)
        self.reason = reason


class Readable(Protocol):
    """A byte stream: a file, or a tool's capped output."""

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); empty at the end."""


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


# Longest entry name or link target accepted (Git's own paths are far shorter).
MAX_NAME = 1024

# PEP 706's extraction filters (3.11.4+; Debian bookworm's 3.11.2, in Landlord's
# image, lacks them): without, `_extract` applies the `data` filter's checks itself.
HAS_FILTERS = hasattr(tarfile, "data_filter")
_FILTER_ERRORS: tuple[type[Exception], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
)


def _inside(root: str, path: str) -> bool:
    return os.path.commonpath([root, path]) == root


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, tree: pathlib.Path) -> None:
    """Extract one checked entry under ``tree`` as the ``data`` filter would, or refuse it."""
    if HAS_FILTERS:
        tar.extract(member, tree, filter="data")
        return
    root = os.path.realpath(tree)
    target = os.path.realpath(os.path.join(root, member.name))
    if not _inside(root, target):  # through a symlink extracted earlier
        raise ArtifactError(f"entry {member.name} escapes the repository", reason="UnsafePath")
    if member.issym():
        pointed = os.path.realpath(os.path.join(os.path.dirname(target), member.linkname))
        if not _inside(root, pointed):
            raise ArtifactError(
                f"symlink {member.name} points outside the repository", reason="UnsafeSymlink"
            )
    # No set-id bits, no group/other write, owner read-write; owned by whoever extracts.
    member.mode = (member.mode & 0o755) | (0o700 if member.isdir() else 0o600)
    member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
    tar.extract(member, tree)


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


class _Selector:
    """Decides, entry by entry, what of an archive becomes the artifact; raises on any breach."""

    def __init__(self, ignore: str | None, limits: Limits) -> None:
        self.spec = pathspec.GitIgnoreSpec.from_lines(
            [*ALWAYS_IGNORED, *(ignore or "").splitlines()]
        )
        self.limits = limits
        self.files = 0
        self.total = 0
        self.seen: set[str] = set()
        self.links: set[str] = set()

    def accept(self, member: tarfile.TarInfo) -> bool:
        name = member.name.removeprefix("./").rstrip("/")
        if not name or member.type == tarfile.XGLTYPE or name == "pax_global_header":
            return False
        if len(name) > MAX_NAME or len(member.linkname) > MAX_NAME:
            # Long paths make realpath stop following links (CVE-2025-4517's class).
            raise ArtifactError(
                f"entry {name[:80]!r}… has a name or link over {MAX_NAME} characters",
                reason="UnsafePath",
            )
        if name.startswith("/") or ".." in name.split("/"):
            raise ArtifactError(f"entry {name!r} escapes the repository", reason="UnsafePath")
        # Nothing is written through a symlink, and nothing twice (Git never does
        # either; a crafted tree that does is after the files a link points at).
        if name in self.seen or any(parent in self.links for parent in _parents(name)):
            raise ArtifactError(
                f"entry {name!r} repeats a name or lies under a symlink", reason="UnsafePath"
            )
        self.seen.add(name)
        if _ignored(self.spec, name, member.isdir()):
            return False
        if member.issym():
            _check_link(member)
            self.links.add(name)
        elif not (member.isfile() or member.isdir()):
            raise ArtifactError(
                f"entry {name} is not a regular file, folder or symlink", reason="UnsafePath"
            )
        if member.isfile():
            self._count(name, member.size)
        member.name = name
        return True

    def _count(self, name: str, size: int) -> None:
        limits = self.limits
        self.files += 1
        self.total += size
        if size > limits.max_file_bytes:
            raise ArtifactError(
                f"file {name} is {size} bytes; the limit is {limits.max_file_bytes}",
                reason="FileTooLarge",
            )
        if self.files > limits.max_files:
            raise ArtifactError(
                f"the revision has more than {limits.max_files} files", reason="TooManyFiles"
            )
        if self.total > limits.max_total_bytes:
            raise ArtifactError(
                f"the revision's files exceed {limits.max_total_bytes} bytes once extracted",
                reason="ArtifactTooLarge",
            )


def archive_cap(limits: Limits) -> int:
    """The most bytes a tar of an artifact within ``limits`` can take (headers, padding)."""
    return limits.max_total_bytes + (limits.max_files + 16) * 3 * 512 + (1 << 20)


def check_links(tree: pathlib.Path) -> None:
    """Resolve every symlink of an extracted tree against it; refuse any that leaves it.

    Independent of the tarfile filter of the Python version: a chain of links,
    each harmless on its own (``a -> b/b/../..`` with ``b -> .``), is followed
    the way the kernel would follow it.
    """
    base = tree.resolve()
    for path in tree.rglob("*"):
        if not path.is_symlink():
            continue
        resolved = pathlib.Path(os.path.realpath(path))
        if resolved != base and base not in resolved.parents:
            raise ArtifactError(
                f"symlink {path.relative_to(tree).as_posix()} leads outside the repository",
                reason="UnsafeSymlink",
            )


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
        archive: bytes | Readable,
        *,
        ignore: str | None,
        limits: Limits,
    ) -> Artifact:
        """Check and extract a tar archive (bytes or a stream) as the artifact ``key``.

        The archive is read as a stream, entry by entry: every entry is checked
        against the caps before its content is read, so a small pack that
        expands to terabytes stops at the first cap with memory flat. Nothing
        becomes visible under ``key`` unless every entry and link passed.
        """
        stream = io.BytesIO(archive) if isinstance(archive, bytes) else archive
        final = self.path(namespace, name, key)
        staging = final.with_name(final.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        tree = staging / "tree"
        tree.mkdir(parents=True)
        selector = _Selector(ignore, limits)
        try:
            with tarfile.open(fileobj=cast("IO[bytes]", stream), mode="r|") as tar:
                for member in tar:
                    if selector.accept(member):
                        _extract(tar, member, tree)
            check_links(tree)
        except _FILTER_ERRORS as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise ArtifactError(f"unsafe entry: {error}", reason="UnsafePath") from None
        except tarfile.TarError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise ArtifactError(f"the archive cannot be read: {error}") from None
        except BaseException as error:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                raise ArtifactError(STORAGE_FULL_MESSAGE, reason=STORAGE_FULL) from None
            raise
        artifact_digest = digest_tree(tree)
        try:
            (staging / ".landlord-digest").write_text(
                f"{artifact_digest} {selector.files} {selector.total}\n"
            )
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            if error.errno == errno.ENOSPC:
                raise ArtifactError(STORAGE_FULL_MESSAGE, reason=STORAGE_FULL) from None
            raise
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        self._collect(namespace, name, keep_also=key)
        return Artifact(final / "tree", artifact_digest, selector.files, selector.total)

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

    def stored_bytes(self, namespace: str, name: str) -> int:
        """The file bytes of every complete artifact a source keeps (for its tenant's budget)."""
        folder = self.folder(namespace, name)
        if not folder.is_dir():
            return 0
        total = 0
        for marker in folder.glob("*/.landlord-digest"):
            try:
                total += int(marker.read_text().split()[2])
            except (OSError, IndexError, ValueError):
                continue  # being replaced or collected right now
        return total


def artifact_key(sha: str, ignore: str | None) -> str:
    """The store key: the commit, plus a hash of the ignore rules when there are any."""
    if not ignore:
        return sha
    return f"{sha}-{hashlib.sha256(ignore.encode()).hexdigest()[:8]}"
