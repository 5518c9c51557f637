"""A fetch whose negotiation the server answered with nothing is tried once without it."""

from __future__ import annotations

import pathlib

import pytest

from landlord.git import GitError, GitRemote


def _remote(
    tmp_path: pathlib.Path, failures: list[GitError]
) -> tuple[GitRemote, list[tuple[str, ...]]]:
    remote = GitRemote("https://git.example/repo.git", None, workdir=tmp_path, timeout=5)
    calls: list[tuple[str, ...]] = []

    def run(*args: str, **_: object) -> bytes:
        calls.append(args)
        if args[0] in ("fetch", "-c") and failures:
            raise failures.pop(0)
        return b"0" * 40 + b"\n"

    remote._run = run  # type: ignore[method-assign]
    (tmp_path / "repo.git").mkdir()
    return remote, calls


def test_an_empty_negotiation_answer_is_retried_without_haves(tmp_path: pathlib.Path) -> None:
    broken = GitError("git fetch failed", detail="fatal: expected 'acknowledgments'")
    remote, calls = _remote(tmp_path, [broken])

    remote.fetch("refs/heads/main")

    fetches = [c for c in calls if "fetch" in c]
    assert len(fetches) == 2
    assert fetches[1][:2] == ("-c", "fetch.negotiationAlgorithm=noop")
    assert fetches[1][2:] == fetches[0]  # the same fetch otherwise


def test_other_failures_are_not_retried(tmp_path: pathlib.Path) -> None:
    refused = GitError(
        "git fetch failed", reason="AuthenticationFailed", detail="fatal: Authentication failed"
    )
    remote, calls = _remote(tmp_path, [refused])

    with pytest.raises(GitError, match="fetch failed"):
        remote.fetch("refs/heads/main")
    assert len([c for c in calls if "fetch" in c]) == 1
