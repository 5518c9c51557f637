"""Find each control-plane binary: ``KUBEBUILDER_ASSETS`` first, then the build cache.

envtest's asset folder holds ``kube-apiserver``, ``etcd`` and ``kubectl`` only;
whatever it lacks (the controller-manager, the scheduler, kwok) is built from
the pinned Go modules like everything else.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable

from landlord.cluster import gobuild

ProgressFactory = Callable[[str], gobuild.ProgressFn]


def _from_assets(assets_dir: pathlib.Path | None, name: str) -> pathlib.Path | None:
    if assets_dir is None:
        return None
    candidate = assets_dir / name
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def resolve(
    names: Iterable[str],
    *,
    cache_dir: pathlib.Path,
    assets_dir: pathlib.Path | None = None,
    progress: ProgressFactory | None = None,
) -> dict[str, pathlib.Path]:
    """Map each binary name to an executable path, building what is missing.

    Data files bundled with a built group (kwok's stages) are mapped too.
    """
    found: dict[str, pathlib.Path] = {}
    to_build: dict[str, list[str]] = {}
    for name in names:
        if name not in gobuild.GROUP_OF:
            raise KeyError(f"unknown control-plane binary {name!r}")
        asset = _from_assets(assets_dir, name)
        if asset is not None:
            found[name] = asset
        else:
            to_build.setdefault(gobuild.GROUP_OF[name], []).append(name)
    for group_name, binaries in to_build.items():
        group = gobuild.GROUPS[group_name]
        folder = gobuild.build(
            group,
            cache_dir,
            progress=progress(f"{group.name} {group.version}") if progress else None,
        )
        for name in binaries:
            found[name] = folder / name
        for asset_name in group.assets:
            found[asset_name] = folder / asset_name
    return found


def build_all(
    *,
    cache_dir: pathlib.Path,
    groups: Iterable[str] = ("etcd", "kubernetes", "kwok"),
    progress: ProgressFactory | None = None,
) -> dict[str, pathlib.Path]:
    """Build (or find in the cache) every binary of ``groups``."""
    names = [binary for group in groups for binary in gobuild.GROUPS[group].commands]
    return resolve(names, cache_dir=cache_dir, progress=progress)


def find(
    name: str, *, cache_dir: pathlib.Path, assets_dir: pathlib.Path | None = None
) -> pathlib.Path | None:
    """A binary from the assets folder or the build cache, without building it."""
    asset = _from_assets(assets_dir, name)
    if asset is not None:
        return asset
    group = gobuild.GROUPS[gobuild.GROUP_OF[name]]
    cached = gobuild.cache_path(cache_dir, group) / name
    return cached if cached.is_file() else None
