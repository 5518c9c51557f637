"""A chart archive, verified before Helm (or anything else) reads it.

A chart is a gzipped tar the tenant's repository serves: hostile input. It is
read entry by entry, and refused on the first entry that breaks a
rule — before any content of an oversized entry is read:

- only regular files and folders (no symlinks, hard links, devices or FIFOs);
- every path relative, inside one top-level folder, without ``..``;
- caps on the archive's size, on each file, on all files together and on
  their number (a 300 MiB file of zeros is a 300 KiB archive);
- ``<chart>/Chart.yaml`` present, naming the chart and version asked for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import posixpath
import tarfile
from typing import Any

import yaml

from landlord import errors

DEFAULT_MAX_ARCHIVE_BYTES = 10 * 1024**2
DEFAULT_MAX_FILE_BYTES = 5 * 1024**2
DEFAULT_MAX_TOTAL_BYTES = 50 * 1024**2
DEFAULT_MAX_FILES = 5_000


class ChartError(errors.TerminalError):
    """The archive is refused; the message names the entry and the rule."""

    reason = "ChartInvalid"


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one chart archive may hold."""

    archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES
    file_bytes: int = DEFAULT_MAX_FILE_BYTES
    total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    files: int = DEFAULT_MAX_FILES


@dataclasses.dataclass(frozen=True)
class Chart:
    """A verified archive: its digest and what its Chart.yaml says."""

    name: str
    version: str
    digest: str  # sha256:<hex> of the archive
    files: int
    size: int  # uncompressed bytes of all files


def verify(data: bytes, *, limits: Limits, shown: str) -> Chart:
    """Check an archive against every rule; :class:`ChartError` names the first broken one."""
    if len(data) > limits.archive_bytes:
        raise ChartError(f"{shown} is {len(data)} bytes; the limit is {limits.archive_bytes}")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    top: str | None = None
    files = 0
    total = 0
    chart_yaml: bytes | None = None
    try:
        # "r:gz", not the stream mode "r|gz": Python 3.11's stream reader mishandles the
        # gzip extra field that `helm package` writes. Entries are still read one at a
        # time, each checked from its header before the reader moves past its content.
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for entry in archive:
                path = _checked_path(entry.name, shown)
                first = path.split("/", 1)[0]
                if top is None:
                    top = first
                elif first != top:
                    raise ChartError(
                        f"{shown}: entry {entry.name!r} is outside the chart folder {top!r}"
                    )
                if entry.isdir():
                    continue
                if not entry.isreg():
                    raise ChartError(
                        f"{shown}: entry {entry.name!r} is a {_type_of(entry)}; a chart holds "
                        "only regular files and folders"
                    )
                files += 1
                if files > limits.files:
                    raise ChartError(f"{shown} holds more than {limits.files} files")
                if entry.size > limits.file_bytes:
                    raise ChartError(
                        f"{shown}: {entry.name!r} is {entry.size} bytes; the limit per file is "
                        f"{limits.file_bytes}"
                    )
                total += entry.size
                if total > limits.total_bytes:
                    raise ChartError(f"{shown} unpacks to more than {limits.total_bytes} bytes")
                if path == f"{top}/Chart.yaml":
                    handle = archive.extractfile(entry)
                    chart_yaml = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise ChartError(
            f"{shown} is not a readable chart archive (gzipped tar): {error}"
        ) from None
    if top is None or chart_yaml is None:
        raise ChartError(f"{shown} has no Chart.yaml in its top folder")
    metadata = _metadata(chart_yaml, shown)
    return Chart(
        name=str(metadata.get("name") or ""),
        version=str(metadata.get("version") or ""),
        digest=digest,
        files=files,
        size=total,
    )


def _checked_path(name: str, shown: str) -> str:
    if not name or name.startswith("/") or "\\" in name or "\0" in name:
        raise ChartError(f"{shown}: entry {name!r} is not a relative path")
    normal = posixpath.normpath(name)
    if normal.startswith("..") or "/../" in f"/{name}/" or normal in (".", ""):
        raise ChartError(f"{shown}: entry {name!r} escapes the chart folder")
    return normal


def _type_of(entry: tarfile.TarInfo) -> str:
    if entry.issym():
        return f"symbolic link to {entry.linkname!r}"
    if entry.islnk():
        return f"hard link to {entry.linkname!r}"
    if entry.isfifo():
        return "FIFO"
    if entry.isdev():
        return "device"
    return "special file"


def _metadata(data: bytes, shown: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(data.decode())
    except (UnicodeDecodeError, yaml.YAMLError):
        raise ChartError(f"{shown}: Chart.yaml is not valid YAML") from None
    if not isinstance(loaded, dict):
        raise ChartError(f"{shown}: Chart.yaml is not a map")
    return loaded


def check_identity(chart: Chart, *, name: str, version: str, shown: str) -> None:
    """The archive must be the chart and version the index promised."""
    if (chart.name, chart.version) != (name, version):
        raise ChartError(
            f"{shown} holds chart {chart.name!r} version {chart.version!r}, not {name!r} "
            f"version {version!r} as the index says"
        )
