"""The push guard: Landlord never pushes to another tenant's or the platform's repository.

No policy line can open this: before the policy's ``push`` point is even asked,
an automation's target repository is compared with the source URL of every
GitRepository in the platform namespace and in namespaces of other owners, and
with every other Tenant's ``spec.source.url``. Repositories are compared by host
and path only (scheme, port, userinfo, a trailing ``.git`` or ``/`` and letter
case ignored): ``https://git.example/team/app`` and ``ssh://git@git.example/team/app.git``
are one repository here. That refuses more than it must (two servers on one
host with the same path), never less.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from landlord.git import urls


@dataclasses.dataclass(frozen=True)
class Known:
    """A repository some owner fetches: where it is declared, and its URL."""

    where: str  # "GitRepository <namespace>/<name>" or "Tenant <name>"
    owner: str  # "platform", "tenant:<name>", "namespace:<name>"
    url: str


def identity(url: str) -> tuple[str, str] | None:
    """``(host, path)`` of a repository URL as the guard compares it; None if it has none."""
    try:
        source = urls.normalise(url)
    except urls.InvalidSourceError:
        return None
    path = source.path.rstrip("/").lower()
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return source.host.lower(), path.rstrip("/")


def refusal(url: str, owner: str, known: Iterable[Known]) -> Known | None:
    """The first known repository of another owner that ``url`` is, or None."""
    target = identity(url)
    if target is None:
        return None
    for item in known:
        if item.owner != owner and identity(item.url) == target:
            return item
    return None


def gather(
    repositories: Iterable[tuple[str, str, str]],
    tenants: Iterable[tuple[str, str]],
    owner_of: Callable[[str], str],
) -> list[Known]:
    """Known repositories from ``(namespace, name, url)`` GitRepositories and ``(tenant, url)``."""
    found = [
        Known(f"GitRepository {namespace}/{name}", owner_of(namespace), url)
        for namespace, name, url in repositories
        if url
    ]
    found += [Known(f"Tenant {tenant}", f"tenant:{tenant}", url) for tenant, url in tenants if url]
    return found
