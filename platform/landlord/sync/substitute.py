"""``postBuild`` variable substitution, as Flux does it: ``${var}``, ``${var:=default}``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from landlord.gitops import yamlsafe

DISABLED = ("landlord.dev/substitute", "kustomize.toolkit.fluxcd.io/substitute")
_VARIABLE = re.compile(r"\$\$\{|\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?::=([^}]*))?\}")
_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")


def substitute_text(text: str, variables: Mapping[str, str]) -> str:
    """Replace ``${var}`` (empty when unset) and ``${var:=default}``; ``$${`` escapes."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in variables:
            return variables[name]
        return default if default is not None else ""

    return _VARIABLE.sub(replace, text)


def check_names(variables: Mapping[str, str], where: str) -> None:
    """Variable names must be shell-style identifiers."""
    for name in variables:
        if not _NAME.match(name):
            raise yamlsafe.YamlError(f"{where}: variable name {name!r} is not valid")


def substitute(
    manifest: dict[str, Any], variables: Mapping[str, str], source: str
) -> dict[str, Any]:
    """The manifest with variables substituted, unless it opts out by annotation."""
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    if any(annotations.get(key) == "disabled" for key in DISABLED):
        return manifest
    text = yaml.safe_dump(manifest, sort_keys=False)
    if "${" not in text:
        return manifest
    (document,) = yamlsafe.load_all(substitute_text(text, variables), source)
    return document.body
