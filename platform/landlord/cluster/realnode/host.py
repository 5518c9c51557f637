"""What a real node needs from the machine, and the host state it changes.

Everything a node changes outside its own namespaces is made here, recorded
before it is made, and undone by :func:`restore`: the host bridge (its veths
go with the node's network namespace), the cgroups the node's pods live in,
and the kernel settings the kubelet writes at start-up (``kernel.panic_on_oops``
among them: left at 1, an oops would panic the machine).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator

from landlord import errors
from landlord.cluster.realnode import configs
from landlord.cluster.realnode import plan as plan_mod

# The global (not per-network-namespace) settings the kubelet writes when
# protectKernelDefaults is off, which it must be on a machine not made for it.
KERNEL_SETTINGS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
# command -> Debian package
TOOLS = {
    "containerd": "containerd",
    "ctr": "containerd",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "ip": "iproute2",
    "iptables": "iptables",
    "catatonit": "catatonit",
    "buildah": "buildah",
}
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
CGROUP_ROOT = pathlib.Path("/sys/fs/cgroup")
PROC_SYS = pathlib.Path("/proc/sys")


class RealNodeHostError(errors.TerminalError):
    """The machine cannot run a real node; the message names what is missing."""


def missing() -> list[str]:
    """What this machine lacks for a real node, each with the fix (empty: nothing)."""
    problems: list[str] = []
    if os.geteuid() != 0:
        problems.append("root: a real node mounts, makes network namespaces and cgroups")
    packages = sorted({pkg for cmd, pkg in TOOLS.items() if shutil.which(cmd) is None})
    if not pathlib.Path(configs.RUNC).is_file():
        packages.append("runc")
    plugins = [p for p in CNI_PLUGINS if not (pathlib.Path(configs.CNI_BIN_DIR) / p).is_file()]
    if plugins:
        packages.append("containernetworking-plugins")
    if packages:
        problems.append(
            "Debian packages " + ", ".join(sorted(set(packages))) + " (run `make node-tools`)"
        )
    if not cgroup_hierarchies():
        problems.append("cgroups mounted under /sys/fs/cgroup")
    return problems


def preflight() -> None:
    """Raise a clear error naming everything this machine lacks for a real node."""
    problems = missing()
    if problems:
        raise RealNodeHostError(
            "this machine cannot run real nodes; it lacks: " + "; ".join(problems),
            hint="run `make node-tools` as root, or start the cluster without --real-nodes",
        )


def cgroup_hierarchies() -> list[pathlib.Path]:
    """Every cgroup (v1 or v2) mount under /sys/fs/cgroup."""
    found: list[pathlib.Path] = []
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split(" - ")
            if len(fields) != 2:
                continue
            fstype = fields[1].split()[0]
            mountpoint = pathlib.Path(fields[0].split()[4])
            if fstype in ("cgroup", "cgroup2") and CGROUP_ROOT in (mountpoint, *mountpoint.parents):
                found.append(mountpoint)
    return found


# Of those, the ones that turn a kernel oops or an OOM into a panic (a reboot of the
# machine a tenant's pod runs on): written back as soon as the kubelet has set them.
PANIC_SETTINGS = ("vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops")


def read_kernel_settings(root: pathlib.Path = PROC_SYS) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in KERNEL_SETTINGS:
        with contextlib.suppress(OSError):
            values[name] = (root / name).read_text().strip()
    return values


def restore_kernel_settings(values: dict[str, str], root: pathlib.Path = PROC_SYS) -> list[str]:
    """Write back what :func:`read_kernel_settings` read; return the names changed."""
    changed: list[str] = []
    for name, value in values.items():
        path = root / name
        with contextlib.suppress(OSError):
            if path.read_text().strip() != value:
                path.write_text(value + "\n")
                changed.append(name.replace("/", "."))
    return changed


def create_cgroup(path: str) -> None:
    """``path`` in every hierarchy, cpuset's cpus and mems copied from its parent."""
    for hierarchy in cgroup_hierarchies():
        folder = hierarchy / path.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            own = folder / knob
            if own.exists() and not own.read_text().strip():
                own.write_text((folder.parent / knob).read_text())


def cgroup_pids(path: str) -> set[int]:
    pids: set[int] = set()
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / path.lstrip("/")
        if not top.is_dir():
            continue
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(line) for line in procs.read_text().split())
    return pids


def remove_cgroup(path: str, *, timeout: float = 10.0) -> list[str]:
    """Kill what still runs in ``path``'s subtree and remove it; return what stayed."""
    deadline = time.monotonic() + timeout
    while (pids := cgroup_pids(path)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    left: list[str] = []
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / path.lstrip("/")
        if not top.is_dir():
            continue
        folders = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for folder in (*folders, top):
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
            if folder.exists():
                left.append(str(folder))
    return left


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RealNodeHostError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def interfaces() -> list[dict[str, object]]:
    out = _ip("-j", "addr", "show").stdout
    data = json.loads(out or "[]")
    assert isinstance(data, list)
    return data


def check_network_free(plan: plan_mod.Plan) -> None:
    """Refuse a node network some other interface (another cluster's bridge) already uses."""
    network = plan.node_network
    for link in interfaces():
        name = str(link.get("ifname"))
        addresses = link.get("addr_info") or []
        assert isinstance(addresses, list)
        for info in addresses:
            if info.get("family") != "inet" or name == plan.bridge:
                continue
            if ipaddress.IPv4Address(info["local"]) in network:
                raise RealNodeHostError(
                    f"the node network {network} is already used by {name} "
                    "(another cluster with real nodes?)",
                    hint="one cluster with real nodes per machine: stop the other with "
                    "`landlord cluster down --state-dir DIR`",
                )


def create_bridge(plan: plan_mod.Plan) -> None:
    """The host bridge carrying the node network, with the host's address on it."""
    check_network_free(plan)
    if _ip("link", "show", plan.bridge, check=False).returncode != 0:
        _ip("link", "add", plan.bridge, "type", "bridge")
    _ip("addr", "replace", f"{plan.host_ip}/{plan.prefix}", "dev", plan.bridge)
    _ip("link", "set", plan.bridge, "up")


def delete_bridge(plan: plan_mod.Plan) -> bool:
    """Remove the host bridge (and any veth left on it); True if it existed."""
    for link in interfaces():
        if link.get("master") == plan.bridge:
            _ip("link", "delete", str(link["ifname"]), check=False)
    return _ip("link", "delete", plan.bridge, check=False).returncode == 0


def wait_for_namespaces(pid: int, *, timeout: float = 10.0) -> None:
    """Wait until ``pid`` (just started by ``unshare``) left our network and mount namespaces.

    Until it has, ``ip link add … netns PID`` would put the node's ``eth0`` in
    the host's own namespace.
    """
    ours = {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("net", "mnt")}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if all(os.readlink(f"/proc/{pid}/ns/{kind}") != ns for kind, ns in ours.items()):
                return
        except OSError as error:
            raise RealNodeHostError(f"the node's anchor process {pid} ended early") from error
        time.sleep(0.01)
    raise RealNodeHostError(f"process {pid} did not enter namespaces of its own in {timeout}s")


def attach_node(plan: plan_mod.Plan, index: int, pid: int) -> None:
    """Give the node whose namespaces ``pid`` holds its ``eth0`` on the host bridge."""
    wait_for_namespaces(pid)
    veth = plan.host_veth(index)
    _ip("link", "delete", veth, check=False)
    _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", str(pid))
    _ip("link", "set", veth, "master", plan.bridge, "up")
    inside = ["nsenter", f"--target={pid}", "--net", "--"]
    for args in (
        ["ip", "addr", "add", f"{plan.node_ip(index)}/{plan.prefix}", "dev", "eth0"],
        ["ip", "link", "set", "eth0", "up"],
        ["ip", "route", "add", "default", "via", plan.host_ip],
        ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"],
    ):
        done = subprocess.run([*inside, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RealNodeHostError(f"{' '.join(args)} in node {index} failed: {done.stderr}")


def route_between(plan: plan_mod.Plan, pid: int, index: int) -> None:
    """Routes from node ``index`` (namespaces held by ``pid``) to every other node's pods."""
    for other in range(plan.count):
        if other == index:
            continue
        done = subprocess.run(
            [
                "nsenter",
                f"--target={pid}",
                "--net",
                "--",
                "ip",
                "route",
                "replace",
                plan.pod_cidr(other),
                "via",
                plan.node_ip(other),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RealNodeHostError(
                f"routing node {index} to node {other}'s pods failed: {done.stderr.strip()}"
            )


def mount_namespace(pid: int) -> str:
    """The mount namespace ``pid`` lives in (``mnt:[inode]``)."""
    return os.readlink(f"/proc/{pid}/ns/mnt")


# What runs in a node's mount namespace; nothing else is ever killed by its namespace.
NODE_PROGRAMS = frozenset(
    {
        "containerd",
        "containerd-shim-runc-v2",
        "kubelet",
        "kube-proxy",
        "runc",
        "sh",
        "unshare",
        "nsenter",
        "ctr",
    }
)


def namespace_members(namespace: str) -> Iterator[int]:
    """The node's processes in mount namespace ``namespace`` (containerd's shims among them).

    Namespace numbers are reused once a namespace is gone, so a process counts
    only if it also runs one of the node's programs, and the host's own
    namespace (init's, ours) never counts.
    """
    host_namespaces = set()
    for pid in ("1", "self"):
        with contextlib.suppress(OSError):
            host_namespaces.add(os.readlink(f"/proc/{pid}/ns/mnt"))
    if not namespace or namespace in host_namespaces:
        return
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(entry / "ns" / "mnt") != namespace:
                continue
            if os.path.basename(os.readlink(entry / "exe")) in NODE_PROGRAMS:
                yield int(entry.name)


def kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@dataclasses.dataclass(frozen=True)
class Leftovers:
    """What ``cluster down`` could not remove (empty on a clean teardown)."""

    processes: list[int]
    cgroups: list[str]

    def __bool__(self) -> bool:
        return bool(self.processes or self.cgroups)
