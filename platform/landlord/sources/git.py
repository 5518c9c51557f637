"""The Git adapter: the only module that imports GitPython.

Every command runs with a hardened environment: no system or global config
(``HOME`` is a private folder), no prompts, ``protocol.file.allow=never``,
no ``ext::`` transport, ``core.fsmonitor`` and hooks off, no submodules.
Credentials travel as an ``http.extraHeader`` set through ``GIT_CONFIG_*``
variables (never in the URL, never on a command line), or as an SSH identity
file with strict host-key checking. Every message that leaves this module is
redacted.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import pathlib
import shlex
import tempfile
from collections.abc import Iterator

import git as gitpython

from landlord import errors
from landlord.sources import urls
from landlord.sources.credentials import Credentials

HARDENING = (
    ("protocol.file.allow", "never"),
    ("protocol.ext.allow", "never"),
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("credential.helper", ""),
    ("transfer.fsckObjects", "true"),
    ("http.followRedirects", "false"),
)


class GitError(errors.RetryableError):
    """A Git operation failed; ``reason`` says how, the message is redacted."""

    reason = "GitOperationFailed"

    def __init__(self, message: str, *, reason: str = "GitOperationFailed") -> None:
        super().__init__(message)
        self.reason = reason


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


def _classify(stderr: str) -> str:
    text = stderr.lower()
    if any(
        s in text
        for s in (
            "authentication failed",
            "401",
            "403",
            "could not read username",
            "permission denied (publickey",
            "terminal prompts disabled",
        )
    ):
        return "AuthenticationFailed"
    if any(
        s in text
        for s in (
            "couldn't find remote ref",
            "not our ref",
            "no such ref",
            "remote branch",
            "not found in upstream",
        )
    ):
        return "RefNotFound"
    if "host key verification failed" in text:
        return "HostKeyVerificationFailed"
    return "GitOperationFailed"


class GitRemote:
    """One remote repository, with a private bare clone reused between fetches."""

    def __init__(
        self, url: str, credentials: Credentials | None, *, workdir: pathlib.Path, timeout: float
    ) -> None:
        user, password = urls.url_credentials(url)
        if password and credentials is None:
            credentials = Credentials(username=user or "git", password=password)
        self.url = urls.strip_credentials(url)
        self.credentials = credentials
        self.workdir = workdir
        self.timeout = timeout
        self._secrets = [password or "", *(credentials.secret_values() if credentials else [])]

    # -- environment -----------------------------------------------------

    @contextlib.contextmanager
    def _environment(self) -> Iterator[dict[str, str]]:
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        config = list(HARDENING)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_PROTOCOL_FROM_USER": "0",
            "LC_ALL": "C",
        }
        with tempfile.TemporaryDirectory(dir=self.workdir, prefix="auth-") as auth_dir:
            creds = self.credentials
            if creds is not None and creds.password:
                token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
                config.append(("http.extraHeader", f"Authorization: Basic {token}"))
            elif creds is not None and creds.bearer_token:
                config.append(("http.extraHeader", f"Authorization: Bearer {creds.bearer_token}"))
            if creds is not None and creds.identity:
                identity = pathlib.Path(auth_dir) / "identity"
                identity.write_bytes(creds.identity)
                identity.chmod(0o600)
                known_hosts = pathlib.Path(auth_dir) / "known_hosts"
                known_hosts.write_bytes(creds.known_hosts or b"")
                env["GIT_SSH_COMMAND"] = " ".join(
                    shlex.quote(part)
                    for part in (
                        "ssh",
                        "-F",
                        os.devnull,
                        "-i",
                        str(identity),
                        "-o",
                        "IdentitiesOnly=yes",
                        "-o",
                        f"UserKnownHostsFile={known_hosts}",
                        "-o",
                        "StrictHostKeyChecking=yes",
                        "-o",
                        "BatchMode=yes",
                    )
                )
            env["GIT_CONFIG_COUNT"] = str(len(config))
            for index, (key, value) in enumerate(config):
                env[f"GIT_CONFIG_KEY_{index}"] = key
                env[f"GIT_CONFIG_VALUE_{index}"] = value
            yield env

    def _run(self, *args: str, cwd: pathlib.Path | None = None) -> bytes:
        command = ["git", *args]
        with self._environment() as env:
            runner = gitpython.cmd.Git(str(cwd or self.workdir))
            try:
                status, stdout, stderr = runner.execute(
                    command,
                    env=env,
                    kill_after_timeout=self.timeout,
                    with_extended_output=True,
                    stdout_as_string=False,
                    strip_newline_in_stdout=False,
                )
            except gitpython.exc.GitCommandError as error:
                raw = error.stderr if isinstance(error.stderr, str) else str(error.stderr)
                message = urls.redact(
                    raw.strip().removeprefix("stderr:").strip(" '"), self._secrets
                )
                if error.status == -9 or ("timeout" in str(error).lower() and not raw.strip()):
                    raise GitError(
                        f"git {args[0]} timed out after {self.timeout:.0f}s", reason="FetchTimeout"
                    ) from None
                raise GitError(
                    f"git {args[0]} {urls.redact(self.url)} failed: {message}",
                    reason=_classify(raw),
                ) from None
        del status, stderr
        return bytes(stdout)

    # -- operations ------------------------------------------------------

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

    def _bare(self) -> pathlib.Path:
        bare = self.workdir / "repo.git"
        if not (bare / "HEAD").exists():
            bare.mkdir(parents=True, exist_ok=True)
            self._run("init", "--bare", "--quiet", str(bare))
        return bare

    def fetch(self, want: str, sha: str | None = None) -> str:
        """Fetch one ref (or commit) shallowly into the local clone; return its commit."""
        bare = self._bare()
        self._run(
            "fetch",
            "--depth=1",
            "--no-tags",
            "--no-recurse-submodules",
            "--quiet",
            "--",
            self.url,
            f"+{want}:refs/landlord/fetched" if not _is_sha(want) else want,
            cwd=bare,
        )
        resolved = (
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
        """Bytes the local clone's objects take on disk."""
        out = self._run("count-objects", "-v", cwd=self._bare()).decode()
        sizes = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        return (int(sizes.get("size-pack", 0)) + int(sizes.get("size", 0))) * 1024

    def archive(self, sha: str) -> bytes:
        """The commit's tree as an uncompressed tar (no .git, no submodule content)."""
        return self._run("archive", "--format=tar", sha, cwd=self._bare())

    def prune(self) -> None:
        """Drop objects no longer referenced, so the clone does not grow forever."""
        bare = self._bare()
        with contextlib.suppress(GitError):
            self._run("reflog", "expire", "--expire=now", "--all", cwd=bare)
            self._run("gc", "--prune=now", "--quiet", cwd=bare)


def _is_sha(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


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


class Checkout(GitRemote):
    """A working clone of one branch of a remote, for writing commits to it.

    Used by the onboarding API for the platform repository. The same hardened
    environment and credentials as :class:`GitRemote`; the committer is Landlord,
    the author is whoever asked for the change.
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
    ) -> None:
        super().__init__(url, credentials, workdir=workdir, timeout=timeout)
        self.branch = branch
        self.tree = workdir / "tree"

    def _git(self, *args: str) -> str:
        return self._run(*args, cwd=self.tree).decode()

    def sync(self) -> str | None:
        """Make the work tree the remote branch's head; its sha, or None for an empty branch."""
        if not (self.tree / ".git").exists():
            self.tree.mkdir(parents=True, exist_ok=True)
            self._git("init", "--quiet", f"--initial-branch={self.branch}")
        try:
            self._git("fetch", "--quiet", "--no-tags", "--", self.url, f"+refs/heads/{self.branch}")
        except GitError as error:
            if error.reason == "RefNotFound":
                return None  # an empty repository, or no such branch yet
            raise
        self._git("reset", "--quiet", "--hard", "FETCH_HEAD")
        self._git("clean", "--quiet", "-fdx")
        return self._git("rev-parse", "HEAD").strip()

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
        """Write ``changes`` (path → content, None deletes), commit them; return the sha."""
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

    def push(self) -> None:
        """Push the work tree's head to the branch; :class:`PushRejectedError` if it moved."""
        try:
            self._git("push", "--quiet", "--", self.url, f"HEAD:refs/heads/{self.branch}")
        except GitError as error:
            text = str(error).lower()
            if any(s in text for s in ("rejected", "non-fast-forward", "fetch first")):
                raise PushRejectedError(str(error), reason="PushRejected") from None
            raise

    def history(self, path: str, *, limit: int = 100) -> list[Commit]:
        """Commits touching ``path`` on the synced branch, newest first (follows no renames)."""
        if not (self.tree / ".git").exists():
            return []
        try:
            out = self._git(
                "log",
                f"--max-count={limit}",
                f"--format=%H{_FIELD}%an{_FIELD}%ae{_FIELD}%aI{_FIELD}%s{_FIELD}"
                f"%(trailers:only,unfold){_RECORD}",
                "--",
                path,
            )
        except GitError:
            return []  # an empty branch has no history yet
        commits = []
        for record in out.split(_RECORD):
            parts = record.strip("\n").split(_FIELD)
            if len(parts) != 6:
                continue
            sha, name, email, when, subject, raw = parts
            trailers = {}
            for line in raw.splitlines():
                key, sep, value = line.partition(": ")
                if sep:
                    trailers[key.strip()] = value.strip()
            commits.append(Commit(sha, name, email, when, subject, trailers))
        return commits

    def _inside(self, path: str) -> pathlib.Path:
        target = (self.tree / path).resolve()
        root = self.tree.resolve()
        if target != root and root not in target.parents:
            raise GitError(f"path {path!r} leaves the work tree", reason="InvalidPath")
        return target


def _safe(text: str) -> str:
    """An author name or e-mail without the characters that would break ``Name <email>``."""
    return "".join(c for c in text if c not in "<>\n\r\0").strip() or "unknown"
