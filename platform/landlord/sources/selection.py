"""Which commit a ref selects among a remote's refs (pure: no Git, no cluster)."""

from __future__ import annotations

import dataclasses

from landlord import git as git_mod
from landlord.api import reasons
from landlord.gitops import semver
from landlord.sources import refs


@dataclasses.dataclass(frozen=True)
class Target:
    """The commit a source should have, and how to name and fetch it."""

    sha: str
    revision: str
    want: str


def choose(ref: refs.Ref, remote_refs: git_mod.RemoteRefs, shown_url: str) -> Target:
    """The commit ``ref`` selects among the remote's refs; GitError(RefNotFound) if none."""
    if ref.commit:
        if ref.branch and remote_refs.branch(ref.branch) is None:
            raise _not_found(f"branch {ref.branch!r} not found in {shown_url}")
        return Target(ref.commit, ref.revision(ref.commit), ref.commit)
    if ref.semver:
        tag = semver.Range.parse(ref.semver).best(remote_refs.tags())
        if tag is None:
            raise _not_found(f"no tag in {shown_url} matches semver {ref.semver!r}")
        sha = remote_refs.tag(tag) or ""
        return Target(sha, ref.revision(sha, tag=tag), f"refs/tags/{tag}")
    if ref.tag:
        sha = remote_refs.tag(ref.tag) or ""
        if not sha:
            raise _not_found(f"tag {ref.tag!r} not found in {shown_url}")
        return Target(sha, ref.revision(sha), f"refs/tags/{ref.tag}")
    assert ref.branch is not None
    sha = remote_refs.branch(ref.branch) or ""
    if not sha:
        raise _not_found(f"branch {ref.branch!r} not found in {shown_url}")
    return Target(sha, ref.revision(sha), f"refs/heads/{ref.branch}")


def _not_found(message: str) -> git_mod.GitError:
    return git_mod.GitError(message, reason=reasons.REF_NOT_FOUND)
