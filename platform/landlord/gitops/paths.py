"""Resolve a path inside an artifact, refusing anything that leaves it."""

from __future__ import annotations

import os
import pathlib

from landlord import errors


class UnsafePathError(errors.TerminalError):
    """A path points outside the artifact it must stay in."""

    reason = "UnsafePath"


def resolve_inside(root: pathlib.Path, relative: str) -> pathlib.Path:
    """``root / relative``, refusing absolute paths, ``..`` and symlinks that leave ``root``.

    Every component is checked after symlinks are resolved, so a link to ``/etc``
    or to ``../../other-tenant`` is refused even when the text looks harmless.
    """
    if "\x00" in relative:
        raise UnsafePathError("the path contains a NUL byte")
    candidate = pathlib.PurePosixPath(relative.replace(os.sep, "/"))
    if candidate.is_absolute():
        raise UnsafePathError(f"path {relative!r} must be relative to the repository root")
    if ".." in candidate.parts:
        raise UnsafePathError(f"path {relative!r} must not contain '..'")
    base = root.resolve()
    target = (base / candidate).resolve()
    if target != base and base not in target.parents:
        raise UnsafePathError(f"path {relative!r} leaves the repository through a symlink")
    return target
