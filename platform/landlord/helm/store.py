"""Where the operator keeps repository indexes and verified chart archives.

Indexes by repository (only the newest, named by its digest), charts by the
digest of their archive: a chart is verified once and shared by every release
that uses that exact archive. Files are written whole (temporary file, then
rename), so a reader never sees half of one.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import time

from landlord.helm import index as index_mod


class ChartStore:
    """Indexes and charts on the operator's disk."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root

    def _write(self, path: pathlib.Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            pathlib.Path(temporary).unlink(missing_ok=True)
            raise

    # -- indexes -------------------------------------------------------------------

    def _index_dir(self, namespace: str, name: str) -> pathlib.Path:
        return self.root / "index" / namespace / name

    def save_index(self, namespace: str, name: str, digest: str, index: index_mod.Index) -> None:
        """Keep ``index`` as the repository's newest (older ones are removed)."""
        folder = self._index_dir(namespace, name)
        target = folder / f"{digest.partition(':')[2] or digest}.json"
        self._write(target, index.to_json())
        for other in folder.glob("*.json"):
            if other != target:
                other.unlink(missing_ok=True)

    def load_index(self, namespace: str, name: str, digest: str) -> index_mod.Index | None:
        """The index stored for ``digest`` (None: not on this disk; fetch it again)."""
        path = self._index_dir(namespace, name) / f"{digest.partition(':')[2] or digest}.json"
        try:
            return index_mod.Index.from_json(path.read_bytes())
        except (OSError, ValueError):
            return None

    def forget_index(self, namespace: str, name: str) -> None:
        folder = self._index_dir(namespace, name)
        for path in folder.glob("*.json"):
            path.unlink(missing_ok=True)
        if folder.is_dir():
            folder.rmdir()

    # -- charts --------------------------------------------------------------------

    def chart_path(self, digest: str) -> pathlib.Path:
        return self.root / "charts" / f"{digest.partition(':')[2] or digest}.tgz"

    def has_chart(self, digest: str) -> bool:
        return self.chart_path(digest).is_file()

    def prune_charts(self, kept: set[str], *, older_than: float) -> int:
        """Remove archives not in ``kept`` untouched for ``older_than`` seconds; how many."""
        names = {f"{d.partition(':')[2] or d}.tgz" for d in kept}
        removed = 0
        horizon = time.time() - older_than
        for path in (self.root / "charts").glob("*.tgz"):
            try:
                if path.name not in names and path.stat().st_mtime < horizon:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def save_chart(self, digest: str, data: bytes) -> pathlib.Path:
        path = self.chart_path(digest)
        self._write(path, data)
        return path
