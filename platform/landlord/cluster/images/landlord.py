"""Landlord's own container image: a Debian base layer and an application layer, no Docker.

The base (``debootstrap`` of Debian with ``python3``, ``git``, ``ca-certificates``
and ``bubblewrap``) is built once and cached; the application layer holds the
runtime lock's wheels, Landlord's wheel, the pinned kustomize, helm and sops, the ``landlord``
wrapper and a non-root user. Both are committed with time 0, so the same inputs
give the same layers, and the archive is cached under ``cache_dir/images`` by a
digest of every input: a warm build only hashes them.
"""

from __future__ import annotations

import hashlib
import pathlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping

from landlord.cluster import binaries
from landlord.cluster.images import app, buildah, debian

REPOSITORY = "localhost/landlord/landlord"
# Bumped whenever the recipe below changes what the image holds.
RECIPE = "1"
UID = 65532
USER = "landlord"
HOME = f"/home/{USER}"
# Archives kept in the cache (each is ~150 MB; every change to the checkout makes a new one).
KEPT = 3

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    del message


def wheel_version(wheel: pathlib.Path) -> str:
    """The version in a wheel's file name (``landlord-0.1.0-py3-none-any.whl`` → ``0.1.0``)."""
    match = re.fullmatch(r"landlord-([^-]+)-[^-]+-[^-]+-[^-]+\.whl", wheel.name)
    if match is None:
        raise buildah.ImageBuildError(f"{wheel.name} is not a Landlord wheel")
    return match.group(1)


def inputs_digest(
    *,
    base: str,
    packages: Iterable[str],
    lock: bytes,
    wheel: bytes,
    kustomize: bytes,
    helm: bytes,
    sops: bytes,
) -> str:
    """A sha256 over everything the image is made of (field by field, length-prefixed)."""
    digest = hashlib.sha256()
    fields = [RECIPE.encode(), base.encode(), "\n".join(packages).encode(), lock, wheel]
    fields += [kustomize, helm, sops]
    for field in fields:
        digest.update(len(field).to_bytes(8, "big"))
        digest.update(field)
    return digest.hexdigest()


def image_name(version: str, digest: str) -> str:
    """The fully qualified name: nothing is pulled, so the tag says exactly what is inside."""
    return f"{REPOSITORY}:{version}-{digest[:12]}"


def labels(version: str, packages: Iterable[str], digest: str) -> dict[str, str]:
    """The image's labels: versions and inputs, no creation time and no host names."""
    return {
        "org.opencontainers.image.title": "landlord",
        "org.opencontainers.image.description": "Multi-tenant GitOps for Kubernetes",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.licenses": "Apache-2.0",
        "dev.landlord.debian.suite": debian.SUITE,
        "dev.landlord.debian.packages": " ".join(sorted(packages)),
        "dev.landlord.inputs": f"sha256:{digest}",
    }


def environment() -> dict[str, str]:
    """The image's environment: where the code, kustomize, helm and sops are, no bytecode writes."""
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": HOME,
        "LANG": "C.UTF-8",
        "PYTHONPATH": app.LIB,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "LANDLORD_CLUSTER__ASSETS_DIR": app.BIN,
    }


def add_user(files: Mapping[str, str]) -> dict[str, str]:
    """``/etc/passwd``, ``group``, ``shadow``, ``gshadow`` with the ``landlord`` user added once."""
    entries = {
        "passwd": f"{USER}:x:{UID}:{UID}:Landlord:{HOME}:/usr/sbin/nologin",
        "group": f"{USER}:x:{UID}:",
        "shadow": f"{USER}:*::0:99999:7:::",
        "gshadow": f"{USER}:!::",
    }
    updated: dict[str, str] = {}
    for name, text in files.items():
        lines = [line for line in text.splitlines() if not line.startswith(f"{USER}:")]
        updated[name] = "\n".join([*lines, entries[name]]) + "\n"
    return updated


def _user(root: pathlib.Path) -> None:
    etc = root / "etc"
    current = {name: (etc / name).read_text() for name in ("passwd", "group", "shadow", "gshadow")}
    for name, text in add_user(current).items():
        (etc / name).write_text(text)
    home = root / HOME.lstrip("/")
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    shutil.chown(home, UID, UID)


def kustomize_binary(cache_dir: pathlib.Path) -> pathlib.Path:
    """The pinned kustomize from the build cache, built from its Go module when missing."""
    return tool_binary("kustomize", cache_dir)


def tool_binary(name: str, cache_dir: pathlib.Path) -> pathlib.Path:
    """A pinned tool (kustomize, helm, sops) from the build cache, built when missing."""
    found = binaries.find(name, cache_dir=cache_dir)
    if found is None:
        found = binaries.resolve([name], cache_dir=cache_dir)[name]
    return found


def build(
    cache_dir: pathlib.Path,
    *,
    wheel: pathlib.Path,
    lock: pathlib.Path,
    kustomize: pathlib.Path | None = None,
    helm: pathlib.Path | None = None,
    sops: pathlib.Path | None = None,
    progress: Progress = _quiet,
) -> tuple[pathlib.Path, str]:
    """Build (or find) Landlord's image; return its OCI archive and its name."""
    app.check_host_python()
    kustomize = kustomize or kustomize_binary(cache_dir)
    helm = helm or tool_binary("helm", cache_dir)
    sops = sops or tool_binary("sops", cache_dir)
    base, packages = debian.base_image(cache_dir, progress)
    version = wheel_version(wheel)
    digest = inputs_digest(
        base=base.name,
        packages=packages,
        lock=lock.read_bytes(),
        wheel=wheel.read_bytes(),
        kustomize=kustomize.read_bytes(),
        helm=helm.read_bytes(),
        sops=sops.read_bytes(),
    )
    name = image_name(version, digest)
    archive = cache_dir / "images" / f"landlord-{version}-{digest[:12]}.oci.tar"
    if archive.is_file():
        progress(f"cached: {archive.name}")
        return archive, name
    debian.require_root()
    buildah.tool("buildah", "buildah")
    work = pathlib.Path(tempfile.mkdtemp(prefix="landlord-", dir=archive.parent))
    try:
        staging = work / "app"
        progress("installing the runtime lock and the wheel with pip")
        app.install(
            staging,
            lock=lock,
            wheel=wheel,
            kustomize=kustomize,
            helm=helm,
            sops=sops,
            log=work / "pip.log",
        )
        progress("assembling the image with buildah")
        tool = buildah.Buildah(work / "buildah")
        container = tool.from_image(f"oci-archive:{base}")
        root = tool.mount(container)
        _user(root)
        shutil.copytree(staging, root, symlinks=True, dirs_exist_ok=True)
        tool.umount(container)
        tool.config(
            container,
            entrypoint=[app.WRAPPER],
            user=f"{UID}:{UID}",
            workdir=HOME,
            env=environment(),
            labels=labels(version, packages, digest),
        )
        tool.commit(container, name)
        tool.push_oci_archive(name, archive)
        tool.remove_all()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    prune(archive.parent, keep=archive)
    return archive, name


def prune(folder: pathlib.Path, *, keep: pathlib.Path, count: int = KEPT) -> list[pathlib.Path]:
    """Delete all but the ``count`` newest Landlord archives (``keep`` always stays)."""
    archives = sorted(
        (path for path in folder.glob("landlord-*.oci.tar") if path != keep),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    removed = archives[max(count - 1, 0) :]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
