"""Fetching a remote's commit: its refs, a shallow fetch into a private clone, its tree.

The clone is bare and reused between fetches; the tree leaves it only as a
``git archive`` stream run in the build sandbox (``git archive`` reads tenant
content). Every command goes through :class:`landlord.git.command.Runner`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
from collections.abc import Iterator

from landlord.git import urls
from landlord.git.command import HARDENING, GitError, Runner
from landlord.gitops import sandbox as sandbox_mod
from landlord.gitops.supervision import CappedReader


@dataclasses.dataclass(frozen=True)
class RemoteRefs:
    """What ``ls-remote`` reported: ref name → commit (annotated tags peeled)."""

    refs: dict[str, str]

    def branch(self, name: str) -> str | None:
        return self.refs.get(f"refs/heads/{name}")

    def tag(self, name: str) -> str | None:
        return self.refs.get(f"refs/tags/{name}")

    def tags(self) -> list[str]:
        return [ref.removeprefix("refs/tags/") for ref in self.refs if ref.startswith("refs/tags/")]


class GitRemote(Runner):
    """One remote repository, with a private bare clone reused between fetches."""

    def ls_remote(self) -> RemoteRefs:
        """Heads and tags of the remote, without fetching any object."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        out = self._run("ls-remote", "--heads", "--tags", "--", self.url).decode()
        refs: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.endswith("^{}"):
                refs[ref[:-3]] = sha  # the peeled commit wins over the tag object
            else:
                refs.setdefault(ref, sha)
        return RemoteRefs(refs)

    fresh = False  # this object made the local clone: nothing in it is garbage yet

    def _bare(self) -> pathlib.Path:
        bare = self.workdir / "repo.git"
        if not (bare / "HEAD").exists():
            bare.mkdir(parents=True, exist_ok=True)
            self._run("init", "--bare", "--quiet", str(bare))
            self.fresh = True
        return bare

    def fetch(self, want: str, sha: str | None = None, *, max_pack_bytes: int | None = None) -> str:
        """Fetch one ref (or commit) shallowly into the local clone; return its commit.

        With ``max_pack_bytes``, git is stopped as soon as a file it writes (the
        received pack) grows past it: a server cannot fill the disk until the timeout.
        """
        bare = self._bare()
        fetch = (
            "fetch",
            "--depth=1",
            "--no-tags",
            "--no-recurse-submodules",
            "--quiet",
            "--",
            self.url,
            f"+{want}:refs/landlord/fetched" if not _is_sha(want) else want,
        )
        try:
            self._run(*fetch, cwd=bare, max_file_bytes=max_pack_bytes)
        except GitError as error:
            if not _negotiation_failed(error):
                raise
            # A shallow clone that already holds the wanted commit (an earlier fetch
            # received it, then lost a race with a push) can make a smart-HTTP server
            # answer the negotiation with nothing at all, every time. Without "have"
            # lines the server just sends the commit.
            self._run(
                "-c",
                "fetch.negotiationAlgorithm=noop",
                *fetch,
                cwd=bare,
                max_file_bytes=max_pack_bytes,
            )
        resolved = _fetched(bare, sha) or (
            self._run("rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}", cwd=bare)
            .decode()
            .strip()
        )
        if sha is not None and resolved != sha:
            raise GitError(
                f"fetched {resolved} but the remote advertised {sha}; "
                "the ref moved during the fetch, retrying",
                reason="RefMoved",
            )
        return resolved

    def pack_size(self) -> int:
        """Bytes the local clone's objects take on disk (loose and packed, with indexes).

        Summed here rather than by ``git count-objects``: one process less per fetch.
        """
        total = 0
        for folder, _dirs, files in os.walk(self._bare() / "objects"):
            for file in files:
                with contextlib.suppress(FileNotFoundError):  # a concurrent gc
                    total += os.lstat(os.path.join(folder, file)).st_size
        return total

    @contextlib.contextmanager
    def open_archive(
        self, sha: str, sandbox: sandbox_mod.Sandbox, *, max_bytes: int
    ) -> Iterator[CappedReader]:
        """The commit's tree as an uncompressed tar stream (no .git, no submodules).

        ``git archive`` reads tenant content (``.gitattributes`` among it), so it
        runs in the build sandbox with the clone read-only and no network; its
        output is streamed to the caller and cut off after ``max_bytes``.
        """
        if not _is_sha(sha):
            raise GitError(f"not a commit id: {sha[:60]!r}", reason="InvalidRevision")
        config = [("safe.directory", "*"), *HARDENING]
        env = {
            "HOME": sandbox_mod.TMP,
            "PATH": "/usr/bin:/bin",
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        limits = dataclasses.replace(
            sandbox.limits, output_bytes=max_bytes, wall_seconds=self.timeout
        )
        try:
            with sandbox.stream(
                ["git", "--git-dir", "/repo", "archive", "--format=tar", sha],
                binds=[sandbox_mod.Bind(self._bare().resolve(), "/repo")],
                cwd=sandbox_mod.TMP,
                env=env,
                limits=limits,
                system=True,
                what="git archive",
            ) as stream:
                yield stream
        except sandbox_mod.SandboxUnavailableError as error:
            raise GitError(error.message, reason="SandboxUnavailable") from None
        except sandbox_mod.SandboxError as error:
            reason = "ArtifactTooLarge" if error.reason == "OutputTooLarge" else "ArchiveFailed"
            raise GitError(urls.redact(error.message, self._secrets), reason=reason) from None

    def prune(self) -> None:
        """Drop objects no longer referenced, so the clone does not grow forever."""
        bare = self._bare()
        with contextlib.suppress(GitError):
            self._run("reflog", "expire", "--expire=now", "--all", cwd=bare)
            self._run("gc", "--prune=now", "--quiet", cwd=bare)


def _fetched(bare: pathlib.Path, expected: str | None) -> str | None:
    """The commit just fetched, when ``FETCH_HEAD`` names the one the remote advertised.

    Anything else (no expectation, an annotated tag's object, another commit)
    is left to ``git rev-parse`` to peel and report.
    """
    if expected is None:
        return None
    try:
        first = (bare / "FETCH_HEAD").read_text(errors="replace").split("\t", 1)[0].strip()
    except OSError:
        return None
    return expected if first == expected else None


def _negotiation_failed(error: GitError) -> bool:
    """Git's client gave up on the server's negotiation answer (not a transport failure)."""
    detail = (error.detail or str(error)).lower()
    return "expected 'acknowledgments'" in detail or "expected 'packfile'" in detail


def _is_sha(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)
