"""Running ``git`` against one remote, safely: the only place git is started.

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
pinned for the connection. What git prints is read with caps; every message
that leaves this module is redacted, and transport failures all read the
same (see :mod:`landlord.git.network`).
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
from landlord.git import network, urls
from landlord.git.credentials import Credentials
from landlord.gitops import artifacts, supervision

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
# What git's fetch says of a pack that arrived cut short or damaged.
_DAMAGED_PACK = (
    "early eof",
    "bad pack header",
    "index-pack failed",
    "pack has bad object",
    "inflate",
    "did not receive expected object",
    "unexpected disconnect",
    "invalid index-pack output",
    "pack signature mismatch",
    "protocol error",
    "bad band",
    "bad line length",
)
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


class Runner:
    """Runs git for one remote, in a private folder, with the hardened environment.

    :class:`landlord.git.fetch.GitRemote` and :class:`landlord.git.workspace.Checkout`
    build on it; nothing else starts git.
    """

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
            done = supervision.collect(process, timeout=self.timeout, stdout_cap=MAX_OUTPUT_BYTES)
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
        text = raw.lower()
        if "no space left on device" in text:  # our disk, not the server's doing
            return GitError(
                artifacts.STORAGE_FULL_MESSAGE, reason=artifacts.STORAGE_FULL, detail=detail
            )
        if (
            command == "fetch"
            and reason == "GitOperationFailed"
            and any(marker in text for marker in _DAMAGED_PACK)
        ):
            # The server spoke Git (its refs were listed just before): saying that its
            # pack was cut short or damaged tells a tenant nothing about the network.
            return GitError(
                f"git fetch {self.shown}: the server's pack was cut short or damaged; nothing "
                "was stored and the last artifact is still served (retried every interval)",
                reason="PackInvalid",
                detail=detail,
            )
        if command in NETWORK_COMMANDS and reason in ("GitOperationFailed", "FetchTimeout"):
            return GitError(
                network.unreachable_message(self.shown), reason=network.UNREACHABLE, detail=detail
            )
        if reason == "FetchTimeout":
            return GitError(f"git {command} {raw}", reason=reason, detail=detail)
        return GitError(detail, reason=reason)


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
