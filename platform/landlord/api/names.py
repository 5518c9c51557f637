"""The names a tenant writes into a spec, checked as Kubernetes checks them.

Every name a reconciler later puts into a request path (``sourceRef``,
``dependsOn``, ``serviceAccountName``, secret and ConfigMap names,
``targetNamespace``, health checks) is a DNS-1123 subdomain (object names) or
label (namespace names). The CRD refuses anything else; these functions are the
second check, run before a name is used, so that an object admitted before the
CRD had its patterns (or by a schema-less path) cannot turn a name like ``../x``
or ``a/b`` into another request path.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from typing import Any

LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
LABEL_MAX = 63
SUBDOMAIN_MAX = 253

_LABEL = re.compile(LABEL_PATTERN)
_SUBDOMAIN = re.compile(SUBDOMAIN_PATTERN)
_RULES = {
    "label": "a DNS-1123 label (lower-case letters, digits and '-', starting and ending "
    f"with a letter or digit, at most {LABEL_MAX} characters)",
    "subdomain": "a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting "
    f"and ending with a letter or digit, at most {SUBDOMAIN_MAX} characters)",
}
# Long enough to recognise the value, short enough that a status stays readable.
_SHOWN = 80


def is_label(value: object) -> bool:
    """Whether ``value`` is a DNS-1123 label (a namespace name)."""
    return isinstance(value, str) and len(value) <= LABEL_MAX and bool(_LABEL.match(value))


def is_subdomain(value: object) -> bool:
    """Whether ``value`` is a DNS-1123 subdomain (the name of most objects)."""
    return isinstance(value, str) and len(value) <= SUBDOMAIN_MAX and bool(_SUBDOMAIN.match(value))


@dataclasses.dataclass(frozen=True)
class InvalidName:
    """One field of a spec whose value is not a name Kubernetes would accept there."""

    field: str  # e.g. ``spec.dependsOn[1].namespace``
    value: object
    rule: str  # ``label`` or ``subdomain``

    @property
    def message(self) -> str:
        shown = repr(self.value)
        if len(shown) > _SHOWN:
            shown = shown[:_SHOWN] + "…"
        return f"{self.field} {shown} is not {_RULES[self.rule]}"


def _check(field: str, value: object, rule: str) -> InvalidName | None:
    if value is None:
        return None  # an optional field left out
    if value == "" and field.endswith("namespace"):
        return None  # empty means the object's own namespace
    valid = is_label(value) if rule == "label" else is_subdomain(value)
    return None if valid else InvalidName(field, value, rule)


def _items(spec: Mapping[str, Any], key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    items = spec.get(key)
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, Mapping):
            yield index, item


def _object(spec: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = spec.get(key)
    return value if isinstance(value, Mapping) else {}


def kustomization(spec: Mapping[str, Any]) -> list[InvalidName]:
    """Every name of a Kustomization spec that Kubernetes would not accept, in spec order."""
    fields: list[tuple[str, object, str]] = []
    source = _object(spec, "sourceRef")
    fields += [
        ("spec.sourceRef.name", source.get("name", ""), "subdomain"),
        ("spec.sourceRef.namespace", source.get("namespace"), "label"),
    ]
    for index, dep in _items(spec, "dependsOn"):
        fields += [
            (f"spec.dependsOn[{index}].name", dep.get("name", ""), "subdomain"),
            (f"spec.dependsOn[{index}].namespace", dep.get("namespace"), "label"),
        ]
    fields += [
        ("spec.serviceAccountName", spec.get("serviceAccountName") or None, "subdomain"),
        ("spec.targetNamespace", spec.get("targetNamespace") or None, "label"),
        ("spec.cluster", spec.get("cluster") or None, "label"),
    ]
    for index, ref in _items(_object(spec, "postBuild"), "substituteFrom"):
        fields.append(
            (f"spec.postBuild.substituteFrom[{index}].name", ref.get("name", ""), "subdomain")
        )
    secret = _object(_object(spec, "kubeConfig"), "secretRef")
    if spec.get("kubeConfig") is not None:
        fields.append(("spec.kubeConfig.secretRef.name", secret.get("name", ""), "subdomain"))
    for index, check in _items(spec, "healthChecks"):
        fields += [
            (f"spec.healthChecks[{index}].name", check.get("name", ""), "subdomain"),
            (f"spec.healthChecks[{index}].namespace", check.get("namespace"), "label"),
        ]
    key = _object(_object(spec, "decryption"), "secretRef")
    if key:
        fields.append(("spec.decryption.secretRef.name", key.get("name", ""), "subdomain"))
    return [problem for field in fields if (problem := _check(*field)) is not None]


def git_repository(spec: Mapping[str, Any]) -> list[InvalidName]:
    """Every name of a GitRepository spec that Kubernetes would not accept."""
    if spec.get("secretRef") is None:
        return []
    secret = _object(spec, "secretRef")
    problem = _check("spec.secretRef.name", secret.get("name", ""), "subdomain")
    return [problem] if problem is not None else []


def summary(problems: list[InvalidName]) -> str:
    """One status message for the problems found (the first three, and how many more)."""
    shown = "; ".join(problem.message for problem in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return f"{shown}{more}; nothing was read, fetched or applied"
