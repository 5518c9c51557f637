"""The ImagePolicy spec: which of an ImageRepository's tags is the latest image.

Field names are Flux's (``image.toolkit.fluxcd.io/v1beta2`` ImagePolicy); the CRD
(``crds/landlord.dev_imagepolicies.yaml``) is held to this model by
``tests/unit/api/test_models_match_crds.py``. Exactly one of ``policy.semver``,
``policy.alphabetical`` and ``policy.numerical`` is set (the model refuses
anything else); what a range or pattern means is ``landlord.images.tagpolicy``'s.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

KIND = "ImagePolicy"

Order = Literal["asc", "desc"]
DEFAULT_ORDER: Order = "asc"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class ImageRepositoryRef(_Model):
    """The ImageRepository whose tags are chosen from (another namespace: if allowed)."""

    name: str
    namespace: str | None = None


class SemVer(_Model):
    range: str


class Alphabetical(_Model):
    order: Order = DEFAULT_ORDER


class Numerical(_Model):
    order: Order = DEFAULT_ORDER


class Policy(_Model):
    """``spec.policy``: exactly one of its fields."""

    semver: SemVer | None = None
    alphabetical: Alphabetical | None = None
    numerical: Numerical | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Policy:
        given = [name for name in ("semver", "alphabetical", "numerical") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(
                "exactly one of semver, alphabetical or numerical must be set"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self

    def as_dict(self) -> dict[str, Any]:
        """The shape ``landlord.images.tagpolicy.select`` takes."""
        return self.model_dump(exclude_none=True)


class FilterTags(_Model):
    """``spec.filterTags``: an RE2 pattern the tags must match, and what of them is compared."""

    pattern: str | None = None
    extract: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ImagePolicySpec(_Model):
    """``ImagePolicy.spec``."""

    image_repository_ref: ImageRepositoryRef = Field(alias="imageRepositoryRef")
    policy: Policy
    filter_tags: FilterTags | None = Field(default=None, alias="filterTags")

    @classmethod
    def of(cls, body: dict[str, Any]) -> ImagePolicySpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})
