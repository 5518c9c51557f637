"""A release's values: ``valuesFrom`` read as the tenant, merged in order, then ``values``.

Flux's rules: each ``valuesFrom`` entry is merged (maps deep-merged, anything
else replaced) over the ones before it, ``spec.values`` last; an entry with a
``targetPath`` sets that one path to the key's text instead of merging a YAML
document. ConfigMaps and Secrets are read with the tenant's identity, so a
release can only use values its service account may read.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import yaml

from landlord import errors
from landlord.api import helmrelease as model
from landlord.api import reasons
from landlord.helm.index import InvalidIndexError, refuse_aliases
from landlord.kube import Kube

MAX_VALUES_BYTES = 1024**2  # all valuesFrom keys of one release together


class ValuesError(errors.RetryableError):
    reason = reasons.VALUES_FAILED


def compose(tenant: Kube, namespace: str, spec: model.HelmReleaseSpec) -> dict[str, Any]:
    """The values Helm is given (raises ValuesError naming the entry)."""
    result: dict[str, Any] = {}
    size = 0
    for position, ref in enumerate(spec.values_from):
        where = f"valuesFrom[{position}] ({ref.kind} {namespace}/{ref.name})"
        try:
            found = tenant.get("v1", ref.kind, ref.name, namespace)
        except errors.ApiError as error:
            if error.status == 403:
                raise ValuesError(
                    f"{where}: the release's service account may not read it (HTTP 403)"
                ) from None
            raise ValuesError(f"{where}: cannot be read (HTTP {error.status})") from None
        text = _text(found, ref.values_key, ref.kind) if found is not None else None
        if text is None:
            if ref.optional:
                continue
            missing = "not found" if found is None else f"has no key {ref.values_key!r}"
            raise ValuesError(f"{where}: {missing}")
        size += len(text)
        if size > MAX_VALUES_BYTES:
            raise ValuesError(
                f"{where}: the release's valuesFrom hold more than {MAX_VALUES_BYTES} bytes"
            )
        if ref.target_path:
            set_path(result, ref.target_path, text)
            continue
        try:
            # No aliases: a few hundred bytes of nested ones expand to gigabytes.
            refuse_aliases(text, f"{where} key {ref.values_key!r}")
            loaded = yaml.safe_load(text)
        except InvalidIndexError as error:
            raise ValuesError(error.message.replace("an index has", "values have")) from None
        except (yaml.YAMLError, RecursionError) as error:
            raise ValuesError(f"{where}: key {ref.values_key!r} is not YAML: {error}") from None
        if loaded is None:
            continue
        if not isinstance(loaded, dict):
            raise ValuesError(f"{where}: key {ref.values_key!r} is not a YAML map")
        merge(result, loaded)
    if spec.values:
        merge(result, json.loads(json.dumps(spec.values)))
    return result


def _text(found: dict[str, Any], key: str, kind: str) -> str | None:
    if kind == "Secret":
        raw = (found.get("data") or {}).get(key)
        return base64.b64decode(raw).decode(errors="replace") if raw is not None else None
    value = (found.get("data") or {}).get(key)
    return str(value) if value is not None else None


def merge(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge: maps merged key by key, anything else replaced."""
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def set_path(into: dict[str, Any], path: str, value: str) -> None:
    r"""Set ``a.b.c`` (a ``\.`` is a dot inside a key) to ``value``."""
    keys = _split(path)
    if not keys or any(not key for key in keys):
        raise ValuesError(f"targetPath {path!r} is not a dotted path of keys")
    node = into
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


def _split(path: str) -> Sequence[str]:
    keys, current, escaped = [], "", False
    for char in path:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            keys.append(current)
            current = ""
        else:
            current += char
    keys.append(current)
    return keys


def digest(values: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the values in a canonical form (what Flux calls the config digest)."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()
