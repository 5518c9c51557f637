"""Start, watch and stop the control plane's processes.

Each component runs in its own session (so Ctrl-C in a terminal does not reach
it and ``landlord cluster up`` can return while it runs on), with its output in
a log file. A process is identified by its pid *and* its executable, so a
recycled pid is never mistaken for ours.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import signal
import subprocess
import time
import typing
from collections.abc import Mapping, Sequence

# Our own children, kept so they are reaped (and not warned about) while we run.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclasses.dataclass(frozen=True)
class Record:
    """What we need to find and stop a component later, from another process too."""

    name: str
    pid: int
    argv: tuple[str, ...]
    log: str
    # The program the process ends up running when argv[0] execs another
    # (``unshare``/``nsenter`` then the kubelet); empty: argv[0] itself.
    program: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pid": self.pid,
            "argv": list(self.argv),
            "log": self.log,
            "program": self.program,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Record:
        argv = data["argv"]
        assert isinstance(argv, list)
        return cls(
            name=str(data["name"]),
            pid=int(str(data["pid"])),
            argv=tuple(str(arg) for arg in argv),
            log=str(data["log"]),
            program=str(data.get("program", "")),
        )


def start(
    name: str,
    argv: Sequence[str],
    log: pathlib.Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: pathlib.Path | None = None,
    program: str = "",
) -> Record:
    """Start ``argv`` in a new session, appending its output to ``log``.

    ``program`` names what the process finally runs when ``argv[0]`` execs it.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    _CHILDREN[process.pid] = process
    return Record(name=name, pid=process.pid, argv=tuple(argv), log=str(log), program=program)


def alive(record: Record) -> bool:
    """Whether ``record``'s process still runs (and is still the same program)."""
    child = _CHILDREN.get(record.pid)
    if child is not None:
        # Our own child: its pid cannot be recycled until we reap it, and /proc
        # is no help while it exits (its cmdline reads empty by then).
        if child.poll() is not None:
            del _CHILDREN[record.pid]
            return False
        return typing.cast(list[str], child.args)[0] == record.argv[0]
    try:
        stat = pathlib.Path(f"/proc/{record.pid}/stat").read_text()
        cmdline = pathlib.Path(f"/proc/{record.pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X"):
        return False
    # An interpreted program shows its interpreter first and its own path second.
    programs = [arg.decode(errors="replace") for arg in cmdline.split(b"\0")[:2]]
    return (record.program or record.argv[0]) in programs


def stop(record: Record, *, timeout: float = 10.0) -> None:
    """SIGTERM the component's process group, then SIGKILL after ``timeout``."""
    if not alive(record):
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(record):
                return
            time.sleep(0.05)


def tail(log: str | pathlib.Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a component's log."""
    try:
        with open(log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def naming(*paths: str) -> list[int]:
    """Processes whose command line names one of ``paths`` (an orphaned component's folders)."""
    wanted = [path.encode() for path in paths if path]
    found: list[int] = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        args = cmdline.split(b"\0")
        if any(_names(arg, path) for arg in args for path in wanted):
            found.append(int(entry.name))
    return found


def _names(arg: bytes, path: bytes) -> bool:
    """``arg`` is ``path``, a path inside it, or a ``--flag=`` of either."""
    value = arg.split(b"=", 1)[1] if arg.startswith(b"-") and b"=" in arg else arg
    return value == path or value.startswith(path + b"/")


def kill_orphan(pid: int, *, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL, a process that is not our child."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
            except OSError:
                return
            if state in ("Z", "X"):
                return
            time.sleep(0.05)
