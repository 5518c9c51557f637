"""The second line of defence before ``kustomize build``: read kustomizations as kustomize does.

The build runs in the sandbox (``gitops/sandbox.py``), which alone keeps it
inside the artifact and off the network. This check refuses, before anything
runs, what the sandbox would stop anyway and what it cannot judge: plugins,
Helm inflation, remote bases and paths that leave the artifact — and it reads
fields the way kustomize reads them, so a spelling cannot walk around it.

kustomize decodes a kustomization with Go's ``encoding/json`` (through
``sigs.k8s.io/yaml``), which matches field names case-insensitively
(``Resources`` and ``RESOURCES`` are ``resources``). So do we: every key is
folded before it is looked up, two keys that fold to one are refused, and a
field that is not on the allow-list is refused rather than ignored.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from typing import Any

from landlord.gitops import yamlsafe
from landlord.gitops.paths import UnsafePathError, resolve_inside
from landlord.gitops.yamlsafe import YamlError

FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# Every field of kustomize v5's Kustomization type that Landlord lets a tenant use.
ALLOWED = frozenset(
    name.lower()
    for name in (
        "apiVersion",
        "kind",
        "metadata",
        "openapi",
        "namePrefix",
        "nameSuffix",
        "namespace",
        "commonLabels",
        "labels",
        "commonAnnotations",
        "patchesStrategicMerge",
        "patchesJson6902",
        "patches",
        "images",
        "imageTags",
        "replacements",
        "replicas",
        "vars",
        "sortOptions",
        "resources",
        "components",
        "crds",
        "bases",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
        "configurations",
        "buildMetadata",
    )
)
# Fields that run code or fetch at build time: refused with their own reason.
FORBIDDEN = {
    "helmcharts": "Helm charts are not inflated at build time (use a HelmRelease)",
    "helmglobals": "Helm charts are not inflated at build time (use a HelmRelease)",
    "helmchartinflationgenerator": "Helm charts are not inflated at build time",
    "generators": "kustomize plugins (generators) are not allowed",
    "transformers": "kustomize plugins (transformers) are not allowed",
    "validators": "kustomize plugins (validators) are not allowed",
}
KINDS = ("Kustomization", "Component")
# Fields whose entries are local paths (or would be remote bases).
PATH_LISTS = ("resources", "components", "bases", "crds", "configurations")
REMOTE_MARKERS = ("://", "?ref=", "?version=", "git@", "github.com/", "gitlab.com/", "//")


class KustomizationError(YamlError):
    """A kustomization asks for something a tenant build may not do."""


def file_in(directory: pathlib.Path) -> pathlib.Path | None:
    """The kustomization file of ``directory``, if it has one."""
    for name in FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def check_tree(root: pathlib.Path, start: pathlib.Path) -> set[pathlib.Path]:
    """Check the kustomization at ``start`` and every local folder it refers to.

    Returns every path (folder or file, resolved) the tree refers to, ``start`` included.
    """
    base = root.resolve()
    pending, seen = [start.resolve()], set()
    referred: set[pathlib.Path] = {start.resolve()}
    while pending:
        directory = pending.pop()
        if directory in seen:
            continue
        seen.add(directory)
        file = file_in(directory)
        if file is None:
            continue
        relative = file.relative_to(base).as_posix()
        body = parse(file.read_text(errors="replace"), relative)
        for entry in local_paths(body, relative):
            target = os.path.normpath(os.path.join(os.path.dirname(relative), entry))
            try:
                resolved = resolve_inside(root, target)
            except UnsafePathError:
                raise KustomizationError(
                    f"{relative}: {_shown(entry)} points outside the repository"
                ) from None
            referred.add(resolved)
            if resolved.is_dir():
                pending.append(resolved)
    return referred


def parse(text: str, relative: str) -> dict[str, Any]:
    """The kustomization's fields, keys folded to lower case; refuses what is not allowed."""
    documents = yamlsafe.load_all_raw(text, relative)
    if len(documents) != 1:
        raise KustomizationError(f"{relative}: a kustomization is exactly one YAML document")
    _check_keys(documents[0], relative, "")
    folded: dict[str, Any] = {}
    for key, value in documents[0].items():
        if not isinstance(key, str):
            raise KustomizationError(f"{relative}: field {_shown(key)} is not a name")
        name = key.lower()
        if name in folded:
            raise KustomizationError(
                f"{relative}: field {_shown(key)} is given twice (kustomize matches field "
                "names without regard to case)"
            )
        if name in FORBIDDEN:
            raise KustomizationError(f"{relative}: {_shown(key)}: {FORBIDDEN[name]}")
        if name not in ALLOWED:
            raise KustomizationError(
                f"{relative}: unknown field {_shown(key)}; Landlord refuses fields it does "
                "not know rather than guess what kustomize makes of them"
            )
        folded[name] = value
    kind = folded.get("kind")
    if kind is not None and kind not in KINDS:
        raise KustomizationError(f"{relative}: kind {_shown(kind)} is not a kustomization")
    return folded


def _check_keys(value: Any, relative: str, where: str) -> None:
    """Refuse keys Go would read otherwise than we do, at every level of the document.

    Go's ``encoding/json`` folds case (and folds some non-ASCII letters, such as
    U+017F ``ſ``, into ASCII ones), and of two keys that fold alike it keeps the
    one that sorts last — not the one written last, as a Python dict does. So
    any non-ASCII key, and any two keys of one mapping that fold alike, are
    refused: what remains means the same to both readers.
    """
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_keys(item, relative, f"{where}[{index}]")
        return
    if not isinstance(value, dict):
        return
    seen: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.isascii():
            raise KustomizationError(
                f"{relative}: field {_shown(key)} at {where or 'the top'} is not a plain ASCII name"
            )
        folded = key.lower()
        if folded in seen:
            raise KustomizationError(
                f"{relative}: field {_shown(key)} at {where or 'the top'} is given twice "
                f"(as {_shown(seen[folded])} too; kustomize matches field names without "
                "regard to case)"
            )
        seen[folded] = key
        _check_keys(item, relative, f"{where}.{key}" if where else key)


def local_paths(body: dict[str, Any], relative: str) -> Iterator[str]:
    """Every path the kustomization loads; refuses remote ones."""
    for entry in _path_entries(body):
        if not isinstance(entry, str):
            raise KustomizationError(f"{relative}: a path entry is not a string")
        if any(marker in entry for marker in REMOTE_MARKERS) or entry.startswith(("http", "ssh")):
            raise KustomizationError(
                f"{relative}: remote base {_shown(entry)} is not allowed; vendor it into "
                "the repository"
            )
        yield entry


def _path_entries(body: dict[str, Any]) -> Iterator[Any]:
    for field in PATH_LISTS:
        yield from _items(body.get(field))
    for entry in _items(body.get("patchesstrategicmerge")):
        # An inline patch is a YAML document, not a path.
        if isinstance(entry, str) and "\n" not in entry and ":" not in entry:
            yield entry
    for field in ("patches", "patchesjson6902", "replacements"):
        for item in _items(body.get(field)):
            folded = _fold(item)
            if "path" in folded:
                yield folded["path"]
    openapi = _fold(body.get("openapi"))
    if "path" in openapi:
        yield openapi["path"]
    for field in ("configmapgenerator", "secretgenerator"):
        for generator in _items(body.get(field)):
            folded = _fold(generator)
            for key in ("files", "envs"):
                for entry in _items(folded.get(key)):
                    yield entry.split("=", 1)[-1] if isinstance(entry, str) else entry
            if "env" in folded:
                yield folded["env"]


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([] if value is None else [value])


def _fold(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): v for k, v in value.items()}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
