"""The labels of every namespace, as the namespace watch last delivered them.

The policy subject of an object is decided by its namespace's tenant label; a
reconcile looks it up here instead of asking the apiserver each time. A
namespace not (yet) seen returns None and the caller asks the apiserver.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping


class NamespaceLabels:
    """Thread-safe name → labels, fed by watch events (a deletion removes the entry)."""

    def __init__(self) -> None:
        self._labels: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def update(self, name: str, labels: Mapping[str, str] | None, *, deleted: bool = False) -> None:
        with self._lock:
            if deleted:
                self._labels.pop(name, None)
            else:
                self._labels[name] = dict(labels or {})

    def get(self, name: str) -> dict[str, str] | None:
        with self._lock:
            found = self._labels.get(name)
            return dict(found) if found is not None else None
