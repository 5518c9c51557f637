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
from collections.abc import Callable, Mapping, Sequence

from landlord.git.command import GitError
from landlord.git.workspace import Checkout, PushRejectedError
from landlord.images import setters
from landlord.images.setters import Change


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
) -> Pushed:
    """Bring the marked fields under ``path`` to ``images`` and push the commit.

    ``before_push`` is called with the attempt number (1, 2…) after the commit,
    right before its push (tests push a competing commit from there);
    ``on_skip`` gets the files the limits skipped (:func:`setters.rewrite_tree`).
    Raises :class:`PushRejectedError` when every attempt lost the race,
    :class:`GitError` for Git failures (messages redacted), ``ValueError`` for a
    path leaving the repository, too many files or an invalid image, and
    whatever ``message`` raises (nothing is committed then).
    """
    target = push_branch if push_branch and push_branch != checkout.branch else None
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        _sync(checkout, target)
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


def _sync(checkout: Checkout, push_branch: str | None) -> str:
    """Start from the push branch when it exists, else from the checkout branch."""
    head = checkout.sync(branch=push_branch) if push_branch else None
    if head is None:
        head = checkout.sync()
    if head is None:
        raise GitError(
            f"branch {checkout.branch!r} of {checkout.shown} has no commit to update "
            "(spec.git.checkout.ref.branch)",
            reason="RefNotFound",
        )
    return head
