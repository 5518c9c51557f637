"""The ImageUpdateAutomation spec: commit the latest images back to a tenant's repository.

Field names are Flux's (``image.toolkit.fluxcd.io/v1beta2`` ImageUpdateAutomation);
the CRD (``crds/landlord.dev_imageupdateautomations.yaml``) is held to this model
by ``tests/unit/api/test_models_match_crds.py``. The only source kind is a
GitRepository and the only strategy ``Setters`` (markers in YAML comments).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KIND = "ImageUpdateAutomation"

DEFAULT_INTERVAL = "5m"
DEFAULT_PATH = "./"
DEFAULT_AUTHOR_NAME = "Landlord"
DEFAULT_AUTHOR_EMAIL = "landlord@landlord.invalid"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class SourceRef(_Model):
    """The GitRepository to commit to (another namespace: if allowed)."""

    kind: Literal["GitRepository"] = "GitRepository"
    name: str
    namespace: str | None = None


class CheckoutRef(_Model):
    branch: str


class Checkout(_Model):
    """Which branch to start from (default: the GitRepository's branch)."""

    ref: CheckoutRef


class Author(_Model):
    name: str = DEFAULT_AUTHOR_NAME
    email: str


class Commit(_Model):
    author: Author
    message_template: str | None = Field(default=None, alias="messageTemplate")


class Push(_Model):
    """Push to this branch instead of the checkout branch."""

    branch: str


class GitSpec(_Model):
    checkout: Checkout | None = None
    commit: Commit
    push: Push | None = None


class Update(_Model):
    path: str = DEFAULT_PATH
    strategy: Literal["Setters"] = "Setters"


class LabelSelectorRequirement(_Model):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: tuple[str, ...] = ()


class LabelSelector(_Model):
    match_labels: dict[str, str] | None = Field(default=None, alias="matchLabels")
    match_expressions: tuple[LabelSelectorRequirement, ...] = Field(
        default=(), alias="matchExpressions"
    )

    def as_query(self) -> str:
        """The selector as a ``labelSelector`` query string (empty: every object)."""
        parts = [f"{key}={value}" for key, value in sorted((self.match_labels or {}).items())]
        for item in self.match_expressions:
            if item.operator == "Exists":
                parts.append(item.key)
            elif item.operator == "DoesNotExist":
                parts.append(f"!{item.key}")
            else:
                word = "in" if item.operator == "In" else "notin"
                parts.append(f"{item.key} {word} ({','.join(item.values)})")
        return ",".join(parts)


class ImageUpdateAutomationSpec(_Model):
    """``ImageUpdateAutomation.spec``."""

    source_ref: SourceRef = Field(alias="sourceRef")
    git: GitSpec
    update: Update | None = None
    interval: str = DEFAULT_INTERVAL
    suspend: bool = False
    policy_selector: LabelSelector | None = Field(default=None, alias="policySelector")

    @classmethod
    def of(cls, body: dict[str, Any]) -> ImageUpdateAutomationSpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})

    @property
    def path(self) -> str:
        return (self.update or Update()).path

    def durations(self) -> dict[str, str]:
        return {"interval": self.interval} if "interval" in self.model_fields_set else {}
