"""Pure comparisons: shipped vs served CRDs, install's RBAC rules as single permissions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# (apiGroup, resource, verb, namespace, name); "" namespace: cluster-wide, "" name: any.
Permission = tuple[str, str, str, str, str]


def permissions(rules: Iterable[Mapping[str, Any]], namespace: str = "") -> list[Permission]:
    """Every permission a role's rules grant (in ``namespace``), in rule order, once each.

    A rule with ``resourceNames`` grants one permission per name.

    Wildcards stay wildcards: an access review for ``*`` is allowed only by a
    rule that grants ``*``, which is exactly what such a rule asks for.
    """
    seen: dict[Permission, None] = {}
    for rule in rules:
        for group in rule.get("apiGroups") or [""]:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    for name in rule.get("resourceNames") or [""]:
                        seen[(group, resource, verb, namespace, name)] = None
    return list(seen)


def crd_difference(shipped: Mapping[str, Any], served: Mapping[str, Any] | None) -> str | None:
    """How a served CRD differs from the shipped one (None: it does not).

    Compared: the set of versions and, per version, its schema, ``served`` and
    ``storage`` — what decides which objects the apiserver accepts and keeps.
    """
    if served is None:
        return "not installed"
    ours = _versions(shipped)
    theirs = _versions(served)
    if set(ours) != set(theirs):
        return f"versions {sorted(theirs)} instead of {sorted(ours)}"
    for name, version in ours.items():
        other = theirs[name]
        for flag in ("served", "storage"):
            if bool(version.get(flag)) != bool(other.get(flag)):
                return f"{name}: {flag} is {bool(other.get(flag))}"
        where = first_difference(
            (version.get("schema") or {}).get("openAPIV3Schema"),
            (other.get("schema") or {}).get("openAPIV3Schema"),
        )
        if where is not None:
            return f"{name}: schema differs at {where or '(root)'}"
    return None


def _versions(crd: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {v["name"]: v for v in (crd.get("spec") or {}).get("versions") or []}


def first_difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """The dotted path of the first place two JSON values differ (None: they are equal)."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key in sorted(set(expected) | set(actual)):
            if key not in expected or key not in actual:
                return _join(path, str(key))
            found = first_difference(expected[key], actual[key], _join(path, str(key)))
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return path
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if expected == actual else path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
