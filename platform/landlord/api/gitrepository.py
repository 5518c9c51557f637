"""The GitRepository spec, as typed models with its defaults in one place.

Field names, types and enums are the CRD's (``crds/landlord.dev_gitrepositories.yaml``,
held to this module by ``tests/unit/api/test_models_match_crds.py``). The
apiserver checks patterns; the source reconciler checks URLs against the
platform's allowed schemes and refs against Git's rules (``landlord.git.urls``,
``landlord.sources.refs``), with their own condition reasons. The CRD is
structural (unknown fields are pruned), so an unknown field here is an error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

KIND = "GitRepository"

# The defaults, here and nowhere else (the CRD repeats interval, timeout and
# suspend so that `kubectl get -o yaml` shows them).
DEFAULT_INTERVAL = "1m"
DEFAULT_TIMEOUT = "60s"
# No ``spec.ref`` at all: follow this branch.
DEFAULT_BRANCH = "main"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class GitRef(_Model):
    """Which revision to follow (Flux's precedence: commit > semver > tag > branch)."""

    branch: str | None = None
    tag: str | None = None
    semver: str | None = None
    commit: str | None = None

    def given(self) -> dict[str, str]:
        """The ref's fields that are set to something."""
        return {key: value for key, value in self.model_dump().items() if value}


class SecretRef(_Model):
    """A Secret in the GitRepository's namespace (credentials)."""

    name: str


class GitRepositorySpec(_Model):
    """``GitRepository.spec``."""

    url: str
    ref: GitRef | None = None
    secret_ref: SecretRef | None = Field(default=None, alias="secretRef")
    interval: str = DEFAULT_INTERVAL
    timeout: str = DEFAULT_TIMEOUT
    ignore: str | None = None
    suspend: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> GitRepositorySpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})

    def durations(self) -> dict[str, str]:
        """The duration fields the object sets itself (``interval``, ``timeout``).

        A default missing here is brought into the platform's bounds rather than
        refused (``landlord.gitops.durations.bounded``).
        """
        return {
            field: getattr(self, field)
            for field in ("interval", "timeout")
            if field in self.model_fields_set
        }
