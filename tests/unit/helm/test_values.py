"""Values: valuesFrom in order, targetPath, then spec.values; a digest of the result."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from landlord import errors
from landlord.api import helmrelease
from landlord.helm import values


class FakeTenant:
    """The tenant's reads: a pure stand-in (RBAC itself is tested on the real apiserver)."""

    def __init__(
        self,
        objects: dict[tuple[str, str], dict[str, Any]],
        forbidden: frozenset[str] = frozenset(),
    ) -> None:
        self.objects = objects
        self.forbidden = forbidden

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        if name in self.forbidden:
            raise errors.ApiError("forbidden", status=403)
        return self.objects.get((kind, name))


def spec(**fields: Any) -> helmrelease.HelmReleaseSpec:
    return helmrelease.HelmReleaseSpec.model_validate(
        {
            "chart": {
                "spec": {"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "r"}}
            },
            **fields,
        }
    )


def test_entries_merge_in_order_and_spec_values_win() -> None:
    tenant = FakeTenant(
        {
            ("ConfigMap", "base"): {
                "data": {"values.yaml": "image: {tag: '1', pull: Always}\nreplicas: 1\n"}
            },
            ("Secret", "creds"): {"data": {"pw": base64.b64encode(b"hunter2").decode()}},
        }
    )
    got = values.compose(
        tenant,  # type: ignore[arg-type]
        "ns",
        spec(
            valuesFrom=[
                {"kind": "ConfigMap", "name": "base"},
                {
                    "kind": "Secret",
                    "name": "creds",
                    "valuesKey": "pw",
                    "targetPath": "auth.password",
                },
            ],
            values={"image": {"tag": "2"}},
        ),
    )

    assert got == {
        "image": {"tag": "2", "pull": "Always"},
        "replicas": 1,
        "auth": {"password": "hunter2"},
    }


def test_a_missing_or_unreadable_source_names_the_entry() -> None:
    with pytest.raises(
        values.ValuesError, match=r"valuesFrom\[0\] \(ConfigMap ns/gone\): not found"
    ):
        values.compose(
            FakeTenant({}), "ns", spec(valuesFrom=[{"kind": "ConfigMap", "name": "gone"}])
        )  # type: ignore[arg-type]
    with pytest.raises(values.ValuesError, match="may not read it"):
        values.compose(
            FakeTenant({}, forbidden={"x"}),
            "ns",
            spec(valuesFrom=[{"kind": "Secret", "name": "x"}]),  # type: ignore[arg-type]
        )
    assert (
        values.compose(
            FakeTenant({}),
            "ns",
            spec(valuesFrom=[{"kind": "ConfigMap", "name": "gone", "optional": True}]),  # type: ignore[arg-type]
        )
        == {}
    )


def test_a_key_that_is_not_a_map_is_refused() -> None:
    tenant = FakeTenant({("ConfigMap", "list"): {"data": {"values.yaml": "- 1\n- 2\n"}}})
    with pytest.raises(values.ValuesError, match="not a YAML map"):
        values.compose(tenant, "ns", spec(valuesFrom=[{"kind": "ConfigMap", "name": "list"}]))  # type: ignore[arg-type]


def test_target_paths_escape_dots_and_the_digest_is_canonical() -> None:
    into: dict[str, Any] = {}
    values.set_path(into, r"annotations.example\.com/team", "a")
    assert into == {"annotations": {"example.com/team": "a"}}
    assert values.digest({"a": 1, "b": 2}) == values.digest({"b": 2, "a": 1})
    assert values.digest({"a": 1}) != values.digest({"a": "1"})


def test_aliases_in_values_are_refused_before_they_expand() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    tenant = FakeTenant({("ConfigMap", "bomb"): {"data": {"values.yaml": bomb}}})

    with pytest.raises(values.ValuesError, match="aliases"):
        values.compose(tenant, "ns", spec(valuesFrom=[{"kind": "ConfigMap", "name": "bomb"}]))  # type: ignore[arg-type]


def test_all_entries_together_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "MAX_VALUES_BYTES", 30)
    tenant = FakeTenant({("ConfigMap", "v"): {"data": {"values.yaml": "a: 0123456789\n"}}})
    entries = [{"kind": "ConfigMap", "name": "v"}] * 3

    with pytest.raises(values.ValuesError, match="more than 30 bytes"):
        values.compose(tenant, "ns", spec(valuesFrom=entries))  # type: ignore[arg-type]
