"""A chart folder from a Git or OCI artifact, packaged the same way every time.

For ``sourceRef.kind: GitRepository`` the chart is a folder of the stored
artifact. It is packaged here (not by ``helm package``, which would read the
tenant's folder outside the sandbox): regular files and folders only, in
sorted order, with fixed owners, modes and times, so the same folder always
gives the same digest — and the release is only upgraded when the chart
really changed. The archive then goes through the same verification as a
downloaded one (:func:`landlord.helm.charts.verify`).
"""

from __future__ import annotations

import gzip
import io
import os
import pathlib
import tarfile

import yaml

from landlord.helm.charts import ChartError, Limits


def folder_of(tree: pathlib.Path, path: str, shown: str) -> pathlib.Path:
    """The chart folder ``path`` inside an artifact's ``tree`` (ChartError if it is not one)."""
    relative = path.strip()
    while relative.startswith("./"):
        relative = relative[2:]
    relative = "" if relative in (".", "") else relative
    if relative.startswith("/") or ".." in pathlib.PurePosixPath(relative).parts:
        raise ChartError(f"{shown}: chart path {path!r} must stay inside the repository")
    folder = (tree / relative).resolve() if relative else tree.resolve()
    base = tree.resolve()
    if folder != base and base not in folder.parents:
        raise ChartError(f"{shown}: chart path {path!r} leads outside the repository")
    if not (folder / "Chart.yaml").is_file():
        raise ChartError(f"{shown}: {path!r} has no Chart.yaml")
    return folder


def name_of(folder: pathlib.Path, shown: str) -> tuple[str, str]:
    """The chart's name and version, from its Chart.yaml."""
    try:
        loaded = yaml.safe_load((folder / "Chart.yaml").read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise ChartError(f"{shown}: Chart.yaml is not valid YAML") from None
    if not isinstance(loaded, dict) or not loaded.get("name") or not loaded.get("version"):
        raise ChartError(f"{shown}: Chart.yaml must state a name and a version")
    return str(loaded["name"]), str(loaded["version"])


def package(folder: pathlib.Path, name: str, limits: Limits, shown: str) -> bytes:
    """The folder as a gzipped tar under ``<name>/``, byte for byte the same for the same files."""
    buffer = io.BytesIO()
    total = files = 0
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise ChartError(f"{shown}: {relative} is a symbolic link; a chart holds none")
            info = tarfile.TarInfo(f"{name}/{relative}")
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
                continue
            if not path.is_file():
                raise ChartError(f"{shown}: {relative} is not a regular file")
            files += 1
            size = path.stat().st_size
            total += size
            if files > limits.files or size > limits.file_bytes or total > limits.total_bytes:
                raise ChartError(
                    f"{shown}: the chart folder is larger than the limits ({limits.files} "
                    f"files, {limits.file_bytes} bytes each, {limits.total_bytes} in all)"
                )
            info.size = size
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()


def from_artifact(tree: pathlib.Path, limits: Limits, shown: str) -> bytes:
    """The chart archive an OCI artifact's tree holds (a HelmRelease's ``chartRef``).

    One regular file is the archive itself (``layerSelector.operation: copy``),
    read only when within ``limits.archive_bytes``; otherwise the tree is the
    extracted chart — the folder itself, or the one folder in it — and is
    packaged like a Git chart folder.
    """
    entries = sorted(tree.iterdir())
    if len(entries) == 1 and entries[0].is_file() and not entries[0].is_symlink():
        size = entries[0].stat().st_size
        if size > limits.archive_bytes:
            raise ChartError(
                f"{shown}: the chart archive is {size} bytes; the limit is {limits.archive_bytes}"
            )
        return entries[0].read_bytes()
    if (tree / "Chart.yaml").is_file():
        folder = folder_of(tree, ".", shown)
    elif len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        folder = folder_of(tree, entries[0].name, shown)
    else:
        raise ChartError(
            f"{shown}: the artifact holds no chart (one chart archive, a Chart.yaml, "
            "or one folder with a Chart.yaml)"
        )
    name, _ = name_of(folder, shown)
    return package(folder, name, limits, shown)
