"""Each kind's typed model and its CRD's ``spec`` schema say the same thing.

The CRD is the apiserver's copy of the schema, the model the operator's; this
walks both, field by field and nested objects too: the same field names (the
model's camelCase aliases), the same required fields, the same enums and
Literals, the same types for plain fields, and the same default wherever both
state one.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import pydantic
import pytest

from landlord.api import (
    crds,
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

MODELS: dict[str, type[pydantic.BaseModel]] = {
    "Tenant": tenant.TenantSpec,
    "GitRepository": gitrepository.GitRepositorySpec,
    "Kustomization": kustomization.KustomizationSpec,
    "HelmRepository": helmrepository.HelmRepositorySpec,
    "HelmRelease": helmrelease.HelmReleaseSpec,
    "Provider": notification.ProviderSpec,
    "Alert": notification.AlertSpec,
    "Receiver": notification.ReceiverSpec,
    "OCIRepository": ocirepository.OCIRepositorySpec,
    "ImageRepository": imagerepository.ImageRepositorySpec,
    "ImagePolicy": imagepolicy.ImagePolicySpec,
    "ImageUpdateAutomation": imageupdateautomation.ImageUpdateAutomationSpec,
}
SCALARS = {"string": str, "boolean": bool, "integer": int}


def _spec_schema(kind: str) -> dict[str, Any]:
    for crd in crds.load():
        if crd["spec"]["names"]["kind"] == kind:
            (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
            return schema
    raise AssertionError(f"no CRD for {kind}")


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``tuple[X, ...]`` stays as it is."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _model_of(annotation: Any) -> type[pydantic.BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def _differences(model: type[pydantic.BaseModel], schema: dict[str, Any], where: str) -> list[str]:
    found: list[str] = []
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    properties: dict[str, Any] = schema.get("properties") or {}
    if set(fields) != set(properties):
        found.append(
            f"{where}: model only {sorted(set(fields) - set(properties))}, "
            f"CRD only {sorted(set(properties) - set(fields))}"
        )
    required = {name for name, info in fields.items() if info.is_required()}
    if required != set(schema.get("required") or ()):
        found.append(f"{where}: required {sorted(required)} vs CRD {schema.get('required')}")
    for name in sorted(set(fields) & set(properties)):
        info, prop, path = fields[name], properties[name], f"{where}.{name}"
        annotation = _unwrap(info.annotation)
        if typing.get_origin(annotation) is typing.Literal:
            if set(typing.get_args(annotation)) != set(prop.get("enum") or ()):
                found.append(
                    f"{path}: Literal {typing.get_args(annotation)} vs enum {prop.get('enum')}"
                )
        elif "enum" in prop:
            found.append(f"{path}: CRD enum {prop['enum']} but the model takes any {annotation}")
        elif prop.get("type") in SCALARS and annotation is not SCALARS[prop["type"]]:
            found.append(f"{path}: {annotation} vs CRD type {prop['type']}")
        default = list(info.default) if isinstance(info.default, tuple) else info.default
        if "default" in prop and not info.is_required() and default != prop["default"]:
            found.append(f"{path}: default {info.default!r} vs CRD {prop['default']!r}")
        nested = _model_of(annotation)
        if nested is not None:
            found += _differences(nested, prop, path)
        elif typing.get_origin(annotation) is tuple and prop.get("type") == "array":
            item = _model_of(typing.get_args(annotation)[0])
            if item is not None:
                found += _differences(item, prop.get("items") or {}, f"{path}[]")
    return found


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_model_and_crd_agree(kind: str) -> None:
    assert _differences(MODELS[kind], _spec_schema(kind), "spec") == []


def test_the_check_notices_a_disagreement() -> None:
    schema = _spec_schema("GitRepository")
    changed = {
        **schema,
        "properties": {
            **schema["properties"],
            "interval": {**schema["properties"]["interval"], "default": "5m"},
            "extra": {"type": "string"},
        },
    }

    found = _differences(gitrepository.GitRepositorySpec, changed, "spec")

    assert any("spec.interval: default" in line for line in found)
    assert any("CRD only ['extra']" in line for line in found)


def test_defaults_live_in_the_models() -> None:
    spec = gitrepository.GitRepositorySpec(url="https://git.example/a.git")
    sync = tenant.Sync()

    assert (spec.interval, spec.timeout) == (
        gitrepository.DEFAULT_INTERVAL,
        gitrepository.DEFAULT_TIMEOUT,
    )
    assert tenant.Source(url="https://git.example/a.git").interval == spec.interval
    assert (sync.path, sync.interval) == (
        kustomization.DEFAULT_PATH,
        kustomization.DEFAULT_INTERVAL,
    )


@pytest.mark.parametrize(
    ("field", "kind"), [("helmRepositories", "HelmRepository"), ("helmReleases", "HelmRelease")]
)
def test_a_tenants_helm_entries_are_the_helm_kinds_specs_plus_a_name(field: str, kind: str) -> None:
    items = _spec_schema("Tenant")["properties"][field]["items"]
    spec = _spec_schema(kind)

    assert items["required"] == ["name", *spec.get("required", [])]
    assert {k: v for k, v in items["properties"].items() if k != "name"} == spec["properties"]
