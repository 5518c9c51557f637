"""A snapshot of what a real node could leave behind on the host, to compare before and after."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import subprocess

from landlord.cluster.realnode import host

PROGRAMS = (
    "containerd",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "kubelet",
    "kube-proxy",
    "runc",
    "catatonit",
)
PATHS = (
    "/var/lib/kubelet",
    "/var/log/pods",
    "/var/log/containers",
    "/run/containerd",
    "/run/netns",
    "/var/run/netns",
    "/etc/cni/net.d",
    "/var/lib/containerd",
    "/var/lib/cni",
)


@dataclasses.dataclass(frozen=True)
class HostState:
    processes: frozenset[str]
    mounts: frozenset[str]
    links: frozenset[str]
    iptables: str
    cgroups: frozenset[str]
    kernel: tuple[tuple[str, str], ...]
    paths: frozenset[str]

    def differences(self, other: HostState) -> dict[str, object]:
        found: dict[str, object] = {}
        for field in dataclasses.fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if mine == theirs:
                continue
            if isinstance(mine, frozenset):
                found[field.name] = {
                    "added": sorted(theirs - mine),
                    "removed": sorted(mine - theirs),
                }
            else:
                found[field.name] = {"before": mine, "after": theirs}
        return found


def _processes() -> frozenset[str]:
    found = set()
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            name = os.path.basename(os.readlink(entry / "exe"))
            if name in PROGRAMS:
                found.add(f"{name}[{entry.name}]")
    return frozenset(found)


def _mounts() -> frozenset[str]:
    lines = pathlib.Path("/proc/self/mountinfo").read_text().splitlines()
    return frozenset(" ".join(line.split()[3:5]) for line in lines)


def _links() -> frozenset[str]:
    data = json.loads(
        subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    )
    return frozenset(str(link["ifname"]) for link in data)


def _iptables() -> str:
    dumps = []
    for tool in ("iptables-save", "ip6tables-save"):
        out = subprocess.run([tool], capture_output=True, text=True, check=False).stdout
        dumps.append(
            "\n".join(line for line in out.splitlines() if not line.startswith(("#", ":")))
        )
        dumps.append(
            "\n".join(line.split()[0] for line in out.splitlines() if line.startswith(":"))
        )
    return "\n".join(dumps)


def _cgroups() -> frozenset[str]:
    found = set()
    for hierarchy in host.cgroup_hierarchies():
        for child in hierarchy.iterdir():
            if child.is_dir():
                found.add(f"{hierarchy.name}:{child.name}")
    return frozenset(found)


def snapshot() -> HostState:
    return HostState(
        processes=_processes(),
        mounts=_mounts(),
        links=_links(),
        iptables=_iptables(),
        cgroups=_cgroups(),
        kernel=tuple(sorted(host.read_kernel_settings().items())),
        paths=frozenset(path for path in PATHS if os.path.lexists(path)),
    )
