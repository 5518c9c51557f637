"""Where the onboarding API keeps its working clones, marked as Landlord's own.

``LANDLORD_API__WORKDIR`` is a directory an admin chooses, and may hold other
data: the clones live in one subdirectory that carries a marker file, and
only a subdirectory with the marker is ever removed (the API switched off).
"""

from __future__ import annotations

import pathlib

CLONES = "clones"
MARKER = ".landlord-clones"
_MARKER_TEXT = "Working clones of Landlord's onboarding API; removed when the API is off.\n"


def clones(workdir: pathlib.Path) -> pathlib.Path:
    """The clones' directory under ``workdir``, made (with its marker) if missing."""
    place = workdir / CLONES
    marker = place / MARKER
    if not marker.is_file():
        place.mkdir(parents=True, exist_ok=True)
        marker.write_text(_MARKER_TEXT)
    return place


def ours(workdir: pathlib.Path) -> pathlib.Path | None:
    """The clones' directory if Landlord made it (its marker is there), else None."""
    place = workdir / CLONES
    if place.is_symlink() or not (place / MARKER).is_file():
        return None
    return place


def overlaps(one: pathlib.Path, other: pathlib.Path) -> bool:
    """Whether one directory is, or is inside, or holds the other."""
    a, b = one.resolve(), other.resolve()
    return a == b or a in b.parents or b in a.parents
