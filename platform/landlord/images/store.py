"""The tags each ImageRepository's last good scan found, kept where the operator keeps state.

One JSON file per ImageRepository, ``<root>/<namespace>/<name>.json``, written
whole (a temporary file renamed over the old one): a reader sees the last scan
or the one before, never half of one. Both path components are checked as the
apiserver checks them (a DNS-1123 label and subdomain) before they touch the
filesystem, and the tag list is held to the cap the scan used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import tempfile

from landlord.api import names


class StoreError(ValueError):
    """A namespace or name that cannot be a path component here."""


@dataclasses.dataclass(frozen=True)
class Scan:
    """One scan's result: the canonical image name, its tags (exclusions applied), when."""

    image: str
    tags: tuple[str, ...]
    time: str


class TagStore:
    """Scans by ImageRepository, on disk; ``max_tags`` caps what one file may hold."""

    def __init__(self, root: pathlib.Path, *, max_tags: int) -> None:
        self.root = root
        self.max_tags = max_tags

    def _path(self, namespace: str, name: str) -> pathlib.Path:
        if not names.is_label(namespace) or not names.is_subdomain(name):
            raise StoreError(f"{namespace!r}/{name!r} is not a namespace and an object name")
        return self.root / namespace / f"{name}.json"

    def save(self, namespace: str, name: str, scan: Scan) -> None:
        if len(scan.tags) > self.max_tags:
            raise StoreError(f"{len(scan.tags)} tags; at most {self.max_tags} are kept")
        path = self._path(namespace, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"image": scan.image, "tags": list(scan.tags), "time": scan.time})
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".scan-")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(body)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def load(self, namespace: str, name: str) -> Scan | None:
        """The last good scan, or None (never scanned here, or unreadable)."""
        try:
            path = self._path(namespace, name)
            data = json.loads(path.read_text())
            tags = data["tags"]
            if not isinstance(tags, list) or len(tags) > self.max_tags:
                return None
            return Scan(str(data["image"]), tuple(str(tag) for tag in tags), str(data["time"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def forget(self, namespace: str, name: str) -> None:
        with contextlib.suppress(OSError, StoreError):
            self._path(namespace, name).unlink()
