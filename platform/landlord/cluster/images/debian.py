"""The Debian base of Landlord's image: a ``debootstrap`` root filesystem, cleaned and cached.

The mirror is the one this machine's apt already uses (read at run time, never
written into the project), and the base is cached under ``cache_dir/images``
keyed by suite, package list and mirror, so only the first build runs
``debootstrap``. Files that differ from one run to the next for no reason (apt
lists, logs, ldconfig's cache, the host's hostname) are removed.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable

from landlord.cluster.images import buildah

SUITE = "bookworm"
PACKAGES = ("python3", "git", "ca-certificates", "bubblewrap")
PYTHON = "3.11"  # bookworm's python3; the host that installs the wheels must match
REPOSITORY = "localhost/landlord/debian"
# Bumped whenever the cleaning below changes what the base holds.
RECIPE = "1"

Progress = Callable[[str], None]

# Paths (relative to the root) whose content is removed, the folder kept.
_EMPTIED = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/log",
    "tmp",
    "var/tmp",
    "run",
    "dev",  # the runtime mounts its own /dev
)
# Files removed outright; globs relative to the root.
_REMOVED = (
    "etc/hostname",
    "etc/resolv.conf",
    "etc/machine-id",
    "var/lib/dbus/machine-id",
    "etc/apt/sources.list",
    "etc/*-",
    "var/cache/ldconfig/aux-cache",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "root/.bash_history",
)


# debootstrap's stage lines, not its one line per package.
_STAGE = re.compile(
    r"I: (?!(?:Retrieving|Validating|Extracting|Configuring|Unpacking) (?!the |required |base ))"
    r"\S.*\.\.\.$"
)


def mirror_from_deb822(text: str, suite: str = SUITE) -> str | None:
    """The first ``URIs:`` of a ``deb`` stanza serving ``suite`` in a ``.sources`` file."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, list[str]] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.split()
        if fields.get("enabled", ["yes"])[0].lower() == "no":
            continue
        if "deb" in fields.get("types", []) and suite in fields.get("suites", []):
            uris = fields.get("uris", [])
            if uris:
                return uris[0].rstrip("/")
    return None


def mirror_from_list(text: str, suite: str = SUITE) -> str | None:
    """The URI of the first ``deb URI suite ...`` line of a ``sources.list``."""
    for raw in text.splitlines():
        line = re.sub(r"\[[^]]*\]", " ", raw.split("#", 1)[0]).split()
        if len(line) >= 3 and line[0] == "deb" and line[2] == suite:
            return line[1].rstrip("/")
    return None


def mirror(suite: str = SUITE, etc_apt: pathlib.Path = pathlib.Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses for ``suite``."""
    for sources in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        found = mirror_from_deb822(sources.read_text(errors="replace"), suite)
        if found:
            return found
    lists = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for listing in lists:
        if listing.is_file():
            found = mirror_from_list(listing.read_text(errors="replace"), suite)
            if found:
                return found
    raise buildah.ImageBuildError(
        f"no Debian mirror for {suite} in {etc_apt}/sources.list(.d)",
        hint=f"add a `deb <mirror> {suite} main` source to apt, then retry",
    )


def base_key(suite: str, packages: Iterable[str], mirror_uri: str) -> str:
    """The base's cache key: what ``debootstrap`` is asked for, and from where."""
    text = "\n".join([RECIPE, suite, ",".join(sorted(packages)), mirror_uri])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def installed_packages(status: str) -> list[tuple[str, str]]:
    """``(package, version)`` of every installed package in a dpkg ``status`` file, sorted."""
    found: list[tuple[str, str]] = []
    for stanza in re.split(r"\n\s*\n", status):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Status") == "install ok installed" and "Package" in fields:
            found.append((fields["Package"], fields.get("Version", "")))
    return sorted(found)


def clean(rootfs: pathlib.Path) -> None:
    """Remove what would differ between two runs of the same ``debootstrap``."""
    for relative in _EMPTIED:
        folder = rootfs / relative
        if folder.is_dir():
            for child in folder.iterdir():
                if not child.is_dir() or child.is_symlink():
                    child.unlink()
                elif relative == "var/log":
                    _clean_logs(child)
                else:
                    shutil.rmtree(child)
    for pattern in _REMOVED:
        for path in rootfs.glob(pattern):
            if path.is_file() or path.is_symlink():
                path.unlink()
    shadow = rootfs / "etc/shadow"
    if shadow.is_file():
        shadow.write_text(normalize_shadow(shadow.read_text()))


def normalize_shadow(text: str) -> str:
    """``/etc/shadow`` with each "last changed" day cleared: it is the day of the build."""
    lines = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            fields[2] = ""
        lines.append(":".join(fields))
    return "\n".join(lines) + "\n" if lines else ""


def _clean_logs(folder: pathlib.Path) -> None:
    # Keep log folders (packages own them), drop the files.
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() or path.is_symlink():
            path.unlink()


def python_version(rootfs: pathlib.Path) -> str | None:
    """The ``major.minor`` of the root filesystem's ``python3``, from its binary's name."""
    target = rootfs / "usr/bin/python3"
    if not target.is_symlink():
        return None
    match = re.fullmatch(r"python(\d+\.\d+)", os.readlink(target))
    return match.group(1) if match else None


def _unmount_under(root: pathlib.Path) -> None:
    """Unmount whatever a failed ``debootstrap`` left mounted under ``root`` (proc, sys)."""
    prefix = str(root.resolve())
    mounts = pathlib.Path("/proc/mounts").read_text().splitlines()
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted(points, reverse=True):
        if point == prefix or point.startswith(prefix + "/"):
            subprocess.run(["umount", "--lazy", point], check=False, capture_output=True)


def require_root() -> None:
    """Say that building needs root (debootstrap, mounting buildah's vfs containers) up front."""
    if os.geteuid() != 0:
        raise buildah.ImageBuildError(
            "building Landlord's image needs root (debootstrap, buildah's vfs storage)",
            hint="run `make image` as root; `make node-tools` installs what it needs",
        )


def debootstrap(rootfs: pathlib.Path, mirror_uri: str, progress: Progress) -> None:
    """``debootstrap --variant=minbase`` the suite with :data:`PACKAGES` into ``rootfs``."""
    require_root()
    binary = buildah.tool("debootstrap", "debootstrap")
    argv = [
        binary,
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(rootfs),
        mirror_uri,
    ]
    log = rootfs.with_name("debootstrap.log")
    started = time.monotonic()
    with log.open("w") as out:
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=out, text=True)
        assert child.stdout is not None
        for line in child.stdout:
            out.write(line)
            # Stage lines ("I: Installing core packages...") are few enough to show.
            if _STAGE.match(line):
                progress(f"debootstrap: {line[3:].strip()}")
        code = child.wait()
    if code != 0:
        _unmount_under(rootfs)
        tail = log.read_text(errors="replace")[-2000:]
        raise buildah.ImageBuildError(f"debootstrap failed (exit {code}): {tail}")
    progress(f"debootstrap done in {time.monotonic() - started:.0f}s")


def base_image(cache_dir: pathlib.Path, progress: Progress) -> tuple[pathlib.Path, list[str]]:
    """The cached base image's OCI archive and its packages (``name=version``), built once."""
    mirror_uri = mirror()
    key = base_key(SUITE, PACKAGES, mirror_uri)
    folder = cache_dir / "images"
    archive = folder / f"debian-{SUITE}-{key}.oci.tar"
    listing = archive.with_name(archive.name.removesuffix(".oci.tar") + ".packages")
    if archive.is_file() and listing.is_file():
        return archive, listing.read_text().split()
    require_root()
    buildah.tool("debootstrap", "debootstrap")
    progress(f"building the Debian {SUITE} base from {mirror_uri} (first build only)")
    folder.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="base-", dir=folder))
    try:
        rootfs = work / "rootfs"
        debootstrap(rootfs, mirror_uri, progress)
        version = python_version(rootfs)
        if version != PYTHON:
            raise buildah.ImageBuildError(
                f"{SUITE}'s python3 is {version}, the image recipe expects {PYTHON}"
            )
        clean(rootfs)
        status = (rootfs / "var/lib/dpkg/status").read_text()
        packages = [f"{name}={version}" for name, version in installed_packages(status)]
        tool = buildah.Buildah(work / "buildah")
        container = tool.from_image()
        mounted = tool.mount(container)
        subprocess.run(["cp", "-a", f"{rootfs}/.", mounted], check=True)
        tool.umount(container)
        name = f"{REPOSITORY}:{SUITE}-{key}"
        tool.commit(container, name)
        listing.write_text("\n".join(packages) + "\n")
        tool.push_oci_archive(name, archive)
        tool.remove_all()
    finally:
        _unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)
    return archive, packages
