"""The real node's sandbox ("pause") image, built from Debian's static ``catatonit``.

containerd starts one sandbox container per pod from this image; it only has to
hold the pod's namespaces and reap zombies, which ``catatonit -P`` (pause mode)
does. The image is built once per ``catatonit`` binary and cached.
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil
import tempfile

from landlord.cluster.images import buildah

REPOSITORY = "localhost/landlord/pause"


def _catatonit() -> pathlib.Path:
    return pathlib.Path(buildah.tool("catatonit", "catatonit")).resolve()


def image_name() -> str:
    """The pause image's fully qualified name; its tag is the binary's digest."""
    digest = hashlib.sha256(_catatonit().read_bytes()).hexdigest()[:12]
    return f"{REPOSITORY}:catatonit-{digest}"


def archive(cache_dir: pathlib.Path) -> tuple[pathlib.Path, str]:
    """Build (or find) the pause image's OCI archive; return it and the image name."""
    name = image_name()
    path = cache_dir / "images" / f"pause-{name.rsplit(':', 1)[1]}.oci.tar"
    if path.is_file():
        return path, name
    with tempfile.TemporaryDirectory(prefix="landlord-pause-") as scratch:
        work = pathlib.Path(scratch)
        staged = work / "pause"
        shutil.copyfile(_catatonit(), staged)
        staged.chmod(0o755)
        tool = buildah.Buildah(work / "buildah")
        container = tool.from_image()
        tool.copy(container, staged, "/pause")
        tool.config(
            container,
            entrypoint=["/pause", "-P"],
            user="65535:65535",
            labels={"org.opencontainers.image.title": "landlord pause (catatonit -P)"},
        )
        tool.commit(container, name)
        tool.push_oci_archive(name, path)
        tool.remove_all()
    return path, name
