"""Landlord's kinds as the CLI names them: aliases, scope, and which can be reconciled.

``landlord get``, ``tree``, ``reconcile``, ``suspend`` and ``resume`` take a
KIND argument; every alias here names the same kind in all of them.
"""

from __future__ import annotations

import dataclasses

import click

from landlord.api import (
    cluster,
    gitrepository,
    helmrelease,
    helmrepository,
    imagepolicy,
    imagerepository,
    imageupdateautomation,
    kustomization,
    notification,
    ocirepository,
    tenant,
)


@dataclasses.dataclass(frozen=True)
class Kind:
    """One Landlord kind: its name, how the CLI spells it, where its objects live."""

    name: str
    plural: str
    aliases: tuple[str, ...]
    # Tenants are cluster-scoped; Clusters live in the platform namespace only.
    cluster_scoped: bool = False
    platform_only: bool = False
    # Whether `landlord reconcile` applies (the kind echoes landlord.dev/requested-at).
    reconcilable: bool = True

    @property
    def namespaced(self) -> bool:
        """Whether its objects sit in namespaces the user names (not Tenant, not Cluster)."""
        return not (self.cluster_scoped or self.platform_only)

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every name the CLI accepts for it, lower case."""
        return (self.name.lower(), self.plural, *self.aliases)


# In the order `landlord get all` prints them: tenants, then sources, syncs, image
# automation, notifications.
ALL: tuple[Kind, ...] = (
    Kind(tenant.KIND, "tenants", ("tnt",), cluster_scoped=True),
    Kind(gitrepository.KIND, "gitrepositories", ("gitrepo", "source", "sources")),
    Kind(helmrepository.KIND, "helmrepositories", ("helmrepo",)),
    Kind(ocirepository.KIND, "ocirepositories", ("ocirepo",)),
    Kind(kustomization.KIND, "kustomizations", ("ks",)),
    Kind(helmrelease.KIND, "helmreleases", ("hr",)),
    Kind(imagerepository.KIND, "imagerepositories", ("imagerepo",)),
    Kind(imagepolicy.KIND, "imagepolicies", ("imagepol",)),
    Kind(imageupdateautomation.KIND, "imageupdateautomations", ("imageupdate",)),
    Kind(notification.PROVIDER, "providers", ()),
    Kind(notification.ALERT, "alerts", ()),
    Kind(notification.RECEIVER, "receivers", ()),
    Kind(cluster.KIND, "clusters", (), platform_only=True, reconcilable=False),
)
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in ALL}
# alias → Kind, for every kind.
ALIASES: dict[str, Kind] = {spelling: kind for kind in ALL for spelling in kind.spellings}
# alias → kind name, for the kinds `landlord reconcile|suspend|resume` act on.
KINDS: dict[str, str] = {
    spelling: kind.name for kind in ALL if kind.reconcilable for spelling in kind.spellings
}
KIND_CHOICE = click.Choice(sorted(KINDS), case_sensitive=False)


def resolve(alias: str) -> Kind:
    """The kind an alias names (KeyError: none)."""
    return ALIASES[alias.lower()]


def spelled(kind: Kind) -> str:
    """The aliases of a kind for help texts: ``kustomizations (kustomization, ks)``."""
    others = [spelling for spelling in kind.spellings if spelling != kind.plural]
    return f"{kind.plural} ({', '.join(others)})"


def reconcilable_help() -> str:
    """The kinds `reconcile|suspend|resume` take, with their spellings, for help texts."""
    return "; ".join(spelled(kind) for kind in ALL if kind.reconcilable)
