"""Which kind a word names, as kubectl reads it: ``deploy``, ``deployments.apps``, ``cm``."""

from __future__ import annotations

import dataclasses

from landlord.kube.client import Kube, _translated


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind the apiserver serves."""

    api_version: str
    kind: str
    namespaced: bool


def resolve(kube: Kube, word: str) -> Kind | None:
    """The preferred version of the kind ``word`` names (kind, plural, singular or short name).

    ``word`` may name the group after a dot (``deployments.apps``); None when
    the apiserver serves no such kind.
    """
    name, _, group = word.lower().partition(".")
    with kube._discovery_lock, _translated():
        resources = list(kube.dynamic.resources.search())
    found = []
    for resource in resources:
        plural = str(getattr(resource, "name", None) or "")
        kind = str(getattr(resource, "kind", None) or "")
        if not plural or "/" in plural or kind.endswith("List") or not resource.preferred:
            continue  # subresources, list kinds, versions other than the preferred one
        names = {
            kind.lower(),
            plural,
            str(getattr(resource, "singular_name", "") or ""),
            *(getattr(resource, "short_names", None) or []),
        }
        resource_group = resource.group_version.rpartition("/")[0]
        if name in names and (not group or group == resource_group):
            found.append(Kind(resource.group_version, kind, bool(resource.namespaced)))
    # The core group first, as kubectl prefers built-in kinds over same-named custom ones.
    found.sort(key=lambda kind: ("/" in kind.api_version, kind.api_version))
    return found[0] if found else None
