"""Commit an automation's image bumps to the tenant's repository, and push them.

One run: sync the branch (the push branch when it exists already, so bumps
made there are not made again), rewrite the marked fields
(:mod:`landlord.images.setters`), commit with the automation's author
(Landlord the committer) and push. When someone else pushed between the sync
and the push (a non-fast-forward rejection), the run starts over from their
commit: sync, rewrite, commit, push, up to ``attempts`` times. Nothing is
committed when nothing changed.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Mapping, Sequence

from landlord.git.command import GitError
from landlord.git.workspace import Checkout, PushRejectedError, TreeLimits
from landlord.images import setters
from landlord.images.setters import Change

# The most a tenant's branch may hold before it is written to the operator's disk
# (the sources' own defaults, LANDLORD_SOURCES__MAX_FILES / _MAX_TOTAL_BYTES).
TREE_LIMITS = TreeLimits(max_files=20_000, max_total_bytes=256 * 1024**2)


@dataclasses.dataclass(frozen=True)
class Pushed:
    """What a run pushed: the commit (None: nothing changed, no commit) and its changes."""

    sha: str | None
    changes: tuple[Change, ...]


def update(
    checkout: Checkout,
    *,
    path: str,
    images: Mapping[str, str],
    author: tuple[str, str],
    message: Callable[[Sequence[Change]], str],
    push_branch: str | None,
    attempts: int,
    max_files: int,
    max_file_bytes: int,
    before_push: Callable[[int], None] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    tree_limits: TreeLimits = TREE_LIMITS,
) -> Pushed:
    """Bring the marked fields under ``path`` to ``images`` and push the commit.

    ``before_push`` is called with the attempt number (1, 2…) after the commit,
    right before its push (tests push a competing commit from there);
    ``on_skip`` gets the files the limits skipped (:func:`setters.rewrite_tree`);
    a branch over ``tree_limits`` is refused (ArtifactTooLarge) before it is written out.
    The work tree is removed when the run ends, whatever the outcome.
    Raises :class:`PushRejectedError` when every attempt lost the race,
    :class:`GitError` for Git failures (messages redacted), ``ValueError`` for a
    path leaving the repository, too many files or an invalid image, and
    whatever ``message`` raises (nothing is committed then).
    """
    target = push_branch if push_branch and push_branch != checkout.branch else None
    try:
        return _attempts(
            checkout,
            target,
            path=path,
            images=images,
            author=author,
            message=message,
            attempts=max(1, attempts),
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            before_push=before_push,
            on_skip=on_skip,
            tree_limits=tree_limits,
        )
    finally:
        # The clone lives for the run only: a tenant's many automations would
        # otherwise each keep up to ``tree_limits`` on the operator's disk for good.
        shutil.rmtree(checkout.tree, ignore_errors=True)


def _attempts(
    checkout: Checkout,
    target: str | None,
    *,
    path: str,
    images: Mapping[str, str],
    author: tuple[str, str],
    message: Callable[[Sequence[Change]], str],
    attempts: int,
    max_files: int,
    max_file_bytes: int,
    before_push: Callable[[int], None] | None,
    on_skip: Callable[[str, str], None] | None,
    tree_limits: TreeLimits,
) -> Pushed:
    for attempt in range(1, attempts + 1):
        _sync(checkout, target, tree_limits)
        changed, changes = setters.rewrite_tree(
            checkout.tree,
            path,
            images,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            on_skip=on_skip,
        )
        if not changed:
            return Pushed(None, ())
        text = message(changes)
        files: dict[str, bytes | None] = dict(changed)
        sha = checkout.commit(
            files,
            message=text,
            author=author,
            trailers={},
        )
        if before_push is not None:
            before_push(attempt)
        try:
            checkout.push(branch=target)
        except PushRejectedError:
            if attempt == attempts:
                raise
            continue  # someone pushed first: start again from their commit
        return Pushed(sha, tuple(changes))
    raise AssertionError("unreachable")  # pragma: no cover


def _sync(checkout: Checkout, push_branch: str | None, limits: TreeLimits) -> str:
    """Start from the push branch when it exists, else from the checkout branch."""
    head = checkout.sync(branch=push_branch, limits=limits) if push_branch else None
    if head is None:
        head = checkout.sync(limits=limits)
    if head is None:
        raise GitError(
            f"branch {checkout.branch!r} of {checkout.shown} has no commit to update "
            "(spec.git.checkout.ref.branch)",
            reason="RefNotFound",
        )
    return head
