"""The HelmRelease spec: a chart from a HelmRepository, installed by ``helm`` as the tenant.

Field names are Flux's (``helm.toolkit.fluxcd.io`` HelmRelease v2) wherever
Landlord implements the field; the CRD (``crds/landlord.dev_helmreleases.yaml``)
is held to this module by ``tests/unit/api/test_models_match_crds.py``. Fields
Flux has and Landlord does not implement yet are not in the CRD, so an
apiserver that prunes unknown fields never silently drops a setting Landlord
would have honoured (docs/helm.md lists them).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

KIND = "HelmRelease"
DEFAULT_INTERVAL = "10m"
DEFAULT_TIMEOUT = "5m"
DEFAULT_VALUES_KEY = "values.yaml"
# Releases kept in status.history (and by Helm: --history-max).
HISTORY = 5


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class SourceRef(_Model):
    """Where the chart comes from."""

    kind: Literal["HelmRepository", "GitRepository"]
    name: str
    namespace: str | None = None


class ChartTemplateSpec(_Model):
    """``chart.spec``: a chart of a HelmRepository, or a chart folder of a GitRepository.

    From a HelmRepository, ``version`` is a semver range; from a GitRepository the
    version is the folder's Chart.yaml's.
    """

    chart: str
    version: str = "*"
    source_ref: SourceRef = Field(alias="sourceRef")


class ChartTemplate(_Model):
    """``chart``: Flux's inline HelmChart template."""

    spec: ChartTemplateSpec


class ChartReference(_Model):
    """``chartRef``: Flux's reference to a source that holds one chart (an OCIRepository)."""

    kind: Literal["OCIRepository"]
    name: str
    namespace: str | None = None


class ValuesReference(_Model):
    """``valuesFrom[]``: values read from a ConfigMap or Secret, as the tenant."""

    kind: Literal["ConfigMap", "Secret"]
    name: str
    values_key: str = Field(default=DEFAULT_VALUES_KEY, alias="valuesKey")
    target_path: str | None = Field(default=None, alias="targetPath")
    optional: bool = False


class Remediation(_Model):
    """What to do when an install or upgrade fails."""

    retries: int = 0
    remediate_last_failure: bool | None = Field(default=None, alias="remediateLastFailure")
    strategy: Literal["rollback", "uninstall"] | None = None


class Install(_Model):
    """``install``: options of ``helm install``."""

    remediation: Remediation | None = None
    disable_hooks: bool = Field(default=False, alias="disableHooks")


class Upgrade(_Model):
    """``upgrade``: options of ``helm upgrade``."""

    remediation: Remediation | None = None
    disable_hooks: bool = Field(default=False, alias="disableHooks")
    cleanup_on_fail: bool = Field(default=False, alias="cleanupOnFail")
    force: bool = False


class Test(_Model):
    """``test``: run the chart's Helm tests after each install or upgrade."""

    enable: bool = False


class Rollback(_Model):
    """``rollback``: options of the rollback that remediates a failed upgrade."""

    disable_hooks: bool = Field(default=False, alias="disableHooks")
    cleanup_on_fail: bool = Field(default=False, alias="cleanupOnFail")
    force: bool = False


class Uninstall(_Model):
    """``uninstall``: options of ``helm uninstall`` (on deletion, or as remediation)."""

    keep_history: bool = Field(default=False, alias="keepHistory")
    disable_hooks: bool = Field(default=False, alias="disableHooks")


class DependencyRef(_Model):
    """``dependsOn[]``: another HelmRelease that must be Ready first."""

    name: str
    namespace: str | None = None


class Selector(_Model):
    """Which objects a patch applies to (kustomize's target)."""

    group: str | None = None
    version: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    label_selector: str | None = Field(default=None, alias="labelSelector")
    annotation_selector: str | None = Field(default=None, alias="annotationSelector")


class Patch(_Model):
    """A strategic-merge or JSON 6902 patch, inline (kustomize's ``patches[]``)."""

    patch: str
    target: Selector | None = None


class Image(_Model):
    """An image override (kustomize's ``images[]``)."""

    name: str
    new_name: str | None = Field(default=None, alias="newName")
    new_tag: str | None = Field(default=None, alias="newTag")
    digest: str | None = None


class Kustomize(_Model):
    """``postRenderers[].kustomize``: patches and image overrides, inline only."""

    patches: tuple[Patch, ...] = ()
    images: tuple[Image, ...] = ()


class PostRenderer(_Model):
    """``postRenderers[]``: only kustomize post-renderers (no executables)."""

    kustomize: Kustomize


class DriftDetection(_Model):
    """``driftDetection``: compare the cluster with the release, and repair or only report."""

    mode: Literal["enabled", "warn", "disabled"] = "enabled"


class HelmReleaseSpec(_Model):
    """``HelmRelease.spec``."""

    chart: ChartTemplate | None = None
    chart_ref: ChartReference | None = Field(default=None, alias="chartRef")
    release_name: str | None = Field(default=None, alias="releaseName")
    target_namespace: str | None = Field(default=None, alias="targetNamespace")
    storage_namespace: str | None = Field(default=None, alias="storageNamespace")
    service_account_name: str | None = Field(default=None, alias="serviceAccountName")
    interval: str = DEFAULT_INTERVAL
    timeout: str = DEFAULT_TIMEOUT
    suspend: bool = False
    values: dict[str, Any] | None = None
    values_from: tuple[ValuesReference, ...] = Field(default=(), alias="valuesFrom")
    install: Install | None = None
    upgrade: Upgrade | None = None
    test: Test | None = None
    rollback: Rollback | None = None
    uninstall: Uninstall | None = None
    drift_detection: DriftDetection | None = Field(default=None, alias="driftDetection")
    depends_on: tuple[DependencyRef, ...] = Field(default=(), alias="dependsOn")
    post_renderers: tuple[PostRenderer, ...] = Field(default=(), alias="postRenderers")

    @model_validator(mode="after")
    def _one_chart(self) -> HelmReleaseSpec:
        if (self.chart is None) == (self.chart_ref is None):
            raise ValueError("exactly one of spec.chart and spec.chartRef must be set")
        return self

    @classmethod
    def of(cls, body: dict[str, Any]) -> HelmReleaseSpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})

    def durations(self) -> dict[str, str]:
        """The duration fields the object sets itself."""
        return {
            field: getattr(self, field)
            for field in ("interval", "timeout")
            if field in self.model_fields_set
        }

    def name_of_release(self, name: str) -> str:
        """Flux's default release name: ``[<targetNamespace>-]<name>``, unless set."""
        if self.release_name:
            return self.release_name
        return f"{self.target_namespace}-{name}" if self.target_namespace else name
