"""The Git adapter: the only module that runs ``git`` against a remote.

Every command runs with a hardened environment built from nothing (none of
the operator's environment is inherited: no ``SSH_AUTH_SOCK``, no
``GIT_CONFIG_PARAMETERS``, no proxy): no system or global config (``HOME``
is a private folder, so no ``.netrc``, ``.git-credentials`` or
``.gitconfig`` of the operator), no credential helper, no prompts,
``protocol.file.allow=never``, no ``ext::`` transport, ``core.fsmonitor``
and hooks off, no submodules. SSH always runs with ``-F /dev/null`` and
without the operator's keys, agent or known hosts (ssh finds the home
folder in the password database, not in ``HOME``). Credentials travel as an
``http.extraHeader`` set through ``GIT_CONFIG_*`` variables (never in the
URL, never on a command line), or as an SSH identity file with strict
host-key checking. A checked address (:class:`network.Resolution`) is
pinned for the fetch. Every message that leaves this module is redacted;
transport failures all read the same (see :mod:`landlord.sources.network`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator

from landlord import errors
from landlord.gitops import sandbox as sandbox_mod
from landlord.sources import network, urls
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
    # No Kerberos/NTLM with whatever ticket the operator's host holds.
    ("http.emptyAuth", "false"),
)

# Commands that talk to the remote: their transport failures read the same.
NETWORK_COMMANDS = frozenset({"ls-remote", "fetch", "push"})
# The most a Git command may print (a ref list of ~100,000 refs); more is refused.
MAX_OUTPUT_BYTES = 8 * 1024 * 1024
_PRLIMIT = shutil.which("prlimit") or "/usr/bin/prlimit"

# Every SSH connection: no config file, no keys, agent, known hosts or
# multiplexed connection of the operator, no prompts, no forwarding.
SSH_OPTIONS = (
    "IdentitiesOnly=yes",
    "IdentityAgent=none",
    "GlobalKnownHostsFile=/dev/null",
    "StrictHostKeyChecking=yes",
    "BatchMode=yes",
    "PasswordAuthentication=no",
    "KbdInteractiveAuthentication=no",
    "HostbasedAuthentication=no",
    "GSSAPIAuthentication=no",
    "PKCS11Provider=none",
    "ControlMaster=no",
    "ControlPath=none",
    "ProxyCommand=none",
    "ProxyJump=none",
    "PermitLocalCommand=no",
    "ForwardAgent=no",
    "ForwardX11=no",
    "ClearAllForwardings=yes",
    "UpdateHostKeys=no",
)


class GitError(errors.RetryableError):
    """A Git operation failed; ``reason`` says how, the message is redacted.

    ``detail`` is Git's own (redacted) account, for the operator's log: for a
    transport failure the message a tenant sees is deliberately less.
    """

    reason = "GitOperationFailed"

    def __init__(
        self, message: str, *, reason: str = "GitOperationFailed", detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail or message


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


_HTTP_DENIED = re.compile(r"returned error: 40[13]\b")


def _classify(stderr: str) -> str:
    """The reason for Git's complaint; anything not recognised is ``GitOperationFailed``."""
    text = stderr.lower()
    if _HTTP_DENIED.search(text) or any(
        s in text
        for s in (
            "authentication failed",
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
        self,
        url: str,
        credentials: Credentials | None,
        *,
        workdir: pathlib.Path,
        timeout: float,
        resolution: network.Resolution | None = None,
    ) -> None:
        """``url`` is normalised (:func:`urls.normalise`); a password in it is basic auth.

        With ``resolution``, Git connects only to the addresses checked there.
        """
        source = urls.normalise(url)
        if source.password and credentials is None:
            credentials = Credentials(username=source.user or "git", password=source.password)
        self.source = source
        self.shown = source.url  # what messages name: no userinfo, no pinned address
        self.resolution = resolution
        self.url = _pinned_ssh_url(source, resolution) or source.fetch_url  # what Git is given
        self.credentials = credentials
        self.workdir = workdir
        self.timeout = timeout
        self._secrets = [
            source.password or "",
            *(credentials.secret_values() if credentials else []),
        ]

    # -- environment -----------------------------------------------------

    @contextlib.contextmanager
    def _environment(self) -> Iterator[dict[str, str]]:
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        config = list(HARDENING)
        # Built from nothing: the operator's environment (SSH_AUTH_SOCK,
        # GIT_CONFIG_PARAMETERS, proxies, GIT_SSL_NO_VERIFY…) never reaches Git.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "SSH_ASKPASS_REQUIRE": "never",
            "GIT_PROTOCOL_FROM_USER": "0",
            "KRB5CCNAME": f"FILE:{home / 'no-kerberos'}",
            "LC_ALL": "C",
        }
        resolve = _curl_resolve(self.source, self.resolution)
        if resolve:
            config.append(("http.curloptResolve", resolve))
        with tempfile.TemporaryDirectory(dir=self.workdir, prefix="auth-") as auth_dir:
            creds = self.credentials
            if creds is not None and creds.password:
                token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
                config.append(("http.extraHeader", f"Authorization: Basic {token}"))
            elif creds is not None and creds.bearer_token:
                config.append(("http.extraHeader", f"Authorization: Bearer {creds.bearer_token}"))
            known_hosts = pathlib.Path(auth_dir) / "known_hosts"
            ssh = ["ssh", "-F", os.devnull]
            if creds is not None and creds.identity:
                identity = pathlib.Path(auth_dir) / "identity"
                identity.write_bytes(creds.identity)
                identity.chmod(0o600)
                known_hosts.write_bytes(creds.known_hosts or b"")
                ssh += ["-i", str(identity)]
            else:
                # No identity: nothing to offer, and an empty known_hosts fails closed.
                known_hosts.write_bytes(b"")
                ssh += ["-o", "IdentityFile=none", "-o", "PubkeyAuthentication=no"]
            ssh += ["-o", f"UserKnownHostsFile={known_hosts}"]
            for option in (*SSH_OPTIONS, *_host_key_alias(self.source, self.resolution)):
                ssh += ["-o", option]
            env["GIT_SSH_COMMAND"] = " ".join(shlex.quote(part) for part in ssh)
            env["GIT_CONFIG_COUNT"] = str(len(config))
            for index, (key, value) in enumerate(config):
                env[f"GIT_CONFIG_KEY_{index}"] = key
                env[f"GIT_CONFIG_VALUE_{index}"] = value
            yield env

    def _run(
        self, *args: str, cwd: pathlib.Path | None = None, max_file_bytes: int | None = None
    ) -> bytes:
        # Not GitPython's execute: it starts from a copy of os.environ, and the
        # operator's environment must not reach Git. A session of its own lets
        # a timeout kill git's helpers (git-remote-http, ssh) too. What the
        # server sends back (a ref list, ``remote:`` messages) is read with caps,
        # never whole; ``max_file_bytes`` bounds every file git writes (the pack).
        prefix = [] if max_file_bytes is None else [_PRLIMIT, f"--fsize={max_file_bytes}", "--"]
        with self._environment() as env:
            process = subprocess.Popen(
                [*prefix, "git", *args],
                cwd=cwd or self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            done = sandbox_mod.collect(process, timeout=self.timeout, stdout_cap=MAX_OUTPUT_BYTES)
        if done.timed_out:
            raise self._failure(args[0], f"timed out after {self.timeout:.0f}s", "FetchTimeout")
        if done.over:
            raise GitError(
                f"git {args[0]} {self.shown}: the server's answer exceeds {MAX_OUTPUT_BYTES} "
                "bytes (too many refs?)",
                reason="ArtifactTooLarge",
            )
        xfsz = int(signal.SIGXFSZ)  # a child (index-pack) that wrote past the file-size limit
        if done.returncode in (-xfsz, 128 + xfsz) or f"died of signal {xfsz}" in done.stderr:
            raise GitError(
                f"git {args[0]} {self.shown}: the repository's pack exceeds {max_file_bytes} bytes",
                reason="ArtifactTooLarge",
            )
        if done.returncode != 0:
            raise self._failure(args[0], done.stderr, _classify(done.stderr))
        return done.stdout

    def _failure(self, command: str, raw: str, reason: str) -> GitError:
        """The error for a failed command: transport failures all read the same to a tenant.

        Refused, reset, timed out, unresolvable, TLS failures and non-Git
        answers are one :data:`network.UNREACHABLE`; only what proves a Git
        conversation (authentication, host key, missing ref) keeps its reason.
        """
        detail = f"git {command} {self.shown} failed: {urls.redact(raw.strip(), self._secrets)}"
        if command in NETWORK_COMMANDS and reason in ("GitOperationFailed", "FetchTimeout"):
            return GitError(
                network.unreachable_message(self.shown), reason=network.UNREACHABLE, detail=detail
            )
        if reason == "FetchTimeout":
            return GitError(f"git {command} {raw}", reason=reason, detail=detail)
        return GitError(detail, reason=reason)

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

    def fetch(self, want: str, sha: str | None = None, *, max_pack_bytes: int | None = None) -> str:
        """Fetch one ref (or commit) shallowly into the local clone; return its commit.

        With ``max_pack_bytes``, git is stopped as soon as a file it writes (the
        received pack) grows past it: a server cannot fill the disk until the timeout.
        """
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
            max_file_bytes=max_pack_bytes,
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

    @contextlib.contextmanager
    def open_archive(
        self, sha: str, sandbox: sandbox_mod.Sandbox, *, max_bytes: int
    ) -> Iterator[sandbox_mod.CappedReader]:
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


def _pinned_ssh_url(source: urls.SourceURL, resolution: network.Resolution | None) -> str | None:
    """For SSH, the URL with the checked address instead of the name.

    The host key is still looked up under the name (:func:`_host_key_alias`).
    """
    if source.scheme != "ssh" or resolution is None or resolution.literal:
        return None
    return dataclasses.replace(source, host=resolution.addresses[0]).fetch_url


def _host_key_alias(source: urls.SourceURL, resolution: network.Resolution | None) -> list[str]:
    if source.scheme != "ssh" or resolution is None or resolution.literal:
        return []
    alias = source.host if source.port == 22 else f"[{source.host}]:{source.port}"
    return [f"HostKeyAlias={alias}", "CheckHostIP=no"]


def _curl_resolve(source: urls.SourceURL, resolution: network.Resolution | None) -> str | None:
    """``http.curloptResolve`` pinning the host to the checked addresses (DNS rebinding)."""
    if source.scheme not in ("http", "https") or resolution is None or resolution.literal:
        return None
    addresses = ",".join(f"[{a}]" if ":" in a else a for a in resolution.addresses)
    return f"{source.host}:{source.port}:{addresses}"


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
            text = error.detail.lower()  # the message says less for transport failures
            if any(s in text for s in ("rejected", "non-fast-forward", "fetch first")):
                raise PushRejectedError(error.detail, reason="PushRejected") from None
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
