"""A working clone of one branch, for writing commits to it: checkout, commit, push.

Used by the onboarding API for the platform repository and by image update
automations for a tenant's repository. The same hardened environment and
credentials as every other git command (:class:`landlord.git.command.Runner`),
with the connection pinned to checked addresses when given a resolution; the
committer is Landlord, the author is whoever asked for the change.
"""

from __future__ import annotations

import dataclasses
import pathlib

from landlord import errors
from landlord.git import network
from landlord.git.command import GitError, Runner
from landlord.git.credentials import Credentials


@dataclasses.dataclass(frozen=True)
class Commit:
    """One commit of a file's history: who, when, what, and its trailers."""

    sha: str
    author_name: str
    author_email: str
    time: str  # ISO 8601, the author date
    subject: str
    trailers: dict[str, str]


class PushRejectedError(GitError, errors.ConcurrentUpdateError):
    """The remote moved on while we committed (a non-fast-forward push)."""

    reason = "PushRejected"


_FIELD = "\x1f"
_RECORD = "\x1e"


@dataclasses.dataclass(frozen=True)
class TreeLimits:
    """What a fetched branch may hold before it is written out (a tenant's repository).

    ``max_total_bytes`` also caps every file git writes while fetching (the pack):
    a small, highly compressed pack must not unpack into the operator's whole disk.
    """

    max_files: int
    max_total_bytes: int


class Checkout(Runner):
    """A working clone of one branch of a remote, for writing commits to it.

    It satisfies :class:`landlord.onboarding.repository.Workspace`.
    """

    committer = ("Landlord", "landlord@landlord.invalid")

    def __init__(
        self,
        url: str,
        credentials: Credentials | None,
        *,
        workdir: pathlib.Path,
        branch: str,
        timeout: float,
        resolution: network.Resolution | None = None,
    ) -> None:
        super().__init__(url, credentials, workdir=workdir, timeout=timeout, resolution=resolution)
        self.branch = branch
        self.tree = workdir / "tree"

    def _git(self, *args: str) -> str:
        return self._run(*args, cwd=self.tree).decode()

    def sync(self, *, branch: str | None = None, limits: TreeLimits | None = None) -> str | None:
        """Make the work tree the remote branch's head; its sha, or None for an empty branch.

        ``branch`` (default: the checkout's) is another branch to start from, such
        as the branch an image automation pushes to; None when it does not exist
        (the work tree is then left as it was). With ``limits``, a pack or a tree
        larger than they allow is ArtifactTooLarge, before any file is written out.
        """
        if not (self.tree / ".git").exists():
            self.tree.mkdir(parents=True, exist_ok=True)
            self._git("init", "--quiet", f"--initial-branch={self.branch}")
        wanted = branch or self.branch
        try:
            self._run(
                *("fetch", "--quiet", "--no-tags", "--", self.url, f"+refs/heads/{wanted}"),
                cwd=self.tree,
                max_file_bytes=limits.max_total_bytes if limits else None,
            )
        except GitError as error:
            if error.reason == "RefNotFound":
                return None  # an empty repository, or no such branch yet
            raise
        if limits is not None:
            self._check_tree("FETCH_HEAD", limits)
        self._git("reset", "--quiet", "--hard", "FETCH_HEAD")
        self._git("clean", "--quiet", "-fdx")
        return self._git("rev-parse", "HEAD").strip()

    def _check_tree(self, revision: str, limits: TreeLimits) -> None:
        """ArtifactTooLarge when ``revision``'s tree has more files or bytes than ``limits``."""
        listing = self._run("ls-tree", "-r", "-l", "-z", "--full-tree", revision, cwd=self.tree)
        files = total = 0
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            files += 1
            size = entry.partition(b"\t")[0].split()[-1]
            total += int(size) if size.isdigit() else 0
            if files > limits.max_files or total > limits.max_total_bytes:
                raise GitError(
                    f"branch of {self.shown} holds more than {limits.max_files} files or "
                    f"{limits.max_total_bytes} bytes; nothing was written out",
                    reason="ArtifactTooLarge",
                )

    def read(self, path: str) -> bytes | None:
        """A file of the work tree, or None."""
        target = self._inside(path)
        return target.read_bytes() if target.is_file() else None

    def files(self, folder: str) -> list[str]:
        """Paths (from the work tree's root) of the YAML files in ``folder``, recursively."""
        base = self._inside(folder)
        if not base.is_dir():
            return []
        root = self.tree.resolve()
        return sorted(
            str(path.relative_to(root))
            for path in base.rglob("*")
            if path.suffix in (".yaml", ".yml") and path.is_file() and ".git" not in path.parts
        )

    def commit(
        self,
        changes: dict[str, bytes | None],
        *,
        message: str,
        author: tuple[str, str],
        trailers: dict[str, str],
    ) -> str:
        """Write ``changes`` (path → content, None deletes), commit them; return the sha.

        When anything fails on the way, the work tree and the index are put back to
        the last commit before the error is raised: nothing written or staged for
        this commit can end up in the next one (the API commits a batch of requests
        one after the other in one work tree).
        """
        try:
            for path, content in changes.items():
                target = self._inside(path)
                if content is None:
                    target.unlink(missing_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
            self._git("add", "--all", "--", *changes)
            text = message.rstrip() + "\n\n" + "".join(f"{k}: {v}\n" for k, v in trailers.items())
            name, email = author
            self._git(
                "-c",
                f"user.name={self.committer[0]}",
                "-c",
                f"user.email={self.committer[1]}",
                "commit",
                "--quiet",
                "--no-verify",
                f"--author={_safe(name)} <{_safe(email)}>",
                "-m",
                text,
            )
            return self._git("rev-parse", "HEAD").strip()
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Put the work tree and the index back to the last commit (nothing staged, no new file)."""
        if (self.tree / ".git").exists():
            # On a branch without a commit yet, "reset --hard" has no HEAD to go back to.
            try:
                self._git("rev-parse", "--verify", "--quiet", "HEAD")
            except GitError:
                self._git("rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", ".")
            else:
                self._git("reset", "--quiet", "--hard", "HEAD")
            self._git("clean", "--quiet", "-fdx")

    def push(self, *, branch: str | None = None) -> None:
        """Push the work tree's head to the branch, or to ``branch``.

        :class:`PushRejectedError` if the remote branch moved on.
        """
        target = branch or self.branch
        try:
            self._git("push", "--quiet", "--", self.url, f"HEAD:refs/heads/{target}")
        except GitError as error:
            text = error.detail.lower()  # the message says less for transport failures
            if any(s in text for s in ("rejected", "non-fast-forward", "fetch first")):
                raise PushRejectedError(error.detail, reason="PushRejected") from None
            raise

    def history(self, path: str, *, limit: int = 100) -> list[Commit]:
        """Commits touching ``path`` on the synced branch, newest first (follows no renames)."""
        return self._log(limit, "--", path)

    def recent(self, limit: int) -> list[tuple[str, dict[str, str]]]:
        """The synced branch's last ``limit`` commits, newest first: sha and trailers."""
        return [(commit.sha, commit.trailers) for commit in self._log(limit)]

    def _log(self, limit: int, *paths: str) -> list[Commit]:
        if not (self.tree / ".git").exists():
            return []
        try:
            out = self._git(
                "log",
                f"--max-count={limit}",
                f"--format=%H{_FIELD}%an{_FIELD}%ae{_FIELD}%aI{_FIELD}%s{_FIELD}"
                f"%(trailers:only,unfold){_RECORD}",
                *paths,
            )
        except GitError:
            return []  # an empty branch has no history yet
        commits = []
        for record in out.split(_RECORD):
            parts = record.strip("\n").split(_FIELD)
            if len(parts) != 6:
                continue
            sha, name, email, when, subject, raw = parts
            commits.append(Commit(sha, name, email, when, subject, _trailers(raw)))
        return commits

    def _inside(self, path: str) -> pathlib.Path:
        target = (self.tree / path).resolve()
        root = self.tree.resolve()
        if target != root and root not in target.parents:
            raise GitError(f"path {path!r} leaves the work tree", reason="InvalidPath")
        return target


def _trailers(raw: str) -> dict[str, str]:
    """``Key: value`` lines of a commit's trailer block."""
    trailers = {}
    for line in raw.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            trailers[key.strip()] = value.strip()
    return trailers


def _safe(text: str) -> str:
    """An author name or e-mail without the characters that would break ``Name <email>``."""
    return "".join(c for c in text if c not in "<>\n\r\0").strip() or "unknown"
