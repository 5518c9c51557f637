"""Run a tool over tenant content, confined by the kernel: the build sandbox.

Every process that reads what a tenant committed (``kustomize build``,
``git archive``) runs through :class:`Sandbox`. With bubblewrap (``bwrap``)
the process gets new user, mount, PID, network, IPC, UTS and cgroup
namespaces: its whole filesystem is the read-only folders it is handed (the
artifact, the tool), an empty ``/tmp`` and a minimal ``/dev`` — no ``/proc``
at all; it has no network (only a loopback of its own), no capabilities,
no environment but what is passed, and user id 65534 inside. rlimits from
``prlimit`` bound its address space, CPU time, file size and open files; a
watchdog bounds its wall time; its output is read in chunks and cut off at a
cap, never buffered whole (:mod:`.supervision`).

Where bubblewrap is missing or the kernel refuses it namespaces, the sandbox
is *unavailable*: :meth:`Sandbox.run` raises :class:`SandboxUnavailableError`
unless the platform set ``LANDLORD_SANDBOX__MODE=unconfined``, which runs the
same command with the same rlimits and caps but without namespaces (a
documented, explicit acceptance of the risk).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pathlib
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Literal

from landlord import errors
from landlord.gitops.supervision import CappedReader, Supervised, excerpt
from landlord.settings import SandboxSettings

log = logging.getLogger(__name__)

__all__ = [
    "Bind",
    "Completed",
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailableError",
    "find_bwrap",
    "from_settings",
]

Mode = Literal["bwrap", "unconfined"]
# User and group the tool runs as inside the sandbox (nobody/nogroup).
SANDBOX_ID = 65534
# The sandbox's own empty tmpfs: the one writable place a tool has.
TMP = "/tmp"  # noqa: S108 - a fresh tmpfs inside the sandbox, not the host's /tmp


class SandboxError(errors.RetryableError):
    """A confined run failed; ``reason`` says how (the message is Landlord's own)."""

    reason = "SandboxFailed"

    def __init__(
        self, message: str, *, reason: str = "SandboxFailed", returncode: int | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        # The tool's exit code, when it ran to an exit of its own (reason "Failed").
        self.returncode = returncode


class SandboxUnavailableError(SandboxError):
    """Isolation is not available here and the platform did not accept running without it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="SandboxUnavailable")


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one confined run may use."""

    wall_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3
    output_bytes: int = 64 * 1024**2
    file_bytes: int = 64 * 1024**2
    open_files: int = 256


@dataclasses.dataclass(frozen=True)
class Bind:
    """A host path made visible read-only at ``inside``."""

    host: pathlib.Path
    inside: str


@dataclasses.dataclass(frozen=True)
class Completed:
    """A finished run: its exit code and the tail of what it wrote to stderr."""

    returncode: int
    stderr: str


def find_bwrap() -> pathlib.Path | None:
    """``bwrap`` on ``PATH``, if installed."""
    found = shutil.which("bwrap")
    return pathlib.Path(found) if found else None


class Sandbox:
    """Runs commands confined, or refuses to when confinement is unavailable."""

    def __init__(
        self,
        *,
        mode: Mode = "bwrap",
        bwrap: pathlib.Path | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.mode = mode
        self.bwrap = bwrap if bwrap is not None else find_bwrap()
        self.limits = limits or Limits()
        self._available: str | None = None  # "" when available, else why not
        # Whether the sandbox can forbid user namespaces inside it (bwrap's
        # --disable-userns writes /proc/sys, read-only in a container): probed.
        self.no_nested_userns = True
        self._lock = threading.Lock()

    # -- availability ----------------------------------------------------------

    def unavailable(self) -> str | None:
        """Why bubblewrap cannot confine here (None: it can). Probed once."""
        with self._lock:
            if self._available is None:
                self._available = self._probe()
            return self._available or None

    def _probe(self) -> str:
        if self.bwrap is None or not self.bwrap.is_file():
            return (
                "bubblewrap (bwrap) is not installed; install it (Debian: apt-get install "
                "bubblewrap) or set LANDLORD_SANDBOX__MODE=unconfined to accept running "
                "tenant builds without isolation"
            )
        # The probe sees the host read-only: it only asks whether namespaces work.
        try:
            result = self._try()
            if result.returncode != 0:
                self.no_nested_userns = False
                if self._try().returncode == 0:
                    log.warning(
                        "the build sandbox cannot forbid user namespaces inside it here "
                        "(bwrap --disable-userns: %s); builds run confined otherwise",
                        result.stderr.decode(errors="replace").strip()[-200:],
                    )
                    return ""
                self.no_nested_userns = True
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start: {error}"
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()[-1:]
            return (
                "bubblewrap cannot create namespaces here"
                + (f" ({detail[0]})" if detail else "")
                + "; allow unprivileged user namespaces, or set "
                "LANDLORD_SANDBOX__MODE=unconfined to accept the risk"
            )
        return ""

    def _try(self) -> subprocess.CompletedProcess[bytes]:
        command = [str(self.bwrap), *self._namespace_args(), "--ro-bind", "/", "/", *self._mounts()]
        return subprocess.run(
            [*command, "--", "true"], capture_output=True, timeout=10, check=False
        )

    def check(self) -> str | None:
        """A warning to log at start, or None when builds will run confined."""
        why = self.unavailable()
        if why is None:
            return None
        if self.mode == "unconfined":
            return f"tenant builds run WITHOUT isolation (LANDLORD_SANDBOX__MODE=unconfined): {why}"
        return f"tenant builds are refused until isolation works: {why}"

    # -- running ---------------------------------------------------------------

    def _namespace_args(self) -> list[str]:
        return [
            "--unshare-all",  # user, mount, pid, net, ipc, uts, cgroup
            "--unshare-user",
            # No user namespace inside: kustomize and git never need one, and the
            # capabilities one grants are the kernel's widest attack surface.
            *(["--disable-userns"] if self.no_nested_userns else []),
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--uid",
            str(SANDBOX_ID),
            "--gid",
            str(SANDBOX_ID),
            "--hostname",
            "sandbox",
        ]

    def _mounts(self) -> list[str]:
        # No /proc at all: neither kustomize nor git needs it, and even a /proc
        # of the sandbox's own shows host facts (the bind sources in mountinfo).
        return ["--dev", "/dev", "--tmpfs", TMP]

    def _rlimits(self, limits: Limits) -> list[str]:
        prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
        return [
            prlimit,
            f"--as={limits.memory_bytes}",
            f"--cpu={limits.cpu_seconds}",
            f"--fsize={limits.file_bytes}",
            f"--nofile={limits.open_files}",
            "--core=0",
            "--",
        ]

    def _system_mounts(self) -> list[str]:
        """``/usr`` read-only and the top-level links or folders programs load from."""
        args = ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            path = pathlib.Path(top)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), top]
            elif path.is_dir():
                args += ["--ro-bind", top, top]
        return args

    def command(
        self,
        argv: Sequence[str],
        *,
        binds: Sequence[Bind],
        cwd: str,
        env: dict[str, str],
        limits: Limits,
        system: bool = False,
        network: bool = False,
    ) -> tuple[list[str], list[str], dict[str, str], str | None]:
        """(prefix, sandbox arguments, environment, working directory) for one run.

        The sandbox arguments are handed to bwrap through a pipe (``--args``),
        not on its command line: host paths stay out of the process table.
        ``network``: the host's network, and its resolver files (``helm`` talking
        to the apiserver with a tenant's token); everything else stays confined.
        """
        why = self.unavailable()
        if why is None:
            args = [*self._namespace_args(), *self._mounts()]
            if system:
                args += self._system_mounts()
            if network:
                args += ["--share-net"]
                for name in ("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf"):
                    if pathlib.Path(name).is_file():
                        args += ["--ro-bind", name, name]
            for bind in binds:
                args += ["--ro-bind", str(bind.host), bind.inside]
            for key, value in sorted(env.items()):
                args += ["--setenv", key, value]
            args += ["--chdir", cwd]
            return [*self._rlimits(limits), str(self.bwrap)], [*args, "--", *argv], {}, None
        if self.mode != "unconfined":
            raise SandboxUnavailableError(
                f"tenant content is only processed in the build sandbox, which is unavailable: "
                f"{why}"
            )
        # Accepted risk: the same command, bounded, without namespaces. Paths
        # inside the sandbox are mapped back to the host paths they bind.
        mapping = {bind.inside: str(bind.host) for bind in binds}
        host_argv = [_host_path(arg, mapping) for arg in argv]
        host_env = {"PATH": "/usr/bin:/bin", **{k: _host_path(v, mapping) for k, v in env.items()}}
        return [*self._rlimits(limits), *host_argv], [], host_env, _host_path(cwd, mapping)

    @contextlib.contextmanager
    def stream(
        self,
        argv: Sequence[str],
        *,
        binds: Sequence[Bind],
        cwd: str,
        env: dict[str, str] | None = None,
        limits: Limits | None = None,
        system: bool = False,
        network: bool = False,
        what: str,
    ) -> Iterator[CappedReader]:
        """Start ``argv`` confined; yield its stdout as a capped reader.

        On leaving, the process is waited for (killed if it is still running)
        and a non-zero exit, a timeout or an output over the cap raises
        :class:`SandboxError` with Landlord's own message.
        """
        limits = limits or self.limits
        prefix, args, host_env, host_cwd = self.command(
            argv,
            binds=binds,
            cwd=cwd,
            env=dict(env or {}),
            limits=limits,
            system=system,
            network=network,
        )
        pass_fds: tuple[int, ...] = ()
        if args:
            # Options through the pipe; the command itself must follow on the command line.
            split = args.index("--")
            args, command_argv = args[:split], args[split:]
            read_end, write_end = os.pipe()
            payload = b"".join(arg.encode() + b"\0" for arg in args)
            if len(payload) > 60_000:  # a pipe holds 64 KiB without a reader
                os.close(read_end)
                os.close(write_end)
                raise SandboxError(f"{what}: too many sandbox arguments", reason="Failed")
            os.write(write_end, payload)
            os.close(write_end)
            prefix = [*prefix, "--args", str(read_end), *command_argv]
            pass_fds = (read_end,)
        try:
            process = subprocess.Popen(
                prefix,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=host_env,
                cwd=host_cwd,
                start_new_session=True,
                pass_fds=pass_fds,
            )
        finally:
            for fd in pass_fds:
                os.close(fd)
        watch = Supervised(process, limits.wall_seconds, limits.output_bytes)
        began = time.monotonic()
        failed = False
        try:
            yield watch.reader
        except Exception:
            failed = True
            # A reader that ran into the cap or the timeout sees a cut stream:
            # say why it was cut rather than how the reader choked on it.
            if not (watch.reader.over or watch.timed_out.is_set()):
                raise
        finally:
            watch.finish(kill=failed)
        elapsed = time.monotonic() - began
        if watch.timed_out.is_set():
            raise SandboxError(
                f"{what} took longer than {limits.wall_seconds:.0f}s and was stopped",
                reason="Timeout",
            )
        if watch.reader.over:
            raise SandboxError(
                f"{what} wrote more than {limits.output_bytes} bytes and was stopped",
                reason="OutputTooLarge",
            )
        if process.returncode != 0:
            raise SandboxError(
                f"{what} failed{_signal_hint(process.returncode, elapsed, limits)}: "
                f"{excerpt(watch.tail.text())}",
                reason="Failed",
                returncode=process.returncode,
            )

    def run(
        self,
        argv: Sequence[str],
        *,
        binds: Sequence[Bind],
        cwd: str,
        env: dict[str, str] | None = None,
        limits: Limits | None = None,
        system: bool = False,
        network: bool = False,
        what: str,
    ) -> bytes:
        """Run ``argv`` confined and return its whole (capped) stdout."""
        with self.stream(
            argv,
            binds=binds,
            cwd=cwd,
            env=env,
            limits=limits,
            system=system,
            network=network,
            what=what,
        ) as out:
            return out.read()


def from_settings(config: SandboxSettings) -> Sandbox:
    """The sandbox ``LANDLORD_SANDBOX__*`` describe (not yet probed: see :meth:`Sandbox.check`)."""
    return Sandbox(
        mode=config.mode,
        bwrap=config.bwrap,
        limits=Limits(
            wall_seconds=config.wall_seconds,
            cpu_seconds=config.cpu_seconds,
            memory_bytes=config.memory_bytes,
            output_bytes=config.output_bytes,
        ),
    )


def _signal_hint(returncode: int, elapsed: float, limits: Limits) -> str:
    if returncode in (-9, 137) or returncode == -24:
        if elapsed >= limits.cpu_seconds * 0.9:
            return f" (CPU time limit {limits.cpu_seconds}s)"
        return " (killed: a resource limit was hit)"
    if returncode < 0:
        return f" (signal {-returncode})"
    return ""


def _host_path(value: str, mapping: dict[str, str]) -> str:
    for inside, host in sorted(mapping.items(), key=lambda item: -len(item[0])):
        if value == inside or value.startswith(inside + "/"):
            return host + value[len(inside) :]
    return value
