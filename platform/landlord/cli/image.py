"""``landlord image build``: Landlord's own OCI image, from Debian packages and the wheel."""

from __future__ import annotations

import pathlib
import shutil
import tempfile
import time

import click

from landlord.cli import console
from landlord.cluster import binaries
from landlord.cluster.images import app, buildah
from landlord.cluster.images import landlord as landlord_image
from landlord.settings import Settings


@click.group("image")
def image_group() -> None:
    """Build Landlord's container image (no Docker: debootstrap, pip and buildah)."""


def _step(message: str) -> None:
    console.step("image", message)


def _lock(lock: pathlib.Path | None) -> pathlib.Path:
    if lock is not None:
        return lock
    root = app.project_root()
    if root is None:
        raise buildah.ImageBuildError(
            "no checkout to take requirements/runtime.txt from",
            hint="pass --lock (and --wheel) when landlord is not installed from a checkout",
        )
    return root / "requirements" / "runtime.txt"


@image_group.command("build")
@click.option(
    "--wheel",
    type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True),
    default=None,
    help="Landlord's wheel [default: built from this checkout].",
)
@click.option(
    "--lock",
    type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True),
    default=None,
    help="The runtime lock, with hashes [default: the checkout's requirements/runtime.txt].",
)
@click.option(
    "--output",
    type=click.Path(path_type=pathlib.Path, dir_okay=False),
    default=None,
    help="Also copy the OCI archive here.",
)
@click.pass_obj
def build_command(
    settings: Settings,
    wheel: pathlib.Path | None,
    lock: pathlib.Path | None,
    output: pathlib.Path | None,
) -> None:
    """Build (or find in the cache) the image's OCI archive; print its path and name."""
    started = time.monotonic()
    cache_dir = settings.cluster.cache_dir
    lock = _lock(lock)
    with console.build_progress() as progress:
        kustomize = binaries.resolve(["kustomize"], cache_dir=cache_dir, progress=progress)
    with tempfile.TemporaryDirectory(prefix="landlord-wheel-") as scratch:
        if wheel is None:
            root = app.project_root()
            if root is None:
                raise buildah.ImageBuildError(
                    "no checkout to build Landlord's wheel from", hint="pass --wheel"
                )
            _step("building Landlord's wheel from the checkout")
            wheel = app.build_wheel(root, pathlib.Path(scratch))
        archive, name = landlord_image.build(
            cache_dir,
            wheel=wheel,
            lock=lock,
            kustomize=kustomize["kustomize"],
            progress=_step,
        )
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, output)
        archive = output
    size = archive.stat().st_size / 1e6
    console.out.print(f"image   {name}", soft_wrap=True)
    console.out.print(
        f"archive {archive} ({size:.0f} MB, {time.monotonic() - started:.1f}s)", soft_wrap=True
    )
