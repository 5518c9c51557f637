"""The platform repository: where it is (from the cluster) and what the API needs of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from landlord import api, errors, kube

PLATFORM = "platform"  # the GitRepository and Kustomization `landlord bootstrap` creates


class Workspace(Protocol):
    """A working clone of the platform branch (:class:`landlord.git.workspace.Checkout`)."""

    def sync(self) -> str | None:
        """Reset to the remote branch's tip; its sha (None: the branch has no commit)."""

    def read(self, path: str) -> bytes | None:
        """A file's content, or None."""

    def files(self, folder: str) -> list[str]:
        """The YAML files in ``folder`` (recursively), as paths from the repository root."""

    def commit(
        self,
        changes: dict[str, bytes | None],
        *,
        message: str,
        author: tuple[str, str],
        trailers: dict[str, str],
    ) -> str:
        """Commit the changes locally; the new sha."""

    def push(self) -> None:
        """Push; :class:`landlord.errors.ConcurrentUpdateError` when the branch moved."""

    def history(self, path: str, *, limit: int = 100) -> Sequence[CommitLike]:
        """Commits touching ``path``, newest first."""

    def recent(self, limit: int) -> list[tuple[str, dict[str, str]]]:
        """The branch's last ``limit`` commits, newest first: sha and trailers."""


class CommitLike(Protocol):
    """One commit of a file's history (:class:`landlord.git.workspace.Commit`)."""

    @property
    def sha(self) -> str: ...
    @property
    def author_name(self) -> str: ...
    @property
    def author_email(self) -> str: ...
    @property
    def time(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def trailers(self) -> dict[str, str]: ...


@dataclasses.dataclass(frozen=True)
class Location:
    """The platform repository as the cluster knows it."""

    url: str
    branch: str
    folder: str  # the platform Kustomization's path: where Tenant files live
    secret_name: str | None
    secret_data: dict[str, str] | None = dataclasses.field(default=None, repr=False)


WorkspaceFactory = Callable[[Location], Workspace]


class NoPlatformRepositoryError(errors.TerminalError):
    """There is no platform GitRepository to commit to."""


def locate(kube_client: kube.Kube, platform_namespace: str) -> Location:
    """Read the GitRepository and Kustomization ``platform`` (and the Git credentials)."""
    source = kube_client.get(api.API_VERSION, "GitRepository", PLATFORM, platform_namespace)
    if source is None:
        raise NoPlatformRepositoryError(
            f"there is no GitRepository {PLATFORM} in {platform_namespace} to commit to",
            hint="run `landlord bootstrap --url URL` first",
        )
    sync = kube_client.get(api.API_VERSION, "Kustomization", PLATFORM, platform_namespace)
    spec: dict[str, Any] = source.get("spec") or {}
    ref = spec.get("ref") or {}
    if not ref.get("branch") and ref:
        raise NoPlatformRepositoryError(
            f"GitRepository {PLATFORM} follows {ref}; the API can only commit to a branch"
        )
    secret_name = (spec.get("secretRef") or {}).get("name")
    data = None
    if secret_name:
        secret = kube_client.get("v1", "Secret", secret_name, platform_namespace)
        if secret is None:
            raise NoPlatformRepositoryError(
                f"Secret {platform_namespace}/{secret_name} (the platform repository's "
                "credentials) does not exist"
            )
        data = secret.get("data") or {}
    path = str(((sync or {}).get("spec") or {}).get("path") or "tenants")
    folder = path.strip().removeprefix("./").strip("/") or "."
    return Location(
        url=str(spec.get("url") or ""),
        branch=str(ref.get("branch") or "main"),
        folder=folder,
        secret_name=secret_name,
        secret_data=data,
    )
