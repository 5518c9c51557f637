"""Comparing a live object with what applying a revision would make of it (pure).

``landlord diff`` (:mod:`landlord.sync.preview`) dry-runs each object as the
tenant and shows what would change: both sides without the fields the
apiserver keeps for itself (``managedFields``, ``resourceVersion``,
``generation``, ``uid``, ``creationTimestamp``, ``status``), Secret values
masked — ``***`` on both sides when a value stays, ``*** (before)`` and
``*** (after)`` when it changes, as ``kubectl diff`` shows them — and a
unified diff of the two as YAML.

SOPS-encrypted documents are never decrypted by a preview: their encrypted
values become :data:`PLACEHOLDER` (:func:`sops_masked`), and a Secret's
placeholder values are sent to the dry-run as the live object's own values
(:func:`with_live_values`), so only its keys, labels and type are compared.
"""

from __future__ import annotations

import base64
import copy
import difflib
from typing import Any

import yaml

# What a preview shows instead of a value it did not decrypt.
PLACEHOLDER = "<sops-encrypted>"
# What a diff shows instead of a Secret's value.
MASK = "***"
# Fields the apiserver keeps for itself: they change on every write, say nothing.
SERVER_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")
# kubectl's copy of what it applied: for a Secret, its values in plain text.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_CIPHER = "ENC[AES256_GCM,"


def name_of(manifest: dict[str, Any]) -> str:
    """``Kind/namespace/name`` (``Kind/name`` for a cluster-scoped object)."""
    metadata = manifest.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{manifest.get('kind')}/{where}{metadata.get('name')}"


def is_secret(manifest: dict[str, Any]) -> bool:
    return manifest.get("apiVersion") == "v1" and manifest.get("kind") == "Secret"


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` without its status and the metadata the apiserver keeps for itself."""
    found = copy.deepcopy(obj)
    found.pop("status", None)
    metadata = found.get("metadata")
    if isinstance(metadata, dict):
        for key in SERVER_METADATA:
            metadata.pop(key, None)
        if not metadata.get("annotations"):
            metadata.pop("annotations", None)
    return found


def masked(
    live: dict[str, Any] | None, after: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Both sides with every Secret value replaced by ``***`` (marked when it changes).

    Keys stay visible, so a diff says which values were added, removed or changed,
    never what they are. Anything but a v1 Secret is returned as it is.
    """
    if not is_secret(after):
        return live, after
    before = copy.deepcopy(live) if live is not None else None
    later = copy.deepcopy(after)
    old_values = _values(before) if before is not None else {}
    new_values = _values(later)
    if before is not None:
        _mask(before, {k: _mark(k, old_values, new_values, "before") for k in old_values})
    _mask(later, {k: _mark(k, new_values, old_values, "after") for k in new_values})
    _mask_last_applied(before, later)
    return before, later


def _values(secret: dict[str, Any]) -> dict[str, str]:
    """``data`` and ``stringData`` as one map of decoded text (``data`` as the apiserver has it)."""
    values: dict[str, str] = {}
    for key, value in (secret.get("stringData") or {}).items():
        values[str(key)] = str(value)
    for key, value in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True).decode(errors="replace")
        except ValueError:
            values[str(key)] = str(value)
    return values


def _mark(key: str, own: dict[str, str], other: dict[str, str], side: str) -> str:
    if key in other and other[key] != own[key]:
        return f"{MASK} ({side})"
    return MASK


def _mask(secret: dict[str, Any], marks: dict[str, str]) -> None:
    for field in ("data", "stringData"):
        values = secret.get(field)
        if isinstance(values, dict):
            secret[field] = {str(key): marks.get(str(key), MASK) for key in values}


def _mask_last_applied(before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    """The copy ``kubectl apply`` keeps holds the values: masked, marked if it changes."""
    old = _annotation(before, LAST_APPLIED) if before is not None else None
    new = _annotation(after, LAST_APPLIED)
    for side, own, other, obj in (("before", old, new, before), ("after", new, old, after)):
        if own is None or obj is None:
            continue
        mark = f"{MASK} ({side})" if other is not None and other != own else MASK
        obj["metadata"]["annotations"][LAST_APPLIED] = mark


def _annotation(obj: dict[str, Any], key: str) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(key)
    return None if value is None else str(value)


def unified(live: dict[str, Any], after: dict[str, Any], name: str) -> str:
    """The unified diff of two objects as YAML (empty when they are the same).

    Call it with :func:`comparable` and :func:`masked` sides: it shows what it is given.
    """
    before_text = yaml.safe_dump(live, sort_keys=True, default_flow_style=False)
    after_text = yaml.safe_dump(after, sort_keys=True, default_flow_style=False)
    if before_text == after_text:
        return ""
    lines = difflib.unified_diff(
        before_text.splitlines(keepends=True),
        after_text.splitlines(keepends=True),
        fromfile=f"{name} (live)",
        tofile=f"{name} (after apply, dry-run)",
    )
    return "".join(lines)


def difference(live: dict[str, Any], after: dict[str, Any]) -> str:
    """What applying would change of ``live`` (``after``: the dry-run's answer), masked."""
    before, later = masked(comparable(live), comparable(after))
    assert before is not None
    return unified(before, later, name_of(after))


# -- SOPS-encrypted documents: never decrypted by a preview ---------------------


def sops_masked(body: dict[str, Any]) -> dict[str, Any]:
    """A copy without SOPS's metadata, every encrypted value replaced by :data:`PLACEHOLDER`."""
    found = copy.deepcopy(body)
    found.pop("sops", None)
    return _placeholders(found)  # type: ignore[no-any-return]


def _placeholders(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _placeholders(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    if isinstance(value, str) and value.startswith(_CIPHER):
        return PLACEHOLDER
    return value


def placeholder_keys(manifest: dict[str, Any]) -> list[str]:
    """The keys of a Secret whose values a preview did not decrypt."""
    if not is_secret(manifest):
        return []
    return sorted(
        str(key)
        for field in ("data", "stringData")
        for key, value in (manifest.get(field) or {}).items()
        if value == PLACEHOLDER
    )


def with_live_values(manifest: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any]:
    """What to dry-run for a Secret with placeholders: the live values where the key exists.

    A value that could not be decrypted cannot be compared: keeping the live one
    shows no change for it, and a new key gets the placeholder itself (as data,
    base64-encoded, so the apiserver takes it). Other manifests are returned as
    they are.
    """
    keys = placeholder_keys(manifest)
    if not keys:
        return manifest
    found = copy.deepcopy(manifest)
    live_data = (live or {}).get("data") or {}
    data = dict(found.get("data") or {})
    string_data = dict(found.get("stringData") or {})
    for key in keys:
        string_data.pop(key, None)
        data[key] = live_data.get(key) or base64.b64encode(PLACEHOLDER.encode()).decode()
    found["data"] = data
    if string_data:
        found["stringData"] = string_data
    else:
        found.pop("stringData", None)
    return found
