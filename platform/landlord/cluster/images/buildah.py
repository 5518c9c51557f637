"""A thin, typed wrapper over the ``buildah`` command line (vfs storage, no daemon).

Every call names its own storage root and run root, so a build touches only the
folder it is given; ``commit`` takes a fixed timestamp, so the same files give
the same layer digests.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from landlord import errors


class ImageBuildError(errors.TerminalError):
    """An image build step failed; the message carries the tool's own output."""


def tool(name: str, package: str) -> str:
    """The path of ``name``, or a clear error naming the Debian package to install."""
    found = shutil.which(name)
    if found is None:
        raise ImageBuildError(
            f"{name} is not installed; image builds need it",
            hint=f"run `make node-tools` (installs the Debian package {package}) as root",
        )
    return found


class Buildah:
    """buildah with its storage under ``root`` (vfs driver)."""

    def __init__(self, root: pathlib.Path) -> None:
        self.binary = tool("buildah", "buildah")
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def run(self, *args: str, timeout: float = 600.0) -> str:
        argv = [
            self.binary,
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--storage-driver",
            "vfs",
            *args,
        ]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise ImageBuildError(f"buildah {args[0]} timed out after {timeout:.0f}s") from error
        if done.returncode != 0:
            raise ImageBuildError(
                f"buildah {' '.join(args[:2])} failed (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )
        return done.stdout.strip()

    def from_image(self, base: str = "scratch") -> str:
        """A new working container from ``base``; returns its name."""
        return self.run("from", "--quiet", base)

    def mount(self, container: str) -> pathlib.Path:
        """The container's root filesystem as a folder (vfs: a plain directory; needs root)."""
        return pathlib.Path(self.run("mount", container))

    def umount(self, container: str) -> None:
        self.run("umount", container)

    def copy(self, container: str, source: pathlib.Path, destination: str) -> None:
        self.run("copy", "--quiet", container, str(source), destination)

    def config(
        self,
        container: str,
        *,
        entrypoint: Sequence[str] | None = None,
        cmd: Sequence[str] | None = None,
        user: str | None = None,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        args: list[str] = []
        if entrypoint is not None:
            args += ["--entrypoint", json.dumps(list(entrypoint))]
        if cmd is not None:
            args += ["--cmd", json.dumps(list(cmd))]
        if user is not None:
            args += ["--user", user]
        if workdir is not None:
            args += ["--workingdir", workdir]
        for key, value in sorted((env or {}).items()):
            args += ["--env", f"{key}={value}"]
        for key, value in sorted((labels or {}).items()):
            args += ["--label", f"{key}={value}"]
        self.run("config", *args, container)

    def commit(self, container: str, name: str, *, timestamp: int = 0) -> str:
        """Commit ``container`` as image ``name`` with every file time set to ``timestamp``."""
        return self.run("commit", "--quiet", "--rm", "--timestamp", str(timestamp), container, name)

    def push_oci_archive(self, image: str, archive: pathlib.Path) -> None:
        """Write ``image`` as an OCI archive, its index naming it ``image``."""
        archive.parent.mkdir(parents=True, exist_ok=True)
        tmp = archive.with_name(archive.name + ".tmp")
        tmp.unlink(missing_ok=True)
        self.run("push", "--quiet", image, f"oci-archive:{tmp}:{image}")
        tmp.replace(archive)

    def inspect(self, image: str) -> dict[str, object]:
        data = json.loads(self.run("inspect", "--type", "image", image))
        assert isinstance(data, dict)
        return data

    def remove_all(self) -> None:
        """Forget every working container and image (the archive is what we keep)."""
        self.run("rm", "--all")
        self.run("rmi", "--all", "--force")
